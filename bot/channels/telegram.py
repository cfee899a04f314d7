"""The Telegram channel (aiogram 3): surveys in a private chat, by long polling or by webhook.

A thin adapter. A Telegram update becomes (Address, engine event) for the service, and the effects the service returns
(after its commit) become messages: questions with inline keyboards, answered questions edited to show the answer
with their buttons gone, toasts on button presses. Every callback query is answered. A redelivered update (same
update_id) is recognised by the service and does nothing. Telegram errors are translated here: 429 waits and retries
(bounded), 403 marks the person unreachable, anything else is logged without ids and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlparse

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from bot.channels import buttons
from bot.channels.pacing import Pacer
from bot.channels.port import Address, RateLimited, Unreachable
from bot.channels.reactions import parse_reaction, reaction_buttons, reaction_data
from bot.channels.text import prompt_text
from bot.config import SettingsError
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Ask, Notice, Prompt, Say
from bot.engine.conversation import Update as Redraw
from bot.metrics import METRICS
from bot.safeguarding import alerts, checkin
from bot.safeguarding.checkin import CheckIn
from bot.service import Outcome, SurveyService

if TYPE_CHECKING:
    from bot.app import App
    from bot.chat_admin import ChatAdmin
    from bot.reporting.delivery import Deliverable
    from bot.server import HttpServer
    from bot.yousaid import YouSaid

log = logging.getLogger(__name__)
T = TypeVar("T")

HELP = (
    "I run short surveys for the safeguarding partnership. Tap the buttons or type your answer.\n"
    "/resume carries on where you left off\n"
    "/stop pauses (your answers so far are kept)\n"
    "/delete removes your answers to the survey\n"
    "/join shows the groups you can choose, so the right surveys reach you\n"
    "/stop all stops survey invitations and reminders\n"
    "/help shows this message\n"
    "Your answers are stored without your name or Telegram account."
)
HINT_TYPED = "I can only read typed words and button taps. Please type your answer, or tap a button."
HINT_EDITED = "I keep the first version of each answer. To change an answer, tap Back."
HINT_PRIVATE = "Surveys happen in a private chat. Please send me a direct message."
STALE_BUTTON = "That button no longer works."
START_PREFIX = "go:"
SORRY = "Sorry, something went wrong on our side. Your answers so far are safe. Please try again in a moment."
ANSWER_MARK = "✓"
COMMANDS = [
    BotCommand(command="resume", description="Carry on with your survey"),
    BotCommand(command="stop", description="Pause the survey"),
    BotCommand(command="delete", description="Delete your answers"),
    BotCommand(command="help", description="How this works"),
]
UPDATES = ["message", "edited_message", "callback_query"]
LONG_OPTION = 40
SEND_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0
MEMORY = 20_000  # chats whose last question we remember, to take its buttons away after a typed answer


Markup = dict[str, list[list[dict[str, str]]]]  # an inline keyboard, as the Bot API takes it in JSON
JSON_BODY = {"Content-Type": "application/json"}
FAILED_CALL = "Telegram did not accept a call"


class ReplySlot:
    """Room for one Bot API call in the reply to the webhook request being handled (Telegram carries it out).

    Open only while that request is still being answered: aiogram answers a slow update early (after 55 s) and
    finishes it in the background, and an edit held then would go nowhere, so it is sent as usual instead."""

    def __init__(self) -> None:
        self.call: dict[str, object] | None = None
        self.open = True

    def hold(self, method: str, params: dict[str, object]) -> bool:
        if not self.open or self.call is not None:
            return False
        self.call = {"method": method, **params}
        return True


REPLY_SLOT: ContextVar[ReplySlot | None] = ContextVar("telegram_reply_slot", default=None)


@dataclass(frozen=True)
class Shown:
    """The last question sent to a chat: which turn, which message, and its text (to mark it answered)."""

    turn: int
    message_id: int
    text: str


_RESPONSE_MODELS: list[type] = []


def warm_up() -> None:
    """Build aiogram's response models for the calls still made through aiogram (invitations, alerts, documents),
    once, and keep them. The answer path's own calls skip them (TelegramChannel.post).

    aiogram validates each reply with the generic model Response[T]. pydantic builds that model (for a type as large
    as Message, a good part of a second) the first time each T is used and caches it only weakly, so without a
    reference of ours it may be built again while someone waits."""
    if not _RESPONSE_MODELS:
        _RESPONSE_MODELS.extend(Response[method.__returning__]  # type: ignore[name-defined]
                                for method in (SendMessage, EditMessageText))


class TelegramChannel:
    name = "telegram"

    def __init__(self, service: SurveyService, token: str, api_url: str, default_survey: str,
                 webhook_url: str | None = None, webhook_secret: str | None = None, pacer: Pacer | None = None) -> None:
        self.service = service
        self.default_survey = default_survey
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_url = api_url
        self.bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
        self.dispatcher = Dispatcher(disable_fsm=True)  # the conversation lives in our database, not in aiogram's FSM
        self.dispatcher.include_router(self._router())
        self.pacer = pacer or Pacer(overall=29.0, per_chat=1.0)  # a margin under 30/s, which is approximate
        self.shown: OrderedDict[int, Shown] = OrderedDict()
        self.locks: dict[int, asyncio.Lock] = {}
        self._polling: asyncio.Task[None] | None = None
        self.admin: ChatAdmin | None = None  # campaign commands for admins and scrutineers (set by from_app)
        self.join_tags: tuple[str, ...] = ()  # the groups people may choose with /join (set by from_app)
        self.connected = False
        # /report, /export and /evidence for scrutineers and admins (bot.reporting.delivery), set by from_app
        self.reports: Callable[[Address, str], Deliverable | str] | None = None
        self.report_commands: frozenset[str] = frozenset()
        self.yousaid: YouSaid | None = None  # reactions to "we did" replies (set by from_app)
        self.alert_chat: int | None = None  # the safeguarding lead's chat, where alerts go (set by from_app)

    @classmethod
    def from_app(cls, app: App) -> TelegramChannel:
        settings = app.settings
        assert settings.telegram_token is not None
        secret = settings.telegram_webhook_secret or app.keys.secret("telegram-webhook")
        channel = cls(app.service, settings.telegram_token, settings.telegram_api_url, settings.default_survey,
                      settings.telegram_webhook_url, secret)
        from bot.chat_admin import ChatAdmin  # the admin side needs the whole app; respondents never do
        from bot.reporting.delivery import COMMANDS, respond  # reporting reads storage; the channel itself does not

        channel.admin = ChatAdmin(app)
        channel.yousaid = channel.admin.yousaid
        channel.join_tags = settings.join_tags
        channel.reports, channel.report_commands = partial(respond, app), COMMANDS
        if settings.safeguarding_telegram_chat is not None:
            channel.alert_chat = int(settings.safeguarding_telegram_chat)
            app.service.alerts.add(channel, settings.safeguarding_telegram_chat)
        return channel

    # --- lifecycle -----------------------------------------------------------------------------------------------
    async def start(self, server: HttpServer) -> None:
        """Connect, or fail with one line naming the setting (as Slack does) when Telegram cannot be reached or
        refuses the token, rather than aiogram's traceback."""
        try:
            await self._connect(server)
        except TelegramAPIError as exc:
            await self.bot.session.close()
            if isinstance(exc, TelegramUnauthorizedError):
                raise SettingsError("Telegram refused TELEGRAM_BOT_TOKEN (unauthorized): check the token BotFather "
                                    "gave") from None
            if isinstance(exc, TelegramNetworkError):
                raise SettingsError(f"cannot reach the Telegram Bot API at {self.api_url} (TELEGRAM_API_URL): "
                                    f"{exc.message}") from None
            raise SettingsError(f"Telegram refused to start the bot: {exc.message}") from None

    async def _connect(self, server: HttpServer) -> None:
        me = await self.bot.get_me()
        warm_up()
        log.info("Telegram bot connected (%s mode)", "webhook" if self.webhook_url else "polling")
        await self.bot.set_my_commands(COMMANDS)
        server.add_check("telegram", lambda: self.connected)
        if self.webhook_url:
            path = urlparse(self.webhook_url).path or "/telegram/webhook"
            handler = WebhookHandler(self.dispatcher, self.bot, handle_in_background=False,
                                     secret_token=self.webhook_secret)
            handler.refused = partial(self.service.refused, "telegram-secret-token")
            handler.register(server.app, path=path)
            await self.bot.set_webhook(self.webhook_url, secret_token=self.webhook_secret, allowed_updates=UPDATES)
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._polling = asyncio.create_task(self.dispatcher.start_polling(
                self.bot, handle_signals=False, allowed_updates=UPDATES, close_bot_session=False))
        self.connected = bool(me.is_bot)

    async def stop(self) -> None:
        self.connected = False
        if self._polling is not None:
            if self.dispatcher._running_lock.locked():
                await self.dispatcher.stop_polling()
            await asyncio.gather(self._polling, return_exceptions=True)
            self._polling = None
        await self.bot.session.close()

    def _router(self) -> Router:
        router = Router(name="surveybot")
        router.message.register(self.on_message)
        router.edited_message.register(self.on_edited)
        router.callback_query.register(self.on_button)
        return router

    # --- incoming ------------------------------------------------------------------------------------------------
    def address(self, user_id: int) -> Address:
        return Address("telegram", str(self.bot.id), str(user_id))

    async def on_message(self, message: Message, event_update: Update) -> None:
        if message.from_user is None or message.from_user.is_bot:
            return None
        chat_id = message.chat.id
        if message.chat.type != "private":
            if (message.text or "").startswith("/"):
                await self.send(chat_id, HINT_PRIVATE)
            return None
        if message.text is None:
            await self.send(chat_id, HINT_TYPED)
            return None
        who = self.address(message.from_user.id)
        key = str(event_update.update_id)
        word = message.text.strip().split(" ", 1)[0]
        if self.reports is not None and word[1:].split("@", 1)[0].lower() in self.report_commands:
            await self.deliver(chat_id, who, message.text)
            return None
        async with self.lock(chat_id), self.apology(chat_id):
            outcome = await self.command(who, message.text, key)
            return await self.render(chat_id, who, outcome, None)
        return None  # the apology was sent

    async def command(self, who: Address, text: str, key: str) -> Outcome:
        """A slash command, or else a typed answer."""
        word, _, rest = text.strip().partition(" ")
        name = word[1:].split("@", 1)[0].lower() if word.startswith("/") else None
        service = self.service
        if name == "start":
            code = rest.strip()
            if not code:
                current = await service.call(service.open_survey, who)
                code = current.id if current is not None else self.default_survey
            return await service.call(service.begin, who, code, None, key)
        if name == "help":
            return Outcome((Say(HELP),))
        if name == "delete":
            return await service.call(service.erase, who)
        if name is not None and self.admin is not None and self.admin.handles(name):
            reply = await service.call(self.admin.run, who, [name, *rest.split()])
            return Outcome((Say(reply),))
        if name == "join":
            example = f"/join {self.join_tags[0]}" if self.join_tags else "/join"
            return await service.call(service.join, who, rest.split(), self.join_tags, example)
        if name == "unsubscribe" or (name == "stop" and rest.strip().lower() == "all"):
            return await service.call(service.opt_out, who)
        events: dict[str, engine.Event] = {
            "stop": engine.Stop(), "resume": engine.Resume(), "skip": engine.Skip(), "back": engine.Back()}
        if name is not None and name in events:
            return await service.call(service.handle, who, events[name], key)
        return await service.call(service.reply, who, text, key)  # safeguarding check, answer or feedback

    async def deliver(self, chat_id: int, who: Address, text: str) -> None:
        """A report or export as a document in this chat, or a plain reply (no role, no such survey...)."""
        assert self.reports is not None
        made = await self.service.call(self.reports, who, text)
        if isinstance(made, str):
            await self.send(chat_id, made)
            return
        upload = BufferedInputFile(made.data, filename=made.filename)
        await self.call(chat_id, lambda: self.bot.send_document(chat_id, upload, caption=made.caption[:1024]), True)

    async def on_edited(self, message: Message) -> None:
        if message.chat.type == "private":
            await self.send(message.chat.id, HINT_EDITED)

    async def on_button(self, query: CallbackQuery, event_update: Update) -> None:
        message = query.message if isinstance(query.message, Message) else None
        if (query.data or "").startswith(START_PREFIX) and message is not None and message.chat.type == "private":
            await self.answer(query, None)  # the Start button on an invitation
            who = self.address(query.from_user.id)
            async with self.lock(message.chat.id):
                code = (query.data or "")[len(START_PREFIX):]
                outcome = await self.service.call(self.service.begin, who, code, None, str(event_update.update_id))
                return await self.render(message.chat.id, who, outcome, None)
        reaction = parse_reaction(query.data)
        if reaction is not None and self.yousaid is not None and message is not None:
            await self.react(query, message, reaction, str(event_update.update_id))
            return None
        ref = alerts.ack_ref(query.data)
        if ref is not None and message is not None and message.chat.id == self.alert_chat:
            await self.acknowledge(query, message, ref)
            return None
        press = checkin.decode(query.data)
        if press is not None and message is not None and message.chat.type == "private":
            await self.answer(query, None)
            who = self.address(query.from_user.id)
            user = query.from_user
            reach = (f"@{user.username} on Telegram" if user.username
                     else f"Telegram user {user.id} (tg://user?id={user.id})")
            async with self.lock(message.chat.id), self.apology(message.chat.id):
                await self.call(message.chat.id, lambda: self.bot.edit_message_reply_markup(
                    chat_id=message.chat.id, message_id=message.message_id, reply_markup=None))
                outcome = await self.service.call(self.service.care, who, press, reach,
                                                  str(event_update.update_id))
                return await self.render(message.chat.id, who, outcome, None)
            return None  # the apology was sent
        event = buttons.decode(query.data)
        if event is None or message is None or message.chat.type != "private":
            await self.answer(query, STALE_BUTTON)
            return None
        who = self.address(query.from_user.id)
        async with self.lock(message.chat.id), self.apology(message.chat.id):
            outcome = await self.service.call(self.service.handle, who, event, str(event_update.update_id))
            toast = next((e.text for e in outcome.effects if isinstance(e, Notice)), None)
            await self.answer(query, toast)
            return await self.render(message.chat.id, who, outcome, message)
        return None  # the apology was sent

    # --- outgoing ------------------------------------------------------------------------------------------------
    async def render(self, chat_id: int, who: Address, outcome: Outcome, pressed: Message | None) -> None:
        """Send what the service decided, in order. A press's toast replaces a repeat of the same words.

        In webhook mode one edit (the answered question losing its buttons, or a redrawn keyboard) is not sent but
        held for the webhook's HTTP reply (WebhookHandler), so it rides back to Telegram: one request fewer per
        answer. Telegram applies it after the next question appears; if it ever fails, the old buttons stay visible
        but are stale (their turn has passed), so nothing can be recorded twice.

        Once everything went (or the person blocked the bot), the step's pending reply is marked delivered
        (bot.pending); a failure leaves it to be sent again after a restart."""
        toasts = {e.text for e in outcome.effects if isinstance(e, Notice)} if pressed else set()
        held = REPLY_SLOT.get()
        try:
            for effect in outcome.effects:
                if isinstance(effect, Say) and effect.text not in toasts:
                    await self.send(chat_id, effect.text)
                elif isinstance(effect, Ask):
                    await self.ask(chat_id, effect.prompt)
                elif isinstance(effect, Redraw) and pressed is not None:
                    text, markup = self.draw(effect.prompt)
                    await self.edit(chat_id, {"chat_id": chat_id, "message_id": pressed.message_id, "text": text,
                                              **({"reply_markup": markup} if markup else {})}, held)
                elif isinstance(effect, Answered):
                    await self.mark_answered(chat_id, effect, pressed, held)
                elif isinstance(effect, CheckIn):
                    markup = InlineKeyboardMarkup(inline_keyboard=[
                        [InlineKeyboardButton(text=choice.label, callback_data=choice.data)]
                        for choice in effect.choices])
                    await self.call(chat_id, lambda t=effect.text, m=markup: self.bot.send_message(
                        chat_id, t, reply_markup=m), True)
        except Unreachable:
            log.info("a respondent has blocked the bot; marked unreachable")
            self.service.delivered(outcome)  # nothing more can reach them
            await self.service.call(self.service.mark_unreachable, who)
        except RateLimited:
            log.warning("Telegram kept asking us to slow down (or could not be reached); the rest of one reply "
                        "is tried again later")
        else:
            self.service.delivered(outcome)

    async def resend(self, address: Address, outcome: Outcome) -> None:
        """What a step committed before a stop still owed this chat (bot.pending)."""
        chat_id = int(address.user)
        async with self.lock(chat_id):  # after any update of this chat being handled: it may have moved on
            if await self.service.call(self.service.still_owed, outcome):
                await self.render(chat_id, address, outcome, None)

    async def edit(self, chat_id: int, params: dict[str, object], held: ReplySlot | None) -> None:
        """An edit nobody waits for (editMessageText): kept for the webhook reply while that slot is free,
        otherwise sent now."""
        if held is not None and held.hold("editMessageText", params):
            return
        await self.call(chat_id, lambda: self.post("editMessageText", params))

    def draw(self, prompt: Prompt) -> tuple[str, Markup | None]:
        """Question text and keyboard. Long options are listed in the text and their buttons carry numbers."""
        long = prompt.kind != "scale" and any(len(option) > LONG_OPTION for option in prompt.options)

        def caption(button: buttons.Button) -> str:
            if long and button.index is not None:
                return f"{'☑ ' if button.index in prompt.selected else ''}{button.index + 1}"
            return button.label

        rows = [[{"text": caption(b), "callback_data": b.data} for b in row] for row in buttons.keyboard(prompt)]
        return prompt_text(prompt, numbered=long), {"inline_keyboard": rows} if rows else None

    async def ask(self, chat_id: int, prompt: Prompt) -> None:
        text, markup = self.draw(prompt)
        params: dict[str, object] = {"chat_id": chat_id, "text": text}
        if markup:
            params["reply_markup"] = markup
        sent = await self.call(chat_id, lambda: self.post("sendMessage", params), True)
        if isinstance(sent, dict) and isinstance(sent.get("message_id"), int):
            self.shown[chat_id] = Shown(prompt.turn, sent["message_id"], text)
            self.shown.move_to_end(chat_id)
            while len(self.shown) > MEMORY:
                self.shown.popitem(last=False)

    async def mark_answered(self, chat_id: int, effect: Answered, pressed: Message | None,
                            held: ReplySlot | None) -> None:
        """Show the answer on the question and take its buttons away, so they cannot be pressed again."""
        shown = self.shown.get(chat_id)
        if pressed is not None:
            message_id, text = pressed.message_id, pressed.text or effect.question
        elif shown is not None and shown.turn == effect.turn:
            message_id, text = shown.message_id, shown.text
        else:
            return
        final = f"{text}\n\n{ANSWER_MARK} {effect.answer}"
        await self.edit(chat_id, {"chat_id": chat_id, "message_id": message_id, "text": final[:4096]}, held)

    async def send(self, chat_id: int, text: str) -> None:
        for start in range(0, len(text), 4096):  # Telegram's limit per message
            part = text[start:start + 4096]
            await self.call(chat_id, lambda part=part: self.post("sendMessage", {"chat_id": chat_id, "text": part}),
                            True)

    async def answer(self, query: CallbackQuery, text: str | None) -> None:
        params: dict[str, object] = {"callback_query_id": query.id}
        if text is not None:
            params["text"] = text
        try:
            await self.post("answerCallbackQuery", params)
        except TelegramAPIError:
            log.info("a button press could not be answered (too old, or answered already)")

    async def post(self, method: str, params: dict[str, object]) -> object:
        """One Bot API call of the answer path (a question, an edit, a button's answer), sent as JSON on aiogram's
        own HTTP session and read as plain JSON. aiogram's general route builds a pydantic model for the call, a
        form for the body and a model of the whole reply, about ten times the work of the call itself on every
        answer. Failures become aiogram's own exceptions, so `call` treats both routes alike."""
        session = self.bot.session
        http = await session.create_session()
        url = session.api.api_url(token=self.bot.token, method=method)
        try:
            async with http.post(url, data=json.dumps(params), headers=JSON_BODY,
                                 timeout=aiohttp.ClientTimeout(total=session.timeout)) as response:
                status, raw = response.status, await response.read()
        except TimeoutError:
            raise TelegramNetworkError(method=_named(method), message="Request timeout error") from None
        except aiohttp.ClientError as exc:
            raise TelegramNetworkError(method=_named(method), message=type(exc).__name__) from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise TelegramNetworkError(method=_named(method), message="a reply that is not JSON") from None
        if 200 <= status < 300 and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        raise _failure(method, status, body if isinstance(body, dict) else {})

    async def call(self, chat_id: int, request: Callable[[], Awaitable[T]], new_message: bool = False) -> T | None:
        """One Bot API call within the rate limits, retrying 429s a bounded number of times. New messages count
        against the chat's limit of one a second; edits only against the overall limit."""
        for _ in range(SEND_ATTEMPTS):
            await self.pacer.wait(str(chat_id) if new_message else None)
            try:
                return await request()
            except TelegramRetryAfter as exc:
                METRICS.throttled.labels(self.name).inc()
                await asyncio.sleep(min(float(exc.retry_after), MAX_RETRY_AFTER))
            except TelegramForbiddenError:
                raise Unreachable("blocked by the user") from None
            except TelegramBadRequest as exc:
                if "not modified" not in exc.message:
                    log.warning("Telegram refused a request: %s", exc.message.split(":")[0])
                return None
            except TelegramNetworkError:
                log.warning("network error talking to Telegram; retrying")
                await asyncio.sleep(1)
        raise RateLimited(MAX_RETRY_AFTER)

    async def invite(self, address: Address, text: str, code: str) -> None:
        """An invitation or reminder with a Start button (the campaign's code rides in the button's data)."""
        chat_id = _chat_of(address)
        start = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=msg.START, callback_data=f"{START_PREFIX}{code}"[:64])]])
        sent = await self.call(chat_id, lambda: self.bot.send_message(chat_id, text, reply_markup=start), True)
        if sent is None:
            raise Unreachable("Telegram refused the invitation")

    async def announce(self, address: Address, text: str, reply_id: int) -> None:
        """A "we did" reply with its three reaction buttons."""
        chat_id = _chat_of(address)
        markup = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=label, callback_data=reaction_data(reply_id, kind))
            for kind, label in reaction_buttons()]])
        sent = await self.call(chat_id, lambda: self.bot.send_message(chat_id, text, reply_markup=markup), True)
        if sent is None:
            raise Unreachable("Telegram refused the reply")

    async def react(self, query: CallbackQuery, message: Message, reaction: tuple[int, str], key: str) -> None:
        """A press on "this helps / not really / tell me more": counted once, thanked with a toast; "tell me more"
        also gets a kind message in the chat."""
        assert self.yousaid is not None
        who = self.address(query.from_user.id)
        async with self.lock(message.chat.id), self.apology(message.chat.id):
            said = await self.service.call(self.yousaid.react, who, reaction[0], reaction[1], key)
            await self.answer(query, said)
            if said == msg.YOUSAID_TELL_ME_MORE:
                await self.send(message.chat.id, said)
            if said is not None and said != msg.YOUSAID_NOT_FOR_YOU:  # tick their choice on the buttons
                buttons = [{"text": label, "callback_data": reaction_data(reaction[0], kind)}
                           for kind, label in reaction_buttons(reaction[1])]
                try:
                    await self.post("editMessageReplyMarkup", {"chat_id": message.chat.id,
                                                               "message_id": message.message_id,
                                                               "reply_markup": {"inline_keyboard": [buttons]}})
                except TelegramAPIError:  # the same choice again: nothing to change
                    log.info("a reaction's buttons were not changed (the same choice, or the message is gone)")

    async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
        """A safeguarding alert in the lead's chat, with an Acknowledge button (bot.safeguarding.alerts)."""
        chat_id = int(target)
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=ack_label, callback_data=ack_data)]])
        sent = await self.call(chat_id, lambda: self.bot.send_message(chat_id, text, reply_markup=markup), True)
        return sent is not None

    async def acknowledge(self, query: CallbackQuery, message: Message, ref: str) -> None:
        """Acknowledge pressed in the lead's chat: audited once; the alert then says so and loses its button."""
        day = await self.service.call(self.service.acknowledge, ref)
        if day is None:
            await self.answer(query, msg.ALERT_UNKNOWN)
            return
        await self.answer(query, None)
        text = f"{message.text or ''}\n\n{msg.ALERT_ACKED.format(day=f'{day.day} {day:%B %Y}')}"
        await self.call(message.chat.id, lambda: self.bot.edit_message_text(
            text=text[:4096], chat_id=message.chat.id, message_id=message.message_id, reply_markup=None))

    @contextlib.asynccontextmanager
    async def apology(self, chat_id: int) -> AsyncIterator[None]:
        """Our own failure is logged (without ids) and met with a kind word, never silence or a traceback."""
        try:
            yield
        except (asyncio.CancelledError, Unreachable, RateLimited):
            raise
        except Exception:
            log.exception("handling a Telegram update failed")
            with contextlib.suppress(Exception):
                await self.send(chat_id, SORRY)

    def lock(self, chat_id: int) -> asyncio.Lock:
        """One update at a time per chat, in arrival order, so quick typed answers apply in sequence."""
        if len(self.locks) > MEMORY:
            for key in [k for k, v in self.locks.items() if not v.locked()]:
                del self.locks[key]
        return self.locks.setdefault(chat_id, asyncio.Lock())


def _chat_of(address: Address) -> int:
    """The private chat of a contact. A stored address that is not a Telegram user id (one imported before ids were
    checked) can never be messaged: Unreachable, so the campaign marks it once instead of failing every minute."""
    if not (address.user.isascii() and address.user.isdigit() and 0 < int(address.user) < 2**52):
        raise Unreachable("not a Telegram user id")
    return int(address.user)


_METHODS: dict[str, type[TelegramMethod[object]]] = {
    "sendMessage": SendMessage, "editMessageText": EditMessageText, "answerCallbackQuery": AnswerCallbackQuery}


def _named(method: str) -> TelegramMethod[object]:
    """The aiogram method an exception names (built only when a call fails)."""
    return _METHODS[method].model_construct()


def _failure(method: str, status: int, body: dict[str, object]) -> TelegramAPIError:
    """The exception aiogram itself would raise for this failed call (as in its BaseSession.check_response)."""
    named, description = _named(method), str(body.get("description") or FAILED_CALL)
    parameters = body.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(retry_after, int):
        return TelegramRetryAfter(method=named, message=description, retry_after=retry_after)
    kinds: dict[int, type[TelegramAPIError]] = {400: TelegramBadRequest, 403: TelegramForbiddenError}
    if status >= 500:
        return TelegramServerError(method=named, message=description)
    return kinds.get(status, TelegramAPIError)(method=named, message=description)


class WebhookHandler(SimpleRequestHandler):
    """aiogram's webhook handler, refusing a wrong secret token with a warning in the log (never the token), and
    comparing bytes: aiogram's str comparison raised TypeError (a 500) for a header with a non-ASCII character.

    The reply carries the one call the channel held for it (ReplySlot) as JSON, which Telegram accepts as readily
    as aiogram's multipart form and which costs a fraction to write."""

    refused: Callable[[], None] | None = None  # audits the refusal (SurveyService.refused), set by the channel

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            update = Update.model_validate(await request.json(loads=bot.session.json_loads), context={"bot": bot})
        except (ValueError, RecursionError, RequestPayloadError):  # pydantic's ValidationError is a ValueError
            # the right secret but no update in the body: Telegram never sends that, so a 400, not a 500 and a trace
            log.warning("rejected a Telegram webhook request whose body is not an update")
            return web.Response(status=400)
        slot = ReplySlot()
        token = REPLY_SLOT.set(slot)
        try:
            await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        finally:
            slot.open = False
            REPLY_SLOT.reset(token)
        return web.Response(body=json.dumps(slot.call or {}), content_type="application/json")

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        if not self.secret_token:
            return True
        given = telegram_secret_token.encode("utf-8", "replace")
        if hmac.compare_digest(given, self.secret_token.encode()):
            return True
        log.warning("rejected a Telegram webhook request with a missing or wrong secret token")
        if self.refused is not None:
            self.refused()
        return False
