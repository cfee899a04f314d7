"""The Bot API calls of the answer path posted as plain JSON, and the webhook that may carry one back.

aiogram's general route builds a pydantic model for each call, a form for its body and a model of the whole reply:
about ten times the work of the call itself, on every answer. The hot calls (a question, an edit, a button's answer)
go through `post` instead, on aiogram's own HTTP session, and fail with aiogram's own exceptions so callers treat
both routes alike. Rarer calls (invitations, alerts, documents) still go through aiogram; `warm_up` keeps their
response models built.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

log = logging.getLogger("bot.channels.telegram")

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
_RESPONSE_MODELS: list[type] = []


def warm_up() -> None:
    """Build aiogram's response models for the calls still made through aiogram (invitations, alerts, documents),
    once, and keep them. The answer path's own calls skip them (`post`).

    aiogram validates each reply with the generic model Response[T]. pydantic builds that model (for a type as large
    as Message, a good part of a second) the first time each T is used and caches it only weakly, so without a
    reference of ours it may be built again while someone waits."""
    if not _RESPONSE_MODELS:
        _RESPONSE_MODELS.extend(Response[method.__returning__]  # type: ignore[name-defined]
                                for method in (SendMessage, EditMessageText))


async def post(bot: Bot, method: str, params: dict[str, object]) -> object:
    """One Bot API call of the answer path, sent as JSON and read as plain JSON (see the module's docstring)."""
    session = cast(AiohttpSession, bot.session)  # TelegramChannel always builds its Bot on an AiohttpSession
    http = await session.create_session()
    url = session.api.api_url(token=bot.token, method=method)
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


_METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": SendMessage, "editMessageText": EditMessageText, "answerCallbackQuery": AnswerCallbackQuery}


def _named(method: str) -> TelegramMethod[Any]:
    """The aiogram method an exception names (built only when a call fails)."""
    return _METHODS.get(method, SendMessage).model_construct()


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
