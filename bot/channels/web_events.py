"""What the web chat's page sends, read: a JSON event (chat.js) or a posted form (no JavaScript), as one action.

The page's body comes from anyone on the internet, so every reader here takes whatever arrives and either returns an
action or raises `Refused` with a short message to show (tests/test_safeguarding_matching.py and tests/test_errors.py
check that with Hypothesis). Typed words that are a command of bot.engine.commands ("/stop", "/skip" ...) become
that command here; everything else typed is an engine.Reply for the service's one entry for typed words.
"""

from __future__ import annotations

import json
from typing import Any

from bot.engine import commands
from bot.engine import conversation as engine
from bot.services.safeguarding import checkin
from bot.services.safeguarding.checkin import Press

MAX_TURN = 10**9
MAX_TICKS = 200

# Actions of the page's own, beside the engine's events
OPEN, RESUME, DELETE, ERASE, KEEP, HELP = "open", "resume", "delete", "delete-sure", "keep", "help"
GET_HELP = "get-help"  # the Get help button of a young people's survey: the same check as typing the HELP word
Action = engine.Event | Press | str
OFFERED = frozenset({"stop", "resume", "delete", "skip", "back", "help"})  # the rows of bot.engine.commands typed here
OWN_WAY = {"resume": RESUME, "delete": DELETE, "help": HELP}  # typed commands the page does its own way (it asks
# before deleting; it draws the waiting question again to resume)


class Refused(Exception):
    """A request we won't act on: its status and the short message to show."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after



def _whole(value: object, what: str, high: int) -> int:
    """A number from the page, as a JSON number or ASCII digits: never "²" or "١", which str.isdigit accepts."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise Refused(400, f"`{what}` should be a whole number from 0 to {high}")
    return value


def read_event(data: object) -> Action:
    """The event a JSON body (or a form, read into the same shape) stands for. Raises Refused(400) for anything
    that isn't one, with a message short enough to show."""
    if not isinstance(data, dict):
        raise Refused(400, "the body should be a JSON object describing one event")
    kind = data.get("type")
    if kind in (OPEN, RESUME, DELETE, ERASE, KEEP, GET_HELP):
        return str(kind)
    if kind == "stop":
        return engine.Stop()
    if kind == "care":  # a button of the safeguarding check, and the contact box's words on the web chat
        text = data.get("text")
        press = checkin.decode(data.get("data") if isinstance(data.get("data"), str) else None,
                               text if isinstance(text, str) else None)
        if press is None:
            raise Refused(400, "unknown check button")
        return press
    turn = _whole(data.get("turn"), "turn", MAX_TURN)
    if kind in ("pick", "toggle"):
        index = _whole(data.get("index"), "index", 999)
        return engine.Pick(turn, index) if kind == "pick" else engine.Toggle(turn, index)
    if kind == "ticks":
        indexes = data.get("indexes")
        if not isinstance(indexes, list) or len(indexes) > MAX_TICKS:
            raise Refused(400, "`indexes` should be a list of option numbers")
        picked = sorted({_whole(i, "indexes", 999) for i in indexes})
        return engine.Reply(", ".join(str(i + 1) for i in picked), turn) if picked else engine.Done(turn)
    if kind == "done":
        return engine.Done(turn)
    if kind == "skip":
        return engine.Skip(turn)
    if kind == "back":
        return engine.Back(turn)
    if kind == "reply":
        text = data.get("text")
        if not isinstance(text, str):
            raise Refused(400, "`text` should be a string")
        typed = commands.read(text, OFFERED)
        if typed is not None and typed.bare:  # the notices and intros say "type /stop": typing it works here too
            return OWN_WAY.get(typed.command.word) or typed.event(turn)
        return engine.Reply(text, turn)
    raise Refused(400, "unknown event type")


def read_body(body: bytes) -> Action:
    """The event a JSON body stands for. Anything else is Refused(400): bytes that are not JSON (in any of the
    encodings JSON allows), nesting deeper than the parser's stack, or JSON that is not an event."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise Refused(400, "the body is not valid JSON") from None
    return read_event(data)


def form_event(fields: list[tuple[str, str]]) -> Action:
    """A posted form (no JavaScript) as the same event: `do` names the button pressed."""
    values: dict[str, str] = {}
    ticks: list[str] = []
    for name, value in fields:
        if name == "tick":
            ticks.append(value)
        else:
            values.setdefault(name, value)
    pressed = values.get("do", "send")
    verb, _, index = pressed.partition(":")
    data: dict[str, Any] = {"type": verb, "turn": values.get("turn"), "index": index, "text": values.get("text")}
    if verb == "care":
        data = {"type": "care", "data": pressed, "text": values.get("text")}
    elif verb == "send":
        data["type"] = "reply"
    elif verb == "done":
        data.update(type="ticks", indexes=ticks)
    return read_event(data)
