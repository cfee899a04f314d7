"""Reading what Slack sends: who pressed or wrote, a typed message as the person wrote it, the ticks sent with Done.

Pure functions over the payload dictionaries Bolt hands to a listener. Payloads come from outside, so every reader
takes whatever shape arrives and returns a safe default rather than raising (tests/test_slack_blocks.py checks it with
Hypothesis).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.channels.port import Address
from bot.channels.slack.blocks import TICK_ACTION
from bot.engine import conversation as engine

TURNED = re.compile(r"^(answer|tick):(\d{1,9})(?::\d{1,3})?$")  # our action ids that carry a question's turn
STAMP = re.compile(r"^a:(\d{1,9})$")  # the answer form's private_metadata
# the shape of a command typed as a message ("/survey stop", "/start CODE"); which command: bot.engine.commands
TYPED_COMMAND = re.compile(r"^/(?:survey\b\s*)?(\w*)\s*(\S*)$", re.IGNORECASE)

_MARKUP = re.compile(r"<([@#!])?([^<>|]*)(?:\|([^<>]*))?>")


def unformat(text: str) -> str:
    """A typed message as the person wrote it: Slack's markup undone, and mentions kept without anyone's id."""

    def shown(match: re.Match[str]) -> str:
        sigil, target, label = match[1], match[2], match[3]
        if sigil == "@":
            return f"@{label}" if label else "@someone"
        if sigil == "#":
            return f"#{label}" if label else "#channel"
        if sigil == "!":
            return f"@{(label or target).split('^')[0]}"
        return label or target

    text = _MARKUP.sub(shown, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def address(context: Mapping[str, Any]) -> Address | None:
    """Who did something, from Bolt's context (an enterprise install has no team id of its own)."""
    team = context.get("team_id") or context.get("enterprise_id")
    user = context.get("user_id")
    return Address("slack", team, user) if team and user else None


def action_key(address: Address, action: dict[str, Any]) -> str:
    """Stable for one delivery of one press (a redelivery repeats it), different for a second click."""
    return f"action:{address.workspace}:{address.user}:{action.get('action_ts')}:{action.get('action_id')}"


def ticked(body: dict[str, Any], turn: int) -> set[int] | None:
    """The options ticked on the question drawn for `turn`, as Slack sends them with a button press (`state.values`);
    None when the press carried no checkboxes for that turn."""
    prefix = f"{TICK_ACTION}:{turn}:"
    found: set[int] | None = None
    for block in (body.get("state") or {}).get("values", {}).values():
        for action_id, value in (block or {}).items() if isinstance(block, dict) else ():
            if str(action_id).startswith(prefix) and isinstance(value, dict):
                found = (found or set()) | _indexes(value.get("selected_options"))
    return found


def drawn_ticks(body: dict[str, Any], turn: int) -> set[int]:
    """The options that were ticked when the question for `turn` was drawn (going back shows the earlier answer)."""
    prefix = f"{TICK_ACTION}:{turn}:"
    found: set[int] = set()
    for block in (body.get("message") or {}).get("blocks", []):
        for element in block.get("elements", []) if isinstance(block, dict) else ():
            if isinstance(element, dict) and str(element.get("action_id", "")).startswith(prefix):
                found |= _indexes(element.get("initial_options"))
    return found


def submitted(body: dict[str, Any], turn: int) -> engine.Event:
    """Done on a multiple-choice question: the ticked option numbers, as one reply stamped with the question's
    turn. With nothing ticked: Done, so the engine asks for at least one; but when the question was drawn with
    earlier ticks (after Back) and they were all taken off, an empty reply, so the engine re-asks rather than
    keeping the earlier answer."""
    chosen = ticked(body, turn)
    if chosen is None:
        chosen = drawn_ticks(body, turn)
    if chosen:
        return engine.Reply(", ".join(str(i + 1) for i in sorted(chosen)), turn=turn)
    return engine.Reply("", turn=turn) if drawn_ticks(body, turn) else engine.Done(turn)


def _indexes(options: object) -> set[int]:
    if not isinstance(options, list):
        return set()
    values = (o.get("value") for o in options if isinstance(o, dict))
    return {int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) <= 3}
