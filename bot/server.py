"""The bot's one HTTP server (aiohttp): Telegram's webhook, Slack's request URL and /healthz all live on it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY = 1024 * 1024  # no platform update or form we accept is larger


class HttpServer:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_get("/healthz", self._health)
        self.checks: dict[str, Callable[[], bool]] = {}
        self._runner: web.AppRunner | None = None

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)

    def add_check(self, name: str, check: Callable[[], bool]) -> None:
        """A named health check shown on /healthz (e.g. the database, a channel's connection)."""
        self.checks[name] = check

    async def _health(self, _request: web.Request) -> web.Response:
        results = {}
        for name, check in self.checks.items():
            try:
                results[name] = bool(check())
            except Exception:  # a failing check is reported, not raised
                results[name] = False
        healthy = all(results.values())
        return web.json_response({"ok": healthy, "checks": results}, status=200 if healthy else 503)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)  # access logs would carry request paths and ids
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # port 0 in tests: find the one chosen
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("HTTP server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"
