"""The data a "we did" reaction button carries, for Telegram and Slack alike: `wd:<reply id>:<reaction>`.

Kept beside bot.channels.buttons (the survey's own buttons) so a press can be told apart and parsed without the
channel knowing anything else about replies (bot.services.yousaid). Anything else, stale or forged, parses as None.
"""

from __future__ import annotations

from bot.engine import messages as msg

PREFIX = "wd"
REACTIONS = tuple(msg.YOUSAID_REACTIONS)  # helps, not-really, more
MAX_DIGITS = 12
CHOSEN = "✓ "  # marks the person's own choice on the buttons, so they can see what they picked


def reaction_data(reply_id: int, kind: str) -> str:
    """Well inside Telegram's 64 bytes and Slack's action id limit."""
    return f"{PREFIX}:{reply_id}:{kind}"


def parse_reaction(data: str | None) -> tuple[int, str] | None:
    """(reply id, reaction) from a button's data, or None for anything that is not a reaction button."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[2] not in REACTIONS:
        return None
    digits = parts[1]
    if not digits.isascii() or not digits.isdigit() or len(digits) > MAX_DIGITS or int(digits) < 1:
        return None
    return int(digits), parts[2]


def reaction_buttons(chosen: str | None = None) -> list[tuple[str, str]]:
    """(reaction, label) for each button, the person's choice marked with a tick."""
    return [(kind, CHOSEN + label if kind == chosen else label) for kind, label in msg.YOUSAID_REACTIONS.items()]
