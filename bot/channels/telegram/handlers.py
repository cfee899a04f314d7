"""The channel's aiogram router: which handler each update reaches, chosen by filters, and the apology on failure.

Messages are told apart by filters (a person's typed answer first, as it is the commonest update; then a `Command`
filter for each row of the one table of typed commands, bot.engine.commands); button presses by the `CallbackData`
kind of their data (bot.channels.telegram.callbacks), and every press is answered (with its toast, if any). Every
handler runs under its chat's lock (bot.channels.telegram.middleware); an exception in any of them reaches
`router.errors`, which logs it once without ids and sends the person a kind apology, never a traceback.
`build_router` makes a fresh router per channel, never at import (aiogram lets a router join only one dispatcher).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.filters.command import CommandPatternType
from aiogram.types import BufferedInputFile, CallbackQuery, Chat, ErrorEvent, Message, Update

from bot.channels.port import Address, RateLimited, Unreachable
from bot.channels.telegram import words
from bot.channels.telegram.callbacks import AckButton, AnswerButton, CareButton, ReactionButton, StartButton
from bot.channels.telegram.middleware import ChatLocks
from bot.channels.telegram.render import TEXT_LIMIT, Renderer, Sender, reaction_keyboard
from bot.engine import commands
from bot.engine import messages as msg
from bot.engine.commands import Means
from bot.engine.conversation import Notice
from bot.services.port import Outcome

if TYPE_CHECKING:
    from bot.reporting.delivery import Deliverable
    from bot.services.chat_admin import ChatAdmin
    from bot.services.yousaid import YouSaid

log = logging.getLogger("bot.channels.telegram")

ANY_COMMAND = re.compile(r"\w+")
CAPTION_LIMIT = 1024


def command(*names: CommandPatternType, magic: Any = None) -> Command:
    """A slash command as people type it: any case, with or without the bot's @name (as the old channel read it)."""
    return Command(*names, ignore_case=True, ignore_mention=True, magic=magic)


# The filters below are coroutines, not `F` expressions: aiogram runs a plain function (a magic filter's `resolve`
# included) in a worker thread, far too slow a detour for every update.
async def not_from_a_person(message: Message) -> bool:
    """Other bots (and messages with no sender)."""
    return message.from_user is None or message.from_user.is_bot


async def outside_private(message: Message) -> bool:
    return message.chat.type != ChatType.PRIVATE


async def in_private_chat(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


async def without_text(message: Message) -> bool:
    """A sticker, photo, voice note..."""
    return message.text is None


async def typed_words(message: Message) -> bool:
    """Words rather than a command: the commonest update of all."""
    return message.text is not None and not message.text.startswith("/")


async def in_private(query: CallbackQuery) -> dict[str, Message] | bool:
    """A press on a message of a private chat, which the handler receives as `pressed`."""
    message = query.message
    if isinstance(message, Message) and message.chat.type == ChatType.PRIVATE:
        return {"pressed": message}
    return False


async def on_a_message(query: CallbackQuery) -> dict[str, Message] | bool:
    """A press on a message still readable (in any chat), which the handler receives as `pressed`."""
    return {"pressed": query.message} if isinstance(query.message, Message) else False


async def not_ours_to_explain(event: ErrorEvent) -> bool:
    """Failures the channel already handles its own way (a blocked person, Telegram asking us to slow down) pass
    on untouched; everything else gets the apology."""
    return not isinstance(event.exception, (Unreachable, RateLimited))


class Parts(Sender, Protocol):
    """What the handlers use of their channel (bot.channels.telegram.channel, which sets these up from bot.app).
    A protocol, so this module does not import the channel that imports it."""

    @property
    def bot(self) -> Bot: ...

    @property
    def renderer(self) -> Renderer: ...

    @property
    def locks(self) -> ChatLocks: ...

    @property
    def default_survey(self) -> str: ...

    @property
    def join_tags(self) -> tuple[str, ...]: ...

    @property
    def admin(self) -> ChatAdmin | None: ...

    @property
    def reports(self) -> Callable[[Address, str], Deliverable | str] | None: ...

    @property
    def report_commands(self) -> frozenset[str]: ...

    @property
    def yousaid(self) -> YouSaid | None: ...

    @property
    def alert_chat(self) -> int | None: ...

    def address(self, user_id: int) -> Address: ...

    async def answer(self, query: CallbackQuery, text: str | None) -> None: ...

    async def quietly(self, method: str, params: dict[str, object], note: str) -> None: ...


class Handlers:
    """The handlers of one channel: each turns an update into a service call and renders what comes back."""

    def __init__(self, channel: Parts) -> None:
        self.channel = channel
        self.service = channel.service

    # --- messages ------------------------------------------------------------------------------------------------
    async def ignore(self, message: Message) -> None:
        """Other bots (and messages with no sender) get no reply."""

    async def elsewhere(self, message: Message) -> None:
        """A group or channel: point commands to a private chat, stay quiet otherwise."""
        if (message.text or "").startswith("/"):
            await self.channel.send(message.chat.id, words.HINT_PRIVATE)

    async def untyped(self, message: Message) -> None:
        """A sticker, photo, voice note...: only words and taps can be read."""
        await self.channel.send(message.chat.id, words.HINT_TYPED)

    async def edited(self, message: Message) -> None:
        await self.channel.send(message.chat.id, words.HINT_EDITED)

    async def typed(self, message: Message, event_update: Update) -> None:
        """Words typed (or an unknown command): the safeguarding check, then an answer or feedback."""
        await self._run(message, self.service.reply, message.text, str(event_update.update_id))

    async def report(self, message: Message) -> None:
        """/report, /export, /evidence: a document in this chat, or a plain reply (no role, no such survey...)."""
        channel = self.channel
        assert channel.reports is not None and message.from_user is not None and message.text is not None
        chat_id = message.chat.id
        made = await self.service.call(channel.reports, channel.address(message.from_user.id), message.text)
        if isinstance(made, str):
            await channel.send(chat_id, made)
            return
        upload = BufferedInputFile(made.data, filename=made.filename)
        await channel.call(chat_id, lambda: channel.bot.send_document(
            chat_id, upload, caption=made.caption[:CAPTION_LIMIT]), True)

    async def start(self, message: Message, command: CommandObject, event_update: Update) -> None:
        """/start CODE (from a link), or /start alone: the survey already open, else the default one."""
        assert message.from_user is not None
        who, service = self.channel.address(message.from_user.id), self.service
        code = (command.args or "").strip()
        if not code:
            current = await service.call(service.open_survey, who)
            code = current.id if current is not None else self.channel.default_survey
        outcome = await service.call(service.begin, who, code, None, str(event_update.update_id))
        await self.channel.renderer.render(message.chat.id, who, outcome, None)

    async def help(self, message: Message) -> None:
        await self.channel.send(message.chat.id, words.HELP)

    async def delete(self, message: Message) -> None:
        await self._run(message, self.service.erase)

    async def admin(self, message: Message, command: CommandObject) -> None:
        """A campaign command for admins and scrutineers (bot.services.chat_admin checks the role); the reply is theirs
        only."""
        channel = self.channel
        assert channel.admin is not None and message.from_user is not None
        verb = command.command.lower()
        reply = await self.service.call(channel.admin.run, channel.address(message.from_user.id),
                                        [verb, *(command.args or "").split()])
        await channel.send(message.chat.id, reply)

    async def join(self, message: Message, command: CommandObject) -> None:
        tags = self.channel.join_tags
        example = f"/join {tags[0]}" if tags else "/join"
        await self._run(message, self.service.join, (command.args or "").split(), tags, example)

    async def opt_out(self, message: Message) -> None:
        """/unsubscribe or /stop all: no more invitations or reminders."""
        await self._run(message, self.service.opt_out)

    async def step(self, message: Message, command: CommandObject, event_update: Update) -> None:
        """/stop, /resume, /skip, /back: the same as the buttons (bot.engine.commands)."""
        typed = commands.find(command.command)
        assert typed is not None
        event = typed.event()
        await self._run(message, self.service.handle, event, str(event_update.update_id))

    async def _run(self, message: Message, use_case: Any, *args: Any) -> None:
        """Call a use case for the sender and render its outcome in their chat."""
        assert message.from_user is not None
        who = self.channel.address(message.from_user.id)
        outcome: Outcome = await self.service.call(use_case, who, *args)
        await self.channel.renderer.render(message.chat.id, who, outcome, None)

    # --- button presses ------------------------------------------------------------------------------------------
    async def answer(self, query: CallbackQuery, callback_data: AnswerButton, pressed: Message,
                     event_update: Update) -> None:
        """A survey button: the engine decides; its toast (if any) answers the press."""
        who = self.channel.address(query.from_user.id)
        outcome = await self.service.call(self.service.handle, who, callback_data.event(), str(event_update.update_id))
        await self.channel.answer(query, next((e.text for e in outcome.effects if isinstance(e, Notice)), None))
        await self.channel.renderer.render(pressed.chat.id, who, outcome, pressed)

    async def start_pressed(self, query: CallbackQuery, callback_data: StartButton, pressed: Message,
                            event_update: Update) -> None:
        """The Start button under an invitation."""
        await self.channel.answer(query, None)
        who = self.channel.address(query.from_user.id)
        outcome = await self.service.call(self.service.begin, who, callback_data.code, None,
                                          str(event_update.update_id))
        await self.channel.renderer.render(pressed.chat.id, who, outcome, None)

    async def react(self, query: CallbackQuery, callback_data: ReactionButton, pressed: Message,
                    event_update: Update) -> None:
        """"This helps / not really / tell me more": counted once, thanked with a toast; "tell me more" also gets a
        kind message in the chat; their choice is ticked on the buttons."""
        channel = self.channel
        assert channel.yousaid is not None
        who, chat_id = channel.address(query.from_user.id), pressed.chat.id
        said = await self.service.call(channel.yousaid.react, who, callback_data.reply, callback_data.kind,
                                       str(event_update.update_id))
        await channel.answer(query, said)
        if said == msg.YOUSAID_TELL_ME_MORE:
            await channel.send(chat_id, said)
        if said is not None and said != msg.YOUSAID_NOT_FOR_YOU:
            await channel.quietly("editMessageReplyMarkup", {
                "chat_id": chat_id, "message_id": pressed.message_id,
                "reply_markup": reaction_keyboard(callback_data.reply, callback_data.kind)},
                "a reaction's buttons were not changed (the same choice, or the message is gone)")

    async def acknowledge(self, query: CallbackQuery, callback_data: AckButton, pressed: Message) -> None:
        """Acknowledge pressed in the lead's chat: audited once; the alert then says so and loses its button."""
        channel = self.channel
        day = await self.service.call(self.service.acknowledge, callback_data.ref)
        if day is None:
            await channel.answer(query, msg.ALERT_UNKNOWN)
            return
        await channel.answer(query, None)
        text = f"{pressed.text or ''}\n\n{msg.ALERT_ACKED.format(day=f'{day.day} {day:%B %Y}')}"
        await channel.call(pressed.chat.id, lambda: channel.bot.edit_message_text(
            text=text[:TEXT_LIMIT], chat_id=pressed.chat.id, message_id=pressed.message_id, reply_markup=None))

    async def care(self, query: CallbackQuery, callback_data: CareButton, pressed: Message,
                   event_update: Update) -> None:
        """A check-in button: its buttons go (one choice only), then the service decides what follows."""
        channel = self.channel
        await channel.answer(query, None)
        who, chat_id, user = channel.address(query.from_user.id), pressed.chat.id, query.from_user
        reach = (f"@{user.username} on Telegram" if user.username
                 else f"Telegram user {user.id} (tg://user?id={user.id})")
        await channel.call(chat_id, lambda: channel.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=pressed.message_id, reply_markup=None))
        outcome = await self.service.call(self.service.care, who, callback_data.press, reach,
                                          str(event_update.update_id))
        await channel.renderer.render(chat_id, who, outcome, None)

    async def stale(self, query: CallbackQuery) -> None:
        """Anything else: an old, foreign or forged button. Answered, so the person's spinner stops."""
        await self.channel.answer(query, words.STALE_BUTTON)

    # --- failures ------------------------------------------------------------------------------------------------
    async def apologise(self, event: ErrorEvent, event_chat: Chat | None = None) -> None:
        """Our own failure is logged once (without ids) and met with a kind word, never silence or a traceback."""
        log.error("handling a Telegram update failed", exc_info=event.exception)
        try:
            if event.update.callback_query is not None:  # stop the spinner (a second answer is refused, harmlessly)
                await self.channel.answer(event.update.callback_query, None)
            if event_chat is not None:
                await self.channel.send(event_chat.id, words.SORRY)
        except Exception:  # the apology is best effort; the failure is logged already
            log.info("the apology could not be sent either")


def build_router(channel: Parts) -> Router:
    """The channel's router, its handlers registered in the order they are tried."""
    on = Handlers(channel)
    router = Router(name="surveybot")
    locks = channel.locks
    router.message.middleware(locks)
    router.edited_message.middleware(locks)
    router.callback_query.middleware(locks)

    messages = router.message
    messages.register(on.ignore, not_from_a_person)
    messages.register(on.elsewhere, outside_private)
    messages.register(on.untyped, without_text)
    messages.register(on.typed, typed_words)  # the commonest update: four cheap filters away
    if channel.reports is not None:
        messages.register(on.report, command(*channel.report_commands))
    meant: dict[Means, Callable[..., Awaitable[None]]] = {
        Means.BEGIN: on.start, Means.HELP: on.help, Means.ERASE: on.delete, Means.JOIN: on.join,
        Means.OPT_OUT: on.opt_out, Means.STEP: on.step}
    for row in commands.COMMANDS:  # the one table of typed commands, in its order ("/stop all" before "/stop")
        only = None if row.only is None else F.args.lower() == row.only
        messages.register(meant[row.means], command(row.word, magic=only))
    if channel.admin is not None:  # no admin verb is a word of the table (bot.services.chat_admin.VERBS)
        admin = channel.admin

        async def an_admin_verb(message: Message, command: CommandObject) -> bool:
            return admin.handles(command.command.lower())

        messages.register(on.admin, command(ANY_COMMAND), an_admin_verb)
    messages.register(on.typed)  # an unknown command reads as typed words, as before
    router.edited_message.register(on.edited, in_private_chat)

    presses = router.callback_query
    presses.register(on.answer, AnswerButton.filter(), in_private)  # the commonest press first
    presses.register(on.start_pressed, StartButton.filter(), in_private)
    if channel.yousaid is not None:
        presses.register(on.react, ReactionButton.filter(), on_a_message)
    if channel.alert_chat is not None:
        alert_chat = channel.alert_chat

        async def in_the_alert_chat(query: CallbackQuery) -> bool:
            return isinstance(query.message, Message) and query.message.chat.id == alert_chat

        presses.register(on.acknowledge, AckButton.filter(), in_the_alert_chat, on_a_message)
    presses.register(on.care, CareButton.filter(), in_private)
    presses.register(on.stale)

    router.errors.register(on.apologise, not_ours_to_explain)
    return router
