"""The five kinds of button the bot sends, as aiogram `CallbackData`: each kind's `.filter()` picks its handler.

The data on the wire is unchanged, so buttons already sitting in people's chats keep working: each `unpack` reads
today's format with the parser that owns it (bot.channels.buttons, bot.channels.reactions, bot.services.safeguarding)
and so
accepts exactly what that parser accepts; anything else raises ValueError, which aiogram's filter reads as "not this
kind". `pack` writes the same format, always within Telegram's 64 bytes. Parsing builds no pydantic model:
`model_construct` only fills in the parsed fields, as this is on the path of every button press.
"""

from __future__ import annotations

from typing import Self

from aiogram.filters.callback_data import CallbackData

from bot.channels import buttons
from bot.channels.reactions import parse_reaction, reaction_data
from bot.engine import conversation as engine
from bot.services.safeguarding import alerts, checkin

LIMIT = 64  # bytes of callback data Telegram keeps
_EVENTS = {buttons.DONE: engine.Done, buttons.SKIP: engine.Skip, buttons.BACK: engine.Back}


def _not_ours(kind: str) -> ValueError:
    return ValueError(f"not a {kind} button")


class AnswerButton(CallbackData, prefix="a"):
    """A survey button: `a:<turn>:<action>[:<index>]` (bot.channels.buttons, shared with Slack and the web chat)."""

    turn: int
    action: str
    index: int | None = None

    @classmethod
    def unpack(cls, value: str) -> Self:
        if buttons.decode(value) is None:  # the shared grammar, which never raises
            raise _not_ours("survey")
        parts = value.split(":")
        return cls.model_construct(turn=int(parts[1]), action=parts[2],
                                   index=int(parts[3]) if len(parts) == 4 else None)

    def pack(self) -> str:
        return buttons.encode(self.turn, self.action, self.index)

    def event(self) -> engine.Event:
        """What the press means to the engine."""
        if self.action == buttons.PICK:
            return engine.Pick(self.turn, self.index or 0)
        if self.action == buttons.TOGGLE:
            return engine.Toggle(self.turn, self.index or 0)
        return _EVENTS[self.action](self.turn)


class StartButton(CallbackData, prefix="go"):
    """The Start button under an invitation or reminder: `go:<survey code>`."""

    code: str

    @classmethod
    def unpack(cls, value: str) -> Self:
        prefix, sep, code = value.partition(":")  # a code is whatever the campaign named, colons and all
        if prefix != cls.__prefix__ or not sep:
            raise _not_ours("start")
        return cls.model_construct(code=code)

    def pack(self) -> str:
        return f"{self.__prefix__}:{self.code}"[:LIMIT]


class ReactionButton(CallbackData, prefix="wd"):
    """"This helps / not really / tell me more" under a "we did" reply: `wd:<reply id>:<reaction>`."""

    reply: int
    kind: str

    @classmethod
    def unpack(cls, value: str) -> Self:
        parsed = parse_reaction(value)
        if parsed is None:
            raise _not_ours("reaction")
        return cls.model_construct(reply=parsed[0], kind=parsed[1])

    def pack(self) -> str:
        return reaction_data(self.reply, self.kind)


class CareButton(CallbackData, prefix="care"):
    """A button of the safeguarding check-in ("Are you OK?"): `care:<choice>:<category>[:<alert ref>]`."""

    press: checkin.Press

    @classmethod
    def unpack(cls, value: str) -> Self:
        press = checkin.decode(value)
        if press is None:
            raise _not_ours("check-in")
        return cls.model_construct(press=press)

    def pack(self) -> str:
        return checkin.encode(self.press.choice, self.press.category, self.press.ref)


class AckButton(CallbackData, prefix="sgack"):
    """Acknowledge, under a safeguarding alert in the lead's chat: `sgack:<alert ref>`."""

    ref: str

    @classmethod
    def unpack(cls, value: str) -> Self:
        ref = alerts.ack_ref(value)
        if ref is None:
            raise _not_ours("acknowledge")
        return cls.model_construct(ref=ref)

    def pack(self) -> str:
        return alerts.ack_data(self.ref)
