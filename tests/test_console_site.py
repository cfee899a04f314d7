"""The console's frame over real HTTP: sign-in by a one-time link, sessions, and the checks every request passes
(issue 22, items 1 and 3), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.roles import Role

from .conftest import Clock
from .consolekit import RunningConsole, running_console


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[RunningConsole]:
    async with running_console(tmp_path / "data", database_url, clock) as started:
        yield started


async def test_a_role_holder_signs_in_with_a_link_and_sees_only_their_sections(site: RunningConsole) -> None:
    browser = await site.signed_in("console:sam", Role.SCRUTINEER)
    try:
        home = await browser.get("/admin")
        assert "You are signed in as scrutineer" in home
        assert 'href="/admin/results"' in home and 'href="/admin/audit"' in home
        assert 'href="/admin/contacts"' not in home and 'href="/admin/surveys"' not in home
    finally:
        await browser.close()
