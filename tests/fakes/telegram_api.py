"""Fake Telegram Bot API server, so tests drive the real aiogram Bot over HTTP on 127.0.0.1.

Usage from a test::

    async with FakeTelegram() as fake:
        bot = fake.make_bot()
        fake.user_sends_text(42, "hello")
        reply = await fake.next_message(42)

From another process: ``python -m tests.fakes.telegram_api --port 8081`` prints the base URL and
exposes ``POST /_fake/<helper>`` (JSON kwargs) and ``GET /_fake/state`` for remote control.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import copy
import html
import inspect
import itertools
import json
import mimetypes
import re
import signal
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from aiogram import Bot

Json = dict[str, Any]
ChatId = int | str
MessageKey = tuple[Any, Any]  # (chat_id, message_id) as the client sent them

# Multipart and query values arrive as strings; only these keys are decoded, so text "42" stays text.
_JSON_KEYS = frozenset({"reply_markup", "allowed_updates", "commands", "scope", "entities",
                        "caption_entities", "link_preview_options", "reply_parameters", "media"})
_BOOL_KEYS = frozenset({"drop_pending_updates", "show_alert", "disable_notification", "protect_content",
                        "disable_web_page_preview", "allow_sending_without_reply"})
_INT_KEYS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "cache_time",
                       "max_connections", "reply_to_message_id", "message_thread_id", "from_chat_id"})
_SEND_METHODS = frozenset({"sendmessage", "senddocument"})
_CHAT_PREFIXES = ("send", "edit", "copy", "forward")
_HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                        "span", "tg-spoiler", "tg-emoji", "blockquote"})
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)(?:\s[^<>]*)?>")
_DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message")
WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first")
POLL_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


_REQUEST: contextvars.ContextVar[web.Request | None] = contextvars.ContextVar("request", default=None)


def _client_gone() -> bool:
    """True when the HTTP client of the current request hung up (e.g. a cancelled long poll)."""
    request = _REQUEST.get()
    return request is not None and (request.transport is None or request.transport.is_closing())


class ApiError(Exception):
    """An ok=false answer; raising it keeps handler code linear."""

    def __init__(self, code: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> Json:
        body: Json = {"ok": False, "error_code": self.code, "description": self.description}
        return body | ({"parameters": self.parameters} if self.parameters else {})


@dataclass
class Call:
    """One API request as the fake understood it, so tests assert on what the bot really sent."""

    method: str
    params: Json
    time: float  # time.monotonic() on arrival
    status: int | None = None  # HTTP status once answered (None while e.g. a long poll is held)
    response: Json | None = None
    source: str = "http"  # or "webhook_reply" for methods returned in a webhook response


@dataclass
class Delivery:
    """One webhook POST attempt, so tests can check secrets, statuses and re-deliveries."""

    update_id: int
    status: int  # 0 when the connection itself failed
    time: float
    error: str | None = None


@dataclass
class FakeFile:
    """An uploaded file, kept so tests can inspect exported reports byte for byte."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass
class _Queued:
    update: Json
    forced: bool = False  # re-delivered on purpose: survives offsets until returned once
    returned: bool = False


class _Signal:
    """Wakes every waiter when state changes: event-driven waiting without sleep loops."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), max(timeout, 0.0))


def _coerce(key: str, value: Any) -> Any:
    """Decode a form/query string the way Telegram would for that parameter."""
    if isinstance(value, web.FileField):
        return FakeFile(value.filename, value.file.read(), value.content_type)
    if not isinstance(value, str):
        return value
    if key in _JSON_KEYS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    elif key in _BOOL_KEYS:
        return value.lower() == "true"
    elif key in _INT_KEYS and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _normalize(raw: dict[str, Any]) -> Json:
    """Coerce values and resolve aiogram's ``attach://<field>`` references to uploaded files."""
    params = {key: _coerce(key, value) for key, value in raw.items()}
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = params.pop(value.removeprefix("attach://"), value)
    return params


def _render(text: str, parse_mode: str | None) -> str:
    """Strip HTML markup like Telegram does, rejecting what Telegram rejects (e.g. a stray '<3')."""
    if (parse_mode or "").upper() != "HTML":
        return text
    stack: list[str] = []
    for match in _TAG.finditer(text):
        closing, tag = match.group(1), match.group(2).lower()
        if tag not in _HTML_TAGS:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}"')
    plain = _TAG.sub("", text)
    if stack or "<" in plain or ">" in plain:
        raise ApiError(400, "Bad Request: can't parse entities: unclosed or stray tag")
    return html.unescape(plain)


def _check_markup(markup: Json | None) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if len(button.get("callback_data", "").encode()) > 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _inline(markup: Json | None) -> Json | None:
    """API results only echo inline keyboards; reply keyboards are not part of Message."""
    return markup if markup and "inline_keyboard" in markup else None


class FakeTelegram:
    """In-memory Telegram: records calls, simulates users and webhooks, injects faults and limits."""

    def __init__(self, *, bot_id: int = 123456789, bot_username: str = "surveybot_test_bot",
                 enforce_limits: bool = False, global_per_second: int = 30,
                 per_chat_per_second: float = 1.0, parallel_webhook: bool = False) -> None:
        self.bot_user: Json = {"id": bot_id, "is_bot": True, "first_name": "Survey Bot",
                               "username": bot_username, "can_join_groups": True,
                               "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.token = f"{bot_id}:FAKE-telegram-token"
        self.enforce_limits, self.global_per_second = enforce_limits, global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.base_url = ""
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.files: dict[str, FakeFile] = {}
        self.callback_answers: dict[str, Json] = {}
        self.unknown_methods: list[str] = []
        self.throttled = 0
        self.sent_at: dict[ChatId, list[float]] = defaultdict(list)  # monotonic times of delivered sends
        self.webhook: Json | None = None
        self._queue: list[_Queued] = []
        self._failed: list[Json] = []
        self._offset = 0
        self._poll_generation = 0
        self._update_ids = itertools.count(1000)
        self._query_ids = itertools.count(4_000_000_000_000_001)
        self._messages: dict[MessageKey, Json] = {}  # current state, Telegram-shaped
        self._markups: dict[MessageKey, Json | None] = {}  # markup as last sent (any kind)
        self._log: dict[ChatId, list[tuple[int, bool]]] = defaultdict(list)  # (message_id, from_bot)
        self._last_id: dict[ChatId, int] = defaultdict(int)
        self._cursor: dict[ChatId, int] = defaultdict(int)
        self._chats: dict[ChatId, Json] = {}
        self._deleted: set[MessageKey] = set()
        self._keyboards: dict[ChatId, Json | None] = {}
        self._commands: dict[tuple[str, str], list[Json]] = {}
        self._faults: dict[str, list[ApiError]] = defaultdict(list)
        self._blocked: set[ChatId] = set()
        self._quiet: dict[ChatId, str] = {}  # chats whose sendMessage calls are held or cut (see hold_sends)
        self.held: list[Call] = []  # sendMessage calls held or cut: never carried out
        self._open_queries: set[str] = set()
        self._recent_sends: deque[float] = deque()
        self._last_error: tuple[int, str] | None = None
        self._closing = False
        self._updates, self._changed = _Signal(), _Signal()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._deliver_lock = asyncio.Lock()
        # Telegram keeps up to max_connections webhook requests open at once; by default the fake sends one at a time
        self.parallel_webhook = parallel_webhook
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._api: dict[str, Callable[[Json], Any]] = {
            "getme": lambda p: self.bot_user, "getupdates": self._get_updates,
            "setwebhook": self._set_webhook, "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._webhook_info, "sendmessage": self._send_message,
            "senddocument": self._send_document, "editmessagetext": self._edit_text,
            "editmessagereplymarkup": lambda p: self._edit(p, {}),
            "deletemessage": self._delete_message, "answercallbackquery": self._answer_query,
            "setmycommands": self._set_commands, "getmycommands": self._get_commands,
            "deletemycommands": self._delete_commands,
        }

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTelegram:
        """Serve on an OS-chosen port by default so parallel tests never collide."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/_fake/state", self._state)
        app.router.add_post("/_fake/webhook_reply", self._webhook_reply)
        app.router.add_post("/_fake/{action}", self._control)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self

    async def close(self) -> None:
        """Release held long polls first, so shutdown never waits for a poll timeout."""
        self._closing = True
        self._updates.notify()
        self._changed.notify()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def run_in_thread(self, port: int = 0) -> FakeThread:
        """Serve from a background thread (own event loop) for sync code and benchmarks."""
        loop, ready, errors = asyncio.new_event_loop(), threading.Event(), []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start(port=port))
            except Exception as exc:  # surfaced to the caller below
                errors.append(exc)
            ready.set()
            if not errors:
                loop.run_forever()
            loop.close()

        thread = threading.Thread(target=serve, name="fake-telegram", daemon=True)
        thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return FakeThread(self, loop, thread)

    def make_bot(self, **kwargs: Any) -> Bot:
        """A real aiogram Bot pointed at this fake (caller closes ``bot.session``)."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        session = AiohttpSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(self.token, session=session, **kwargs)

    # ---- HTTP plumbing ---------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and request.can_read_body:
            with contextlib.suppress(ValueError):
                body = await request.json()
                raw.update(body if isinstance(body, dict) else {})
        elif request.can_read_body:
            raw.update(await request.post())
        _REQUEST.set(request)
        method, params = request.match_info["method"], _normalize(raw)
        if method.lower() == "sendmessage" and params.get("chat_id") in self._quiet:
            self.held.append(Call(method, params, time.monotonic(), source="held"))
            self._changed.notify()
            while self._quiet.get(params["chat_id"]) == "hold" and not _client_gone():
                await self._changed.wait(0.05)
            if params["chat_id"] in self._quiet or _client_gone():  # cut: the bot never hears back, nothing is sent
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=502)
        status, body = await self._execute(method, params)
        return web.json_response(body, status=status)

    async def _execute(self, method: str, params: Json, source: str = "http") -> tuple[int, Json]:
        call = Call(method, params, time.monotonic(), source=source)
        self.calls.append(call)
        self._changed.notify()
        try:
            result = self._dispatch(method.lower(), params)
            if inspect.isawaitable(result):
                result = await result
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.code, error.body()
        call.status, call.response = status, body
        self._changed.notify()
        return status, body

    def _dispatch(self, name: str, params: Json) -> Any:
        if self._faults.get(name):
            raise self._faults[name].pop(0)
        if name not in self._api:
            self.unknown_methods.append(name)
            raise ApiError(404, "Not Found")
        if name.startswith(_CHAT_PREFIXES) and params.get("chat_id") in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if name in _SEND_METHODS and self.enforce_limits:
            self._check_limits(params.get("chat_id"))
        return self._api[name](params)

    def _check_limits(self, chat_id: ChatId | None) -> None:
        now = time.monotonic()
        while self._recent_sends and now - self._recent_sends[0] >= 1.0:
            self._recent_sends.popleft()
        previous = self.sent_at.get(chat_id, []) if chat_id is not None else []
        too_soon = bool(previous) and now - previous[-1] < 0.9 / self.per_chat_per_second
        if too_soon or len(self._recent_sends) >= self.global_per_second:
            self.throttled += 1
            raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})

    async def _webhook_reply(self, request: web.Request) -> web.Response:
        """A webhook reply's body, passed on as it came by whoever posted the update (a benchmark acting as
        Telegram): carried out as Telegram would carry it out."""
        if request.content_type == "application/json":
            body = await request.json()
            raw: dict[str, Any] = body if isinstance(body, dict) else {}
        else:
            raw = dict(await request.post())
        if "method" not in raw:
            return web.json_response({"ok": False, "description": "no method in the webhook reply"}, status=400)
        status, body = await self._execute(str(raw.pop("method")), _normalize(raw), source="webhook_reply")
        return web.json_response(body, status=status)

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _control(self, request: web.Request) -> web.Response:
        """Let another process drive the simulated users (benchmarks against a real bot process)."""
        action = request.match_info["action"]
        allowed = {"user_sends_text", "user_sends", "user_presses", "user_clicks", "redeliver",
                   "fail_next", "block_user", "unblock_user", "messages_to", "retry_failed_deliveries"}
        if action not in allowed:
            raise web.HTTPNotFound(text=f"unknown control action {action!r}")
        kwargs = await request.json() if request.can_read_body else {}
        result = getattr(self, action)(**kwargs)
        result = await result if inspect.isawaitable(result) else result
        return web.json_response({"ok": True, "result": result}, dumps=lambda o: json.dumps(o, default=asdict))

    # ---- updates: polling and webhooks -----------------------------------------------------
    async def _get_updates(self, p: Json) -> list[Json]:
        if self.webhook:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation, limit = self._poll_generation, min(max(p.get("limit", 100), 1), 100)
        if p.get("offset", 0) > 0:  # confirm: everything below offset is gone for good
            self._offset = max(self._offset, p["offset"])
            self._queue = [q for q in self._queue if q.update["update_id"] >= self._offset
                           or (q.forced and not q.returned)]
        allowed = set(p.get("allowed_updates") or [])
        deadline = time.monotonic() + max(p.get("timeout", 0), 0)
        while True:
            if self.webhook:
                raise ApiError(409, WEBHOOK_CONFLICT)
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            batch = [q for q in self._queue if not allowed or allowed & q.update.keys()][:limit]
            if batch and _client_gone():  # abandoned poll: don't hand updates to nobody
                return []
            if batch or self._closing or time.monotonic() >= deadline:
                for queued in batch:
                    queued.returned = True
                return [copy.deepcopy(q.update) for q in batch]
            await self._updates.wait(deadline - time.monotonic())

    def _set_webhook(self, p: Json) -> bool:
        if not p.get("url"):
            return self._delete_webhook(p)
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._queue.clear()
            self._failed.clear()
        self.webhook = {"url": p["url"], "secret_token": secret, "max_connections": p.get("max_connections", 40),
                        "allowed_updates": p.get("allowed_updates")}
        self._updates.notify()  # held getUpdates now answer 409
        pending, self._queue = self._queue, []
        for queued in pending:
            self._spawn(self._deliver(queued.update))
        return True

    def _delete_webhook(self, p: Json) -> bool:
        self.webhook = None
        self._queue += [_Queued(update) for update in self._failed]  # undelivered: now for getUpdates
        self._failed.clear()
        if p.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _webhook_info(self, p: Json) -> Json:
        info: Json = {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                      "pending_update_count": len(self._queue) + len(self._failed)}
        if self.webhook:
            info |= {"max_connections": self.webhook["max_connections"]}
        if self._last_error:
            info |= {"last_error_date": self._last_error[0], "last_error_message": self._last_error[1]}
        return info

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: Json) -> None:
        """POST one update like Telegram: in order (or side by side with parallel_webhook), with the secret header,
        status recorded."""
        async with contextlib.nullcontext() if self.parallel_webhook else self._deliver_lock:
            hook = self.webhook
            if hook is None or self._session is None:  # webhook removed meanwhile: back to polling
                self._queue.append(_Queued(update))
                self._updates.notify()
                return
            headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
            reply, error, reason = {}, None, ""
            try:
                async with self._session.post(hook["url"], json=update, headers=headers) as resp:
                    status, reason = resp.status, resp.reason or ""
                    if 200 <= status < 300:
                        reply = await self._read_reply(resp)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, error = 0, f"{type(exc).__name__}: {exc}"
            self.deliveries.append(Delivery(update["update_id"], status, time.monotonic(), error))
            if not 200 <= status < 300:
                self._failed.append(update)
                self._last_error = (int(time.time()), error or f"Wrong response from the webhook: {status} {reason}")
            self._changed.notify()
        if "method" in reply:  # aiogram "webhook reply": Telegram executes the returned method
            await self._execute(reply.pop("method"), reply, source="webhook_reply")

    @staticmethod
    async def _read_reply(resp: aiohttp.ClientResponse) -> Json:
        if resp.content_type.startswith("multipart/"):
            raw: dict[str, Any] = {}
            async for part in aiohttp.MultipartReader.from_response(resp):
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    data = await part.read(decode=True)
                    raw[part.name] = FakeFile(part.filename, bytes(data)) if part.filename else data.decode()
            return _normalize(raw)
        with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
            body = await resp.json()
            return body if isinstance(body, dict) else {}
        return {}

    async def retry_failed_deliveries(self) -> list[Delivery]:
        """Re-POST updates whose delivery failed (same update_id), like Telegram's retries, on demand."""
        failed, self._failed, start = self._failed, [], len(self.deliveries)
        for update in failed:
            await self._deliver(update)
        return self.deliveries[start:]

    async def flush_webhook(self) -> None:
        """Wait until every queued webhook POST has been answered."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- bot messages ----------------------------------------------------------------------
    def _new_message(self, chat_id: ChatId, sender: Json, **fields: Any) -> Json:
        self._last_id[chat_id] += 1
        chat = self._chats.get(chat_id, {"id": chat_id, "type": "private"})
        return {"message_id": self._last_id[chat_id], "from": sender, "chat": chat,
                "date": int(time.time()), **fields}

    def _send(self, p: Json, **fields: Any) -> Json:
        if "chat_id" not in p:
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat_id, markup = p["chat_id"], p.get("reply_markup")
        _check_markup(markup)
        message = self._new_message(chat_id, self.bot_user, **fields)
        if _inline(markup):
            message["reply_markup"] = markup
        key = (chat_id, message["message_id"])
        self._messages[key], self._markups[key] = message, markup
        self._log[chat_id].append((message["message_id"], True))
        if markup and ("keyboard" in markup or "remove_keyboard" in markup):
            self._keyboards[chat_id] = markup if "keyboard" in markup else None
        now = time.monotonic()
        self.sent_at[chat_id].append(now)
        self._recent_sends.append(now)
        return message

    def _send_message(self, p: Json) -> Json:
        text = _render(str(p.get("text", "")), p.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._send(p, text=text)

    def _send_document(self, p: Json) -> Json:
        document = p.get("document")
        if isinstance(document, str) and document in self.files:
            file_id, upload = document, self.files[document]
        elif isinstance(document, FakeFile):
            file_id, upload = f"BQACAgFake{len(self.files) + 1:06d}", document
            self.files[file_id] = upload
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        fields: Json = {"document": {"file_id": file_id, "file_unique_id": f"U{file_id[-6:]}",
                                     "file_name": upload.filename,
                                     "mime_type": mimetypes.guess_type(upload.filename)[0] or upload.content_type,
                                     "file_size": len(upload.data)}}
        if p.get("caption"):
            fields["caption"] = _render(p["caption"], p.get("parse_mode"))
        return self._send(p, **fields)

    def _edit(self, p: Json, changes: Json) -> Json:
        key = (p.get("chat_id"), p.get("message_id"))
        current = self._messages.get(key)
        if current is None or key in self._deleted or current["from"] != self.bot_user:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = p.get("reply_markup")
        _check_markup(markup)
        edited = {k: v for k, v in current.items() if k not in ("reply_markup", "edit_date")} | changes
        if _inline(markup):
            edited["reply_markup"] = markup
        if edited == {k: v for k, v in current.items() if k != "edit_date"}:
            raise ApiError(400, NOT_MODIFIED)
        edited["edit_date"] = int(time.time())
        self._messages[key], self._markups[key] = edited, markup
        return edited

    def _edit_text(self, p: Json) -> Json:
        text = _render(str(p.get("text", "")), p.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return self._edit(p, {"text": text})

    def _delete_message(self, p: Json) -> bool:
        key = (p.get("chat_id"), p.get("message_id"))
        if key not in self._messages or key in self._deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        self._deleted.add(key)
        return True

    def _answer_query(self, p: Json) -> bool:
        query_id = str(p.get("callback_query_id"))
        if query_id not in self._open_queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self._open_queries.discard(query_id)
        self.callback_answers[query_id] = p
        return True

    @staticmethod
    def _commands_key(p: Json) -> tuple[str, str]:
        return json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True), p.get("language_code", "")

    def _set_commands(self, p: Json) -> bool:
        self._commands[self._commands_key(p)] = list(p.get("commands") or [])
        return True

    def _get_commands(self, p: Json) -> list[Json]:
        return self._commands.get(self._commands_key(p), [])

    def _delete_commands(self, p: Json) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    # ---- simulated users -------------------------------------------------------------------
    def _enqueue(self, update: Json, forced: bool = False) -> Json:
        if self.webhook:
            self._spawn(self._deliver(update))
        else:
            self._queue.append(_Queued(update, forced))
            self._updates.notify()
        self._changed.notify()
        return copy.deepcopy(update)  # the caller may mutate its copy freely

    @staticmethod
    def _user(user_id: int, first_name: str, username: str | None) -> Json:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"} | (
            {"username": username} if username else {})

    def user_sends(self, user_id: int, message_extra: Json | None = None, *, kind: str = "message",
                   first_name: str = "Sam", username: str | None = None) -> Json:
        """Enqueue any user message: sticker, photo, voice, a group message (pass ``chat``) or,
        with kind="edited_message", an edit of ``message_id`` (default: the user's last message)."""
        user, extra = self._user(user_id, first_name, username), dict(message_extra or {})
        chat: Json = extra.pop("chat", None) or {"id": user_id, "type": "private", "first_name": first_name} | (
            {"username": username} if username else {})
        chat_id = chat["id"]
        self._chats[chat_id] = chat
        if kind == "edited_message":
            mine = [mid for mid, from_bot in self._log[chat_id] if not from_bot]
            message_id = extra.pop("message_id", mine[-1] if mine else self._last_id[chat_id])
            original = self._messages.get((chat_id, message_id), {})
            message = {"date": int(time.time())} | original | {"message_id": message_id, "from": user,
                                                             "chat": chat, "edit_date": int(time.time())}
        else:
            message = self._new_message(chat_id, user)
            self._log[chat_id].append((message["message_id"], False))
        message |= extra
        self._messages[(chat_id, message["message_id"])] = message
        return self._enqueue({"update_id": next(self._update_ids), kind: message})

    def user_sends_text(self, user_id: int, text: str, first_name: str = "Sam",
                        username: str | None = None) -> Json:
        """Enqueue a private text message (with a bot_command entity for /commands, as Telegram adds)."""
        extra: Json = {"text": text}
        if text.startswith("/"):
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self.user_sends(user_id, extra, first_name=first_name, username=username)

    def user_presses(self, user_id: int, message: Json | int, callback_data: str, *,
                     first_name: str = "Sam", username: str | None = None, check: bool = True) -> Json:
        """Enqueue a callback_query for a button on a bot message (current state, even if old).
        ``check`` refuses data that is not on the message's keyboard, as real clients can't send it."""
        message_id = message if isinstance(message, int) else message["message_id"]
        chat_id = user_id if isinstance(message, int) else message["chat"]["id"]
        current = self._messages.get((chat_id, message_id))
        if current is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        buttons = [b.get("callback_data") for row in current.get("reply_markup", {}).get("inline_keyboard", [])
                   for b in row]
        if check and callback_data not in buttons:
            raise ValueError(f"{callback_data!r} is not a button on message {message_id}: {buttons}")
        query_id = str(next(self._query_ids))
        self._open_queries.add(query_id)
        query = {"id": query_id, "from": self._user(user_id, first_name, username),
                 "message": copy.deepcopy(current), "chat_instance": str(7_000_000_000_000 + abs(hash(chat_id))),
                 "data": callback_data}
        return self._enqueue({"update_id": next(self._update_ids), "callback_query": query})

    def user_clicks(self, user_id: int, message: Json | int, button_text: str, **kwargs: Any) -> Json:
        """Press an inline button by its visible label (what a scripted respondent 'sees')."""
        chat_id = user_id if isinstance(message, int) else message["chat"]["id"]
        message_id = message if isinstance(message, int) else message["message_id"]
        rows = self._messages[(chat_id, message_id)].get("reply_markup", {}).get("inline_keyboard", [])
        data = next((b["callback_data"] for row in rows for b in row if b["text"] == button_text), None)
        if data is None:
            raise ValueError(f"no button {button_text!r} on message {message_id}")
        return self.user_presses(user_id, message, data, **kwargs)

    def redeliver(self, update: Json) -> Json:
        """Enqueue the very same update (same update_id) again, as Telegram does after a timeout."""
        if "callback_query" in update:  # Telegram re-sends because it was not handled: still answerable
            self._open_queries.add(update["callback_query"]["id"])
        return self._enqueue(copy.deepcopy(update), forced=True)

    # ---- faults ----------------------------------------------------------------------------
    def fail_next(self, method: str, error_code: int = 429, retry_after: int | None = None, *,
                  times: int = 1, description: str | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (429 carries retry_after)."""
        if error_code == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        params = {"retry_after": retry_after} if retry_after is not None else None
        error = ApiError(error_code, description or _DESCRIPTIONS.get(error_code, "Error"), params)
        self._faults[method.lower()].extend([error] * times)

    def hold_sends(self, chat_id: ChatId) -> None:
        """Leave every sendMessage to this chat unanswered, as a network gone quiet would, until `cut_sends` or
        `resume_sends`: a test can then stop the bot at a known moment, a question on its way but not delivered."""
        self._quiet[chat_id] = "hold"

    def cut_sends(self, chat_id: ChatId) -> None:
        """Drop the connection of every held and later sendMessage to this chat, sending none of them."""
        self._quiet[chat_id] = "cut"
        self._changed.notify()

    def resume_sends(self, chat_id: ChatId) -> None:
        self._quiet.pop(chat_id, None)
        self._changed.notify()

    def held_for(self, chat_id: ChatId) -> list[Call]:
        return [call for call in self.held if call.params.get("chat_id") == chat_id]

    def block_user(self, chat_id: ChatId) -> None:
        """Make every send/edit to this chat answer 403, as when a user blocks the bot."""
        self._blocked.add(chat_id)

    def unblock_user(self, chat_id: ChatId) -> None:
        self._blocked.discard(chat_id)

    # ---- inspection and waiting ------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def _bot_ids(self, chat_id: ChatId) -> list[int]:
        return [mid for mid, from_bot in self._log.get(chat_id, []) if from_bot]

    def _current(self, chat_id: ChatId, message_id: int) -> Json:
        message = copy.deepcopy(self._messages[(chat_id, message_id)])
        markup = self._markups.get((chat_id, message_id))
        return message | {"reply_markup": markup} if markup else message

    def messages_to(self, chat_id: ChatId, include_deleted: bool = False) -> list[Json]:
        """Bot messages in order, as they look now (edits applied; reply_markup of any kind)."""
        return [self._current(chat_id, mid) for mid in self._bot_ids(chat_id)
                if include_deleted or (chat_id, mid) not in self._deleted]

    def last_message(self, chat_id: ChatId) -> Json | None:
        messages = self.messages_to(chat_id)
        return messages[-1] if messages else None

    def keyboard_for(self, chat_id: ChatId) -> Json | None:
        """The reply keyboard the user currently sees (None once removed)."""
        return self._keyboards.get(chat_id)

    def transcript(self, chat_id: ChatId) -> list[str]:
        """Readable 'user:'/'bot:' lines for assertion messages when a scripted chat goes wrong."""
        lines = []
        for mid, from_bot in self._log.get(chat_id, []):
            message = self._current(chat_id, mid) if from_bot else self._messages[(chat_id, mid)]
            body = message.get("text") or message.get("caption") or "<" + ",".join(
                k for k in message if k not in ("message_id", "from", "chat", "date")) + ">"
            lines.append(f"{'bot' if from_bot else 'user'}: {body}")
        return lines

    def stats(self) -> Json:
        """Counters a benchmark needs (also served at GET /_fake/state)."""
        return {"calls": Counter(call.method for call in self.calls), "throttled": self.throttled,
                "sent_at": {str(chat): times for chat, times in self.sent_at.items()},
                "deliveries": [asdict(d) for d in self.deliveries]}

    async def wait_until(self, condition: Callable[[], Any], timeout: float = 5.0,
                         what: str | Callable[[], str] = "") -> Any:
        """Wait, woken by state changes rather than sleeping, until condition() is truthy; return it."""
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            if self._closing or time.monotonic() >= deadline:
                recent = [(c.method, c.status) for c in self.calls[-8:]]
                described = what() if callable(what) else what or repr(condition)
                raise TimeoutError(f"timed out after {timeout}s waiting for {described}; recent calls: {recent}")
            await self._changed.wait(deadline - time.monotonic())
        return value

    async def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 5.0, since: int = 0) -> Call:
        """First recorded call (from index ``since``; held long polls included) matching predicate."""
        return await self.wait_until(lambda: next((c for c in self.calls[since:] if predicate(c)), None),
                                     timeout, what=f"a call matching {predicate}")

    async def wait_for_message(self, chat_id: ChatId, count: int = 1, timeout: float = 5.0) -> list[Json]:
        """Wait until the bot has sent ``count`` messages to the chat; return messages_to(chat_id)."""
        await self.wait_until(lambda: len(self._bot_ids(chat_id)) >= count, timeout,
                              what=lambda: f"{count} bot messages to {chat_id}; chat: {self.transcript(chat_id)}")
        return self.messages_to(chat_id)

    async def wait_for_text(self, chat_id: ChatId, fragment: str, timeout: float = 5.0) -> Json:
        """The newest bot message whose current text contains ``fragment`` (sent or edited in place)."""
        def find() -> Json | None:
            hits = [m for m in self.messages_to(chat_id) if fragment in (m.get("text") or m.get("caption") or "")]
            return hits[-1] if hits else None

        return await self.wait_until(find, timeout, what=lambda: f"{fragment!r} in {self.transcript(chat_id)}")

    async def next_message(self, chat_id: ChatId, timeout: float = 5.0) -> Json:
        """The next bot message to the chat after the last one consumed here (current state)."""
        cursor = self._cursor[chat_id]
        await self.wait_until(lambda: len(self._bot_ids(chat_id)) > cursor, timeout,
                              what=lambda: f"bot message #{cursor + 1} to {chat_id}; chat: {self.transcript(chat_id)}")
        self._cursor[chat_id] = cursor + 1
        return self._current(chat_id, self._bot_ids(chat_id)[cursor])


class FakeThread:
    """Handle for a FakeTelegram served from a background thread."""

    def __init__(self, fake: FakeTelegram, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.fake, self._loop, self._thread = fake, loop, thread

    @property
    def base_url(self) -> str:
        return self.fake.base_url

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` (sync or async) on the fake's loop: its state is not thread-safe."""
        async def run() -> Any:
            result = fn(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def stop(self) -> None:
        self.call(self.fake.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    fake = FakeTelegram(enforce_limits=args.enforce_limits, global_per_second=args.global_per_second,
                        per_chat_per_second=args.per_chat_per_second)
    await fake.start(args.host, args.port)
    print(fake.base_url, flush=True)
    try:
        await stop.wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Telegram Bot API until killed.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument("--global-per-second", type=int, default=30)
    parser.add_argument("--per-chat-per-second", type=float, default=1.0)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
