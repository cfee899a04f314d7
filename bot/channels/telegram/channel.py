"""The Telegram channel object: its settings and lifecycle (long polling or webhook), and the calls it makes.

Which handler an update reaches is bot.channels.telegram.handlers; how effects look in Telegram is .render; the hot
calls as plain JSON and the webhook are .bot_api. Telegram errors are translated here, in `call`: 429 waits and
retries (bounded), 403 marks the person unreachable, anything else is logged without ids and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import CallbackQuery, InlineKeyboardMarkup

from bot.bounded import BoundedMap
from bot.channels.pacing import Pacer
from bot.channels.port import Address, RateLimited, Unreachable
from bot.channels.telegram import bot_api
from bot.channels.telegram.bot_api import WebhookHandler, warm_up
from bot.channels.telegram.handlers import build_router
from bot.channels.telegram.middleware import ChatLocks
from bot.channels.telegram.render import (
    TEXT_LIMIT,
    Markup,
    Renderer,
    Shown,
    keyboard,
    reaction_keyboard,
    start_keyboard,
)
from bot.channels.telegram.words import COMMANDS
from bot.config import SettingsError
from bot.domain.reaching import INVITATION, Kind
from bot.metrics import METRICS
from bot.services.port import ChatService, Outcome

if TYPE_CHECKING:
    from bot.reporting.delivery import Deliverable
    from bot.server import HttpServer
    from bot.services.chat_admin import ChatAdmin
    from bot.services.yousaid import YouSaid

log = logging.getLogger("bot.channels.telegram")
T = TypeVar("T")

UPDATES = ["message", "edited_message", "callback_query"]
SEND_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0


class TelegramChannel:
    name = "telegram"

    def __init__(self, service: ChatService, token: str, api_url: str, default_survey: str,
                 webhook_url: str | None = None, webhook_secret: str | None = None, pacer: Pacer | None = None) -> None:
        self.service = service
        self.default_survey = default_survey
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_url = api_url
        self.bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
        self.post = partial(bot_api.post, self.bot)  # the answer path's calls, as plain JSON
        self.dispatcher = Dispatcher(disable_fsm=True)  # the conversation lives in our database, not in aiogram's FSM
        self.locks = ChatLocks()  # one update at a time per chat (handlers and resend alike)
        self.renderer = Renderer(self)
        self.pacer = pacer or Pacer(overall=29.0, per_chat=1.0)  # a margin under 30/s, which is approximate
        self._polling: asyncio.Task[None] | None = None
        self._routed = False
        self.admin: ChatAdmin | None = None  # campaign commands for admins and scrutineers (set by bot.app)
        self.join_tags: tuple[str, ...] = ()  # the groups people may choose with /join (set by bot.app)
        self.connected = False
        # /report, /export and /evidence for scrutineers and admins (bot.reporting.delivery), set by bot.app
        self.reports: Callable[[Address, str], Deliverable | str] | None = None
        self.report_commands: frozenset[str] = frozenset()
        self.yousaid: YouSaid | None = None  # reactions to "we did" replies (set by bot.app)
        self.alert_chat: int | None = None  # the safeguarding lead's chat, where alerts go (set by bot.app)

    @property
    def shown(self) -> BoundedMap[int, Shown]:
        """Each chat's last question (bot.channels.telegram.render)."""
        return self.renderer.shown

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
        if not self._routed:  # built now, once bot.app has said which commands and buttons this bot has
            self.dispatcher.include_router(build_router(self))
            self._routed = True
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

    # --- the channel's side of the service -----------------------------------------------------------------------
    def address(self, user_id: int) -> Address:
        return Address("telegram", str(self.bot.id), str(user_id))

    def lock(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        """Hold the chat's lock, shared with the handlers' middleware."""
        return self.locks.lock(chat_id)

    async def resend(self, address: Address, outcome: Outcome) -> None:
        """What a step committed before a stop still owed this chat (bot.services.pending)."""
        chat_id = int(address.user)
        async with self.lock(chat_id):  # after any update of this chat being handled: it may have moved on
            if await self.service.call(self.service.still_owed, outcome):
                await self.renderer.render(chat_id, address, outcome, None)

    async def invite(self, address: Address, text: str, code: str, *, kind: Kind = INVITATION) -> None:
        """An invitation or reminder (sent alike) with a Start button (the campaign's code in the button's data)."""
        await self._send_with_buttons(_chat_of(address), text, start_keyboard(code), "Telegram refused the invitation")

    async def announce(self, address: Address, text: str, reply_id: int) -> None:
        """A "we did" reply with its three reaction buttons."""
        await self._send_with_buttons(_chat_of(address), text, reaction_keyboard(reply_id),
                                      "Telegram refused the reply")

    async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
        """A safeguarding alert in the lead's chat, with an Acknowledge button (bot.services.safeguarding.alerts)."""
        chat_id = int(target)
        markup = InlineKeyboardMarkup.model_validate(keyboard([[(ack_label, ack_data)]]))
        sent = await self.call(chat_id, lambda: self.bot.send_message(chat_id, text, reply_markup=markup), True)
        return sent is not None

    async def _send_with_buttons(self, chat_id: int, text: str, markup: Markup, refused: str) -> None:
        buttons = InlineKeyboardMarkup.model_validate(markup)
        sent = await self.call(chat_id, lambda: self.bot.send_message(chat_id, text, reply_markup=buttons), True)
        if sent is None:
            raise Unreachable(refused)

    # --- calls ---------------------------------------------------------------------------------------------------
    async def send(self, chat_id: int, text: str, markup: Markup | None = None) -> None:
        """A message, split at Telegram's limit; buttons (if any) go under its last part."""
        for start in range(0, len(text), TEXT_LIMIT):
            params: dict[str, object] = {"chat_id": chat_id, "text": text[start:start + TEXT_LIMIT]}
            if markup is not None and start + TEXT_LIMIT >= len(text):
                params["reply_markup"] = markup
            await self.call(chat_id, partial(self.post, "sendMessage", params), True)

    async def answer(self, query: CallbackQuery, text: str | None) -> None:
        """Every press is answered once, so the person's spinner stops; a toast when there is something to say."""
        params: dict[str, object] = {"callback_query_id": query.id}
        if text is not None:
            params["text"] = text
        try:  # not through `quietly`: this is on every press's path, one await fewer
            await self.post("answerCallbackQuery", params)
        except TelegramAPIError:
            log.info("a button press could not be answered (too old, or answered already)")

    async def quietly(self, method: str, params: dict[str, object], note: str) -> None:
        """A call whose failure changes nothing for anyone (noted in the log, without ids)."""
        try:
            await self.post(method, params)
        except TelegramAPIError:
            log.info(note)

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


def _chat_of(address: Address) -> int:
    """The private chat of a contact. A stored address that is not a Telegram user id (one imported before ids were
    checked) can never be messaged: Unreachable, so the campaign marks it once instead of failing every minute."""
    if not (address.user.isascii() and address.user.isdigit() and 0 < int(address.user) < 2**52):
        raise Unreachable("not a Telegram user id")
    return int(address.user)
