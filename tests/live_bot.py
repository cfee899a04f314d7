"""The whole bot running on a background thread, for synchronous tests (hypothesis) that talk to it over real HTTP.

`surveybot run` as bot.app wires it (build, make_channels, serve) with all three channels on one HTTP server: the
Telegram webhook (against the fake Bot API), Slack in HTTP mode (against the fake Web API, every request signed) and
the web chat. Its event loop runs on its own thread, so a hypothesis test can post thousands of requests with plain
urllib and look at the fakes and the database between them.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text

from bot.app import App, build, make_channels, serve
from bot.channels.pacing import Pacer
from bot.channels.web import Limits, WebChannel
from bot.config import Settings
from bot.server import HttpServer

from .fakes.slack_api import FakeSlack, SlackSigner
from .fakes.telegram_api import FakeTelegram
from .test_telegram import free_port

T = TypeVar("T")


@asynccontextmanager
async def serving(app: App, channels: list[Any]) -> AsyncIterator[HttpServer]:
    """`serve` in this event loop on a free port, as `surveybot run` would, for an async test: the server once it
    listens; stopped cleanly, and the database let go, when the block ends."""
    server = HttpServer("127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, channels, stop, server))
    try:
        async with asyncio.timeout(10):
            while server._runner is None or server.port == 0:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield server
    finally:
        stop.set()
        await task
        app.engine.dispose()


UNHURRIED = Limits(person_rate=10**6, person_burst=10**6, client_rate=10**6, client_burst=10**6)
SIGNING_SECRET = "live-slack-signing-secret-5f0e1d2c"
WEBHOOK_SECRET = "live-telegram-webhook-secret-9a8b7c6d5e4f"
SLACK_TOKEN = "xoxb-live-slack-bot-token-1234567890"
PEPPER = "live-pepper-that-is-long-enough-0123456789-abcdefghij"


class LiveBot:
    """Started by `live_bot()`; `run` runs a coroutine on the bot's loop, `post` sends an HTTP request to it."""

    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self.data, self.extra = data, env
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._thread, name="live-bot", daemon=True)
        self.app: App
        self.telegram: FakeTelegram
        self.slack: FakeSlack
        self.base = ""
        self._stop: asyncio.Event

    # --- lifecycle -----------------------------------------------------------------------------------------------
    def _thread(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to the test thread by start()
            self.failed = exc
            self.ready.set()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with FakeTelegram() as telegram, FakeSlack() as slack:
            self.telegram, self.slack = telegram, slack
            server = HttpServer("127.0.0.1", free_port())  # known before it starts, for the webhook URL
            self.base = server.base_url
            env = {"SURVEYBOT_DATA_DIR": str(self.data), "SURVEYBOT_PEPPER": PEPPER,
                   "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.base_url,
                   "TELEGRAM_WEBHOOK_URL": f"{self.base}/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                   "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_API_URL": slack.api_url,
                   "SLACK_SIGNING_SECRET": SIGNING_SECRET, **self.extra}
            self.app = await asyncio.to_thread(build, Settings.from_env(env))
            channels = make_channels(self.app)
            for channel in channels:
                if isinstance(channel, WebChannel):
                    channel.set_limits(UNHURRIED)
                elif hasattr(channel, "pacer"):
                    channel.pacer = Pacer(overall=10**6, per_chat=10**6)  # type: ignore[attr-defined]
            ready = asyncio.Event()
            task = asyncio.create_task(serve(self.app, channels, self._stop, server, ready=lambda _: ready.set()))
            waiting = asyncio.create_task(ready.wait())
            await asyncio.wait({task, waiting}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()
            self.ready.set()
            try:
                await task
            finally:
                self.app.engine.dispose()

    def start(self) -> LiveBot:
        self.thread.start()
        if not self.ready.wait(30) or self.failed is not None:
            raise RuntimeError("the live bot did not start") from self.failed
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(20)

    # --- talking to it -------------------------------------------------------------------------------------------
    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 20) -> T:
        """Run a coroutine (made on the bot's loop) there, and wait for its result."""

        async def call() -> T:
            return await make()

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), self.loop)
        return future.result(timeout)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None,
             method: str = "POST") -> tuple[int, str, dict[str, str]]:
        """One HTTP request to the bot: (status, body text, headers), whatever the status."""
        request = urllib.request.Request(self.base + path, data=body if method == "POST" else None,
                                         headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)

    def post_slack(self, body: str, content_type: str, signer: SlackSigner | None = None,
                   **extra: str) -> tuple[int, str]:
        signed = (signer or SlackSigner(SIGNING_SECRET)).headers(body)
        status, reply, _ = self.post("/slack/events", body.encode(), {"Content-Type": content_type, **signed,
                                                                      **extra})
        return status, reply

    def post_telegram(self, update: dict[str, Any], secret: str | None = WEBHOOK_SECRET) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return self.post("/telegram/webhook", json.dumps(update).encode(), headers)[0]

    def scalar(self, sql: str) -> Any:
        with self.app.engine.connect() as connection:
            return connection.execute(text(sql)).scalar_one()

    def rows(self, sql: str) -> list[Any]:
        with self.app.engine.connect() as connection:
            return list(connection.execute(text(sql)))


@contextmanager
def live_bot(data: Path, **env: str) -> Iterator[LiveBot]:
    bot = LiveBot(data, env).start()
    try:
        yield bot
    finally:
        bot.stop()
