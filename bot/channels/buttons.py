"""Buttons for a prompt, and the short data each one carries: shared by every channel that draws buttons.

Button data is `a:<turn>:<action>[:<index>]` (at most 24 bytes, well under Telegram's 64-byte limit). The turn makes a
press on an old message or a double tap stale, so it records nothing. `decode` never raises: anything malformed (a
forged or truncated payload) is simply not a button of ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.channels.text import option_label
from bot.engine import conversation as engine
from bot.engine.conversation import Prompt

PICK, TOGGLE, DONE, SKIP, BACK = "p", "t", "d", "s", "b"
_DATA = re.compile(r"^a:(\d{1,9}):([ptdsb])(?::(\d{1,3}))?$")
ROW_OF_NUMBERS = 6
BACK_LABEL, SKIP_LABEL, DONE_LABEL = "← Back", "Skip →", "Done ✓"


@dataclass(frozen=True)
class Button:
    label: str
    data: str
    index: int | None = None  # which option, for option buttons; None for Back / Skip / Done


def encode(turn: int, action: str, index: int | None = None) -> str:
    return f"a:{turn}:{action}" if index is None else f"a:{turn}:{action}:{index}"


def decode(data: str | None) -> engine.Event | None:
    """The engine event a button press means, or None when the data is not one of ours."""
    match = _DATA.match(data or "")
    if match is None:
        return None
    turn, action, index = int(match[1]), match[2], match[3]
    if action in (PICK, TOGGLE):
        if index is None:
            return None
        return engine.Pick(turn, int(index)) if action == PICK else engine.Toggle(turn, int(index))
    if index is not None:
        return None
    return {DONE: engine.Done, SKIP: engine.Skip, BACK: engine.Back}[action](turn)


def keyboard(prompt: Prompt) -> list[list[Button]]:
    """Rows of buttons: options (numbers side by side, words one per row), then Back / Skip / Done."""
    rows: list[list[Button]] = []
    action = TOGGLE if prompt.multiple else PICK
    options = [Button(option_label(prompt, i), encode(prompt.turn, action, i), i) for i in range(len(prompt.options))]
    if prompt.kind in ("scale", "yesno", "consent"):
        width = ROW_OF_NUMBERS if prompt.kind == "scale" else 2
        rows.extend(options[i:i + width] for i in range(0, len(options), width))
    else:
        rows.extend([button] for button in options)
    controls = []
    if prompt.can_go_back:
        controls.append(Button(BACK_LABEL, encode(prompt.turn, BACK)))
    if prompt.optional:
        controls.append(Button(SKIP_LABEL, encode(prompt.turn, SKIP)))
    if prompt.multiple:
        controls.append(Button(DONE_LABEL, encode(prompt.turn, DONE)))
    if controls:
        rows.append(controls)
    return rows
