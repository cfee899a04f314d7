"""The web console under test: the bot as `surveybot run` wires it, on a free port, on SQLite or PostgreSQL, with a
clock the test moves; and a signed-in browser's cookie jar (aiohttp) that reads each page's CSRF token before it posts.
Shared by the console's test files (tests/test_console_*.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import App, build, make_channels, serve, web_console
from bot.config import Settings
from bot.console.site import Console
from bot.domain.address import Address
from bot.server import HttpServer
from bot.services.console_access import ConsoleAccess
from bot.services.roles import Role, Roles, parse_who

PEPPER = "console-test-pepper-0123456789abcdefghijklmnop"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class RunningConsole:
    app: App
    console: Console
    base: str
    clock: Callable[[], datetime]

    @property
    def access(self) -> ConsoleAccess:
        return self.console.access

    def grant(self, role: Role, who: str) -> Address:
        address = parse_who(who)
        Roles(self.app.store, self.app.keys, self.app.service.clock).grant(role, address)
        return address

    def link(self, who: str) -> str:
        """A fresh sign-in token for someone who holds a role (as `surveybot console link WHO` makes)."""
        return self.access.link_for(parse_who(who), "test")

    async def signed_in(self, who: str, *roles: Role) -> Browser:
        """A browser signed in as `who`, who is granted `roles` first."""
        for role in roles:
            self.grant(role, who)
        browser = Browser(self.base, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
        async with browser.session.post(f"{self.base}/admin/signin", data={"token": self.link(who)},
                                        allow_redirects=False) as response:
            assert response.status == 303, await response.text()
        return browser


@dataclass
class Browser:
    """A signed-in person's cookie jar; `post` reads the CSRF token from the page the form is on, as a browser does."""

    base: str
    session: aiohttp.ClientSession
    last: str = field(default="")

    async def get(self, path: str, status: int = 200) -> str:
        async with self.session.get(f"{self.base}{path}", allow_redirects=False) as response:
            self.last = await response.text()
            assert response.status == status, (response.status, self.last[:500])
            return self.last

    def csrf(self, html: str | None = None) -> str:
        found = CSRF.search(html if html is not None else self.last)
        assert found is not None, "the page has no form token"
        return found[1]

    async def post(self, path: str, fields: dict[str, Any] | aiohttp.FormData, *, on: str | None = None,
                   status: int = 303) -> aiohttp.ClientResponse:
        """Post a form from the page `on` (default: the page last fetched); returns the response, body read."""
        page = await self.get(on) if on is not None else self.last
        token = self.csrf(page)
        if isinstance(fields, aiohttp.FormData):
            fields.add_field("csrf", token)
            data: Any = fields
        else:
            data = {"csrf": token, **fields}
        async with self.session.post(f"{self.base}{path}", data=data, allow_redirects=False) as response:
            self.last = await response.text()
            assert response.status == status, (response.status, self.last[:800])
            return response

    async def close(self) -> None:
        await self.session.close()


@asynccontextmanager
async def running_console(data: Path, database_url: str, clock: Callable[[], datetime] | None = None,
                          **settings: str) -> AsyncIterator[RunningConsole]:
    """The bot with no chat tokens (the web chat and the console), stopped cleanly afterwards."""
    env = {"SURVEYBOT_DATA_DIR": str(data), "SURVEYBOT_PEPPER": PEPPER, "DATABASE_URL": database_url,
           **settings}
    app = await asyncio.to_thread(build, Settings.from_env(env), clock)
    channels = make_channels(app)
    server = HttpServer("127.0.0.1", 0)
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(serve(app, channels, stop, server, ready=lambda _: ready.set()))
    try:
        await asyncio.wait_for(ready.wait(), 15)
        yield RunningConsole(app, web_console(app), server.base_url, app.service.clock)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        app.engine.dispose()


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, through Playwright, launched as tests/test_web_browser.py launches it. Every
    console browser test runs axe-core too, so a machine without Chromium, Playwright or axe-core skips them, saying
    which (in CI, where .ci/run installs all three, they fail instead)."""
    from .test_web_browser import AXE, CHROMIUM, FLAGS, need

    need(CHROMIUM.exists(), "Chromium is not installed at /usr/bin/chromium (sudo apt-get install chromium)")
    need(AXE.exists(), "axe-core is not installed (npm ci --prefix tests/web)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        need(False, "Playwright for Python is not installed (pip install -e '.[test]')")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()
