"""What the service decided (its effects) as Telegram messages and inline keyboards.

Questions go out with inline keyboards; an answered question is edited to show the answer with its buttons gone;
a press's toast replaces a repeat of the same words. Keyboards are plain JSON (`Markup`), as the answer path posts
them (bot.channels.telegram.bot_api).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aiogram.types import Message

from bot.bounded import BoundedMap
from bot.channels import buttons
from bot.channels.port import Address, RateLimited, Unreachable
from bot.channels.reactions import reaction_buttons
from bot.channels.telegram.bot_api import REPLY_SLOT, ReplySlot
from bot.channels.telegram.callbacks import ReactionButton, StartButton
from bot.channels.text import prompt_text
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Ask, Notice, Prompt, Say
from bot.engine.conversation import Update as Redraw
from bot.services.port import ChatService, Outcome
from bot.services.safeguarding.checkin import CheckIn

log = logging.getLogger("bot.channels.telegram")

Markup = dict[str, list[list[dict[str, str]]]]  # an inline keyboard, as the Bot API takes it in JSON
ANSWER_MARK = "✓"
LONG_OPTION = 40
MEMORY = 20_000  # chats whose last question we remember, to take its buttons away after a typed answer
TEXT_LIMIT = 4096  # Telegram's limit per message
T = TypeVar("T")


@dataclass(frozen=True)
class Shown:
    """The last question sent to a chat: which turn, which message, and its text (to mark it answered)."""

    turn: int
    message_id: int
    text: str


def draw(prompt: Prompt) -> tuple[str, Markup | None]:
    """Question text and keyboard. Long options are listed in the text and their buttons carry numbers."""
    long = prompt.kind != "scale" and any(len(option) > LONG_OPTION for option in prompt.options)

    def caption(button: buttons.Button) -> str:
        if long and button.index is not None:
            return f"{'☑ ' if button.index in prompt.selected else ''}{button.index + 1}"
        return button.label

    rows = [[{"text": caption(b), "callback_data": b.data} for b in row] for row in buttons.keyboard(prompt)]
    return prompt_text(prompt, numbered=long), {"inline_keyboard": rows} if rows else None


def keyboard(rows: list[list[tuple[str, str]]]) -> Markup:
    """An inline keyboard from rows of (label, callback data)."""
    return {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in row] for row in rows]}


def start_keyboard(code: str) -> Markup:
    """The Start button under an invitation or reminder (the campaign's code rides in its data)."""
    return keyboard([[(msg.START, StartButton(code=code).pack())]])


def reaction_keyboard(reply_id: int, chosen: str | None = None) -> Markup:
    """The three reaction buttons under a "we did" reply, the person's own choice ticked."""
    return keyboard([[(label, ReactionButton(reply=reply_id, kind=kind).pack())
                      for kind, label in reaction_buttons(chosen)]])


def check_in_keyboard(effect: CheckIn) -> Markup:
    return keyboard([[(choice.label, choice.data)] for choice in effect.choices])


def toasts_of(outcome: Outcome) -> set[str]:
    return {e.text for e in outcome.effects if isinstance(e, Notice)}


class Sender(Protocol):
    """What drawing needs of the channel (bot.channels.telegram.channel): its service and its calls to Telegram.
    A protocol, so this module does not import the channel that imports it."""

    @property
    def service(self) -> ChatService: ...

    @property
    def post(self) -> Callable[..., Awaitable[Any]]: ...

    async def send(self, chat_id: int, text: str, markup: Markup | None = None) -> None: ...

    async def call(self, chat_id: int, request: Callable[[], Awaitable[T]], new_message: bool = False) -> T | None:
        ...


class Renderer:
    """Sends one outcome's effects to one chat, in order, and remembers each chat's last question."""

    def __init__(self, channel: Sender) -> None:
        self.channel = channel
        self.shown: BoundedMap[int, Shown] = BoundedMap(MEMORY)

    async def render(self, chat_id: int, who: Address, outcome: Outcome, pressed: Message | None) -> None:
        """Send what the service decided, in order. A press's toast replaces a repeat of the same words.

        In webhook mode one edit (the answered question losing its buttons, or a redrawn keyboard) is not sent but
        held for the webhook's HTTP reply (WebhookHandler), so it rides back to Telegram: one request fewer per
        answer. Telegram applies it after the next question appears; if it ever fails, the old buttons stay visible
        but are stale (their turn has passed), so nothing can be recorded twice.

        Once everything went (or the person blocked the bot), the step's pending reply is marked delivered
        (bot.services.pending); a failure leaves it to be sent again after a restart."""
        channel, service = self.channel, self.channel.service
        toasts = toasts_of(outcome) if pressed else set()
        held = REPLY_SLOT.get()
        try:
            for effect in outcome.effects:
                if isinstance(effect, Say) and effect.text not in toasts:
                    await channel.send(chat_id, effect.text)
                elif isinstance(effect, Ask):
                    await self.ask(chat_id, effect.prompt)
                elif isinstance(effect, Redraw) and pressed is not None:
                    text, markup = draw(effect.prompt)
                    await self.edit(chat_id, {"chat_id": chat_id, "message_id": pressed.message_id, "text": text,
                                              **({"reply_markup": markup} if markup else {})}, held)
                elif isinstance(effect, Answered):
                    await self.mark_answered(chat_id, effect, pressed, held)
                elif isinstance(effect, CheckIn):
                    await channel.send(chat_id, effect.text, check_in_keyboard(effect))
        except Unreachable:
            log.info("a respondent has blocked the bot; marked unreachable")
            service.delivered(outcome)  # nothing more can reach them
            await service.call(service.mark_unreachable, who)
        except RateLimited:
            log.warning("Telegram kept asking us to slow down (or could not be reached); the rest of one reply "
                        "is tried again later")
        else:
            service.delivered(outcome)

    async def ask(self, chat_id: int, prompt: Prompt) -> None:
        text, markup = draw(prompt)
        params: dict[str, object] = {"chat_id": chat_id, "text": text}
        if markup:
            params["reply_markup"] = markup
        channel = self.channel
        sent = await channel.call(chat_id, lambda: channel.post("sendMessage", params), True)
        if isinstance(sent, dict) and isinstance(sent.get("message_id"), int):
            self.shown.put(chat_id, Shown(prompt.turn, sent["message_id"], text))

    async def edit(self, chat_id: int, params: dict[str, object], held: ReplySlot | None) -> None:
        """An edit nobody waits for (editMessageText): kept for the webhook reply while that slot is free,
        otherwise sent now."""
        if held is not None and held.hold("editMessageText", params):
            return
        channel = self.channel
        await channel.call(chat_id, lambda: channel.post("editMessageText", params))

    async def mark_answered(self, chat_id: int, effect: Answered, pressed: Message | None,
                            held: ReplySlot | None) -> None:
        """Show the answer on the question and take its buttons away, so they cannot be pressed again."""
        shown = self.shown.get(chat_id)
        if shown is not None and shown.turn == effect.turn:
            self.shown.pop(chat_id)  # answered: it can never be needed again, so it holds no memory either
        if pressed is not None:
            message_id, text = pressed.message_id, pressed.text or effect.question
        elif shown is not None and shown.turn == effect.turn:
            message_id, text = shown.message_id, shown.text
        else:
            return
        final = f"{text}\n\n{ANSWER_MARK} {effect.answer}"
        await self.edit(chat_id, {"chat_id": chat_id, "message_id": message_id, "text": final[:TEXT_LIMIT]}, held)
