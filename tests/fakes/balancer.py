"""A round-robin load balancer on 127.0.0.1, standing in for the reverse proxy in front of several bot processes.

Each webhook POST goes to the next live backend; a backend that refuses the connection is skipped, as a proxy's health
checks would skip it. It can also send one update to two backends at once, as Telegram does when it redelivers an
update whose first delivery looked lost.

The scale-out test runs it in its own event loop (tests/test_scale_out.py). The scale-out benchmark runs it in a
process of its own, so it can be pinned to a CPU and its CPU time read apart from the bots' (bench/scale_out.py):
``python -m tests.fakes.balancer --port 0 http://127.0.0.1:8001 http://127.0.0.1:8002`` prints its base URL, and
``GET /_balancer/forwarded`` answers how many requests went to each backend.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from aiohttp import web

WEBHOOK_PATH = "/telegram/webhook"


class Backend(Protocol):
    """What the balancer needs of a bot process (tests.processes.BotProcess is one)."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def alive(self) -> bool: ...


@dataclass(frozen=True)
class Upstream:
    """A backend known only by its address: another process that the balancer cannot see die, only refuse."""

    name: str
    url: str
    alive: bool = True


@dataclass
class LoadBalancer:
    """Round robin over the backends' webhook, skipping those that refuse connections."""

    backends: list[Backend]
    duplicate_every: int = 0  # every Nth update also goes to a second backend at the same moment
    port: int = 0  # 0: any free port, known once started
    forwarded: dict[str, int] = field(default_factory=dict)
    duplicated: int = 0
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PATH}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, self._forward)
        app.router.add_get("/_balancer/forwarded", self._counts)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = int(self._runner.addresses[0][1])
        # no limit on connections: a pool too small would open and close them all the time, at the bots' expense
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                              connector=aiohttp.TCPConnector(limit=0))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _counts(self, _request: web.Request) -> web.Response:
        return web.json_response(self.forwarded)

    async def _send(self, backend: Backend, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
        assert self._session is not None
        async with self._session.post(f"{backend.url}{WEBHOOK_PATH}", data=body, headers=headers) as response:
            self.forwarded[backend.name] = self.forwarded.get(backend.name, 0) + 1
            return response.status, await response.read(), response.headers.get("Content-Type", "")

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")}
        turn = next(self._turn)
        live = [b for b in self.backends if b.alive]
        order = [live[(turn + i) % len(live)] for i in range(len(live))] if live else []
        if self.duplicate_every and turn % self.duplicate_every == self.duplicate_every - 1 and len(order) > 1:
            self.duplicated += 1
            results = await asyncio.gather(*(self._send(b, body, headers) for b in order[:2]),
                                           return_exceptions=True)
            good = [r for r in results if not isinstance(r, BaseException)]
            if good:
                # a proxy passes on one answer: the successful one that did the work (a webhook reply may carry a
                # method for Telegram to run), not the copy that recognised a duplicate and said nothing
                status, payload, kind = min(good, key=lambda r: (r[0], -len(r[1])))
                return web.Response(status=status, body=payload, headers={"Content-Type": kind} if kind else None)
        for backend in order:
            try:
                status, payload, kind = await self._send(backend, body, headers)
            except aiohttp.ClientConnectionError:
                continue  # a dead process: the next one takes the update, as behind a real proxy
            return web.Response(status=status, body=payload, headers={"Content-Type": kind} if kind else None)
        return web.Response(status=502, text="no bot process is up")


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    upstreams: list[Backend] = [Upstream(f"bot{i + 1}", url.rstrip("/")) for i, url in enumerate(args.backends)]
    balancer = LoadBalancer(upstreams, port=args.port)
    await balancer.start()
    print(balancer.base_url, flush=True)
    try:
        await stop.wait()
    finally:
        await balancer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Balance webhook posts round robin over bot processes until killed.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("backends", nargs="+", help="each bot process's base URL, such as http://127.0.0.1:8001")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
