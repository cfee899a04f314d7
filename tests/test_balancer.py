"""The round-robin balancer the scale-out test and benchmark put in front of several bot processes
(tests/fakes/balancer.py): each update goes to the next live backend, a backend that refuses connections is skipped,
and the counts it reports are what it forwarded. The scale-out benchmark's per-process figures rest on those counts.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from .fakes.balancer import WEBHOOK_PATH, LoadBalancer, Upstream
from .processes import free_port

REPO = Path(__file__).resolve().parent.parent


async def backend(name: str, seen: list[str]) -> tuple[web.AppRunner, str]:
    """A stand-in bot: answers each webhook post with its own name, and notes the body it was given."""

    async def webhook(request: web.Request) -> web.Response:
        seen.append(f"{name}:{(await request.read()).decode()}")
        return web.json_response({"from": name})

    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: str) -> tuple[int, str]:
    async with http.post(url, data=body) as response:
        return response.status, await response.text()


async def test_round_robin_skips_a_backend_that_refuses(http: aiohttp.ClientSession) -> None:
    seen: list[str] = []
    first, first_url = await backend("a", seen)
    second, second_url = await backend("b", seen)
    dead = Upstream("dead", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    balancer = LoadBalancer([Upstream("a", first_url), dead, Upstream("b", second_url)])
    await balancer.start()
    try:
        replies = [await post(http, balancer.webhook_url, f"update {i}") for i in range(6)]
        assert all(status == 200 for status, _ in replies)
        # a, dead (so b), b, a, dead (so b), b... every update reaches exactly one live backend, in turn
        assert sorted(s.split(":")[1] for s in seen) == [f"update {i}" for i in range(6)]
        assert balancer.forwarded == {"a": 2, "b": 4}
        async with http.get(f"{balancer.base_url}/_balancer/forwarded") as response:
            assert await response.json() == {"a": 2, "b": 4}
        await first.cleanup()
        await second.cleanup()
        status, text = await post(http, balancer.webhook_url, "update 6")
        assert status == 502 and "no bot process" in text
    finally:
        await balancer.close()


async def test_as_a_process_it_spreads_updates_evenly(http: aiohttp.ClientSession) -> None:
    seen: list[str] = []
    runners = [await backend(name, seen) for name in ("a", "b", "c")]
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.balancer", "--port", "0",
                                *(url for _, url in runners)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base = (await asyncio.to_thread(process.stdout.readline)).strip()
        for i in range(9):
            assert (await post(http, f"{base}{WEBHOOK_PATH}", f"u{i}"))[0] == 200
        async with http.get(f"{base}/_balancer/forwarded") as response:
            assert await response.json() == {"bot1": 3, "bot2": 3, "bot3": 3}
        assert [s.split(":")[0] for s in seen] == ["a", "b", "c"] * 3
    finally:
        process.terminate()
        process.wait(10)
        for runner, _ in runners:
            await runner.cleanup()
