"""The bot's one HTTP server (aiohttp): Telegram's webhook, Slack's request URL, the web chat, /healthz and /metrics.

/healthz answers 200 when every named check passes (the database answers, each chat channel is connected) and 503
otherwise, for a load balancer, compose or systemd to act on; it also says whether this process is the one that
schedules campaigns. /metrics is Prometheus's text format (bot.metrics). Every request's duration is measured by the
pattern of its route (/s/{code}), never its actual path, so no code or id reaches the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from errno import EADDRINUSE

from aiohttp import web

from bot.config import SettingsError
from bot.metrics import CONTENT_TYPE, METRICS

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_BODY = 1024 * 1024  # no platform update or form we accept is larger
CHECK_SECONDS = 5.0  # a check that takes longer (a database that does not answer) has failed
# What every page this server draws (the web chat, an email's link pages, the console) sends besides its own
# Content-Security-Policy: no sniffing, no referrer, never in a frame, no powerful browser features.
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class HttpServer:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[_timed])
        self.app.router.add_get("/healthz", self._health)
        self.app.router.add_get("/metrics", self._metrics)
        self.checks: dict[str, Callable[[], bool]] = {}
        self.facts: dict[str, Callable[[], object]] = {}
        self._runner: web.AppRunner | None = None

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)

    def add_check(self, name: str, check: Callable[[], bool]) -> None:
        """A named health check shown on /healthz (e.g. the database, a channel's connection). Checks run on a
        thread, so one that blocks (a database that does not answer) cannot stall the bot."""
        self.checks[name] = check

    def add_fact(self, name: str, fact: Callable[[], object]) -> None:
        """Something /healthz reports without judging it (e.g. whether this process schedules campaigns)."""
        self.facts[name] = fact

    async def _health(self, _request: web.Request) -> web.Response:
        async def run(check: Callable[[], bool]) -> bool:
            try:
                return bool(await asyncio.wait_for(asyncio.to_thread(check), CHECK_SECONDS))
            except Exception:  # a failing or hanging check is reported, not raised
                return False

        names = list(self.checks)
        outcomes = await asyncio.gather(*(run(self.checks[name]) for name in names))
        results = dict(zip(names, outcomes, strict=True))
        healthy = all(results.values())
        body: dict[str, object] = {"ok": healthy, "checks": results}
        body.update({name: fact() for name, fact in self.facts.items()})
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=METRICS.exposition(), headers={"Content-Type": CONTENT_TYPE})

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)  # access logs would carry request paths and ids
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:  # the port is taken, or the address is not this machine's
            hint = ("is surveybot already running? Set SURVEYBOT_PORT to use another port" if exc.errno == EADDRINUSE
                    else "check SURVEYBOT_HOST and SURVEYBOT_PORT")
            raise SettingsError(f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc}): {hint}") from None
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
        """This server's own address, as configured (never a request's Host header); a wildcard host is reached
        on this machine as 127.0.0.1."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"


@web.middleware
async def _timed(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        if route not in ("/healthz", "/metrics"):
            METRICS.http_seconds.labels(route).observe(time.perf_counter() - started)
