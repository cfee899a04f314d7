"""The console's Audit section over real HTTP (issue 22): the chain's status as `surveybot audit verify` reports it,
the latest records newest first with paging, and a chain changed behind the bot's back shown as a problem. On SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.services.audit import verify
from bot.services.roles import Role

from .conftest import Clock
from .consolekit import Browser, RunningConsole, running_console

TODAY = Clock().now.date()  # the injected clock's day (tests/conftest.py), never the calendar's
YESTERDAY = TODAY - timedelta(days=1)


def long(day: date) -> str:
    """A day as the page shows it: the day, the month in full and the year."""
    return f"{day.day} {day:%B %Y}"

WHO = "console:scrutineer-q7x"
ROW = re.compile(r'<td class="number">([0-9]+)</td>\s*<td>([^<]+)</td>\s*<td class="audit-text">([^<]+)</td>')


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[RunningConsole]:
    async with running_console(tmp_path / "data", database_url, clock) as started:
        yield started


@pytest.fixture
async def scrutineer(site: RunningConsole) -> AsyncIterator[Browser]:
    browser = await site.signed_in(WHO, Role.SCRUTINEER)
    yield browser
    await browser.close()


def rows(page: str) -> list[tuple[int, str, str]]:
    return [(int(seq), on, action) for seq, on, action in ROW.findall(page)]


def records(site: RunningConsole) -> int:
    with site.app.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM audit_record")).scalar_one())


async def test_the_chain_is_verified_and_the_latest_records_are_shown_newest_first(
        site: RunningConsole, scrutineer: Browser) -> None:
    page = await scrutineer.get("/admin/audit")
    verdict = verify(site.app.store, site.app.keys)
    assert verdict.ok and "Verified." in page and verdict.summary() in page
    shown = rows(page)
    total = records(site)  # the surveys found at start (`survey.new`), then the sign-in
    assert [action for _, _, action in shown][:3] == ["console.signin", "console.link", "role.granted"]
    assert {action for _, _, action in shown[3:]} == {"survey.new"}
    assert [seq for seq, _, _ in shown] == list(range(total, 0, -1)) and all(on == long(TODAY) for _, on, _ in shown)
    assert 'role:</span> <span class="audit-text">scrutineer<' in page
    assert "q7x" not in page  # the person is a keyed fingerprint in every subject, never their name
    assert "Older records" not in page and "Latest records" in page


async def test_fifty_a_page_and_older_pages_by_record_number(site: RunningConsole, scrutineer: Browser) -> None:
    with site.app.store.unit() as uow:
        for n in range(120):
            uow.audit("test.filler", {"n": n, "ok": n % 2 == 0}, YESTERDAY)
    total = records(site)
    assert total > 120
    seen: list[int] = []
    page = await scrutineer.get("/admin/audit")
    while True:
        seen.extend(seq for seq, _, _ in rows(page))
        older = re.search(r'href="/admin/audit\?before=([0-9]+)">Older records', page)
        if older is None:
            break
        assert len(rows(page)) == 50 and int(older[1]) == seen[-1]
        page = await scrutineer.get(f"/admin/audit?before={older[1]}")
        assert "Verified." in page and f"Records before number {older[1]}" in page
        assert '<a href="/admin/audit">Latest records</a>' in page
    assert seen == list(range(total, 0, -1))  # every record once, newest first
    assert 'ok:</span> <span class="audit-text">yes<' in page and long(YESTERDAY) in page
    await scrutineer.get("/admin/audit?before=1")
    assert "There are no records before number 1." in scrutineer.last
    for bad in ("abc", "0", "-5", "1e3", "9" * 30):
        await scrutineer.get(f"/admin/audit?before={bad}", status=400)


async def test_a_record_changed_in_the_database_shows_the_problem(site: RunningConsole, scrutineer: Browser) -> None:
    with site.app.store.unit() as uow:
        uow.audit("contacts.imported", {"rows": 4, "new": 4}, TODAY)
    assert "Verified." in await scrutineer.get("/admin/audit")
    with site.app.engine.begin() as connection:  # someone with the database edits one record directly
        connection.execute(text("UPDATE audit_record SET subject = :subject WHERE action = 'contacts.imported'"),
                           {"subject": '{"rows": 400, "new": 400}'})
    page = await scrutineer.get("/admin/audit")
    assert "Verified." not in page and "The check found 1 problem." in page
    seq = records(site)
    assert f"audit check FAILED: audit record {seq} (contacts.imported) does not match its hash: it was edited" in page
    assert 'rows:</span> <span class="audit-text">400<' in page  # the record as it now stands

    with site.app.engine.begin() as connection:  # and another made unreadable, with markup in it
        connection.execute(text("UPDATE audit_record SET subject = :subject WHERE seq = 2"),
                           {"subject": '<script>alert(1)</script>'})
    page = await scrutineer.get("/admin/audit")
    assert "The check found 3 problems." in page
    assert "audit record 2 (survey.new) has an unreadable subject: it was edited" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_the_audit_page_needs_a_role_that_reads_results(site: RunningConsole) -> None:
    lead = await site.signed_in("console:lee", Role.SAFEGUARDING_LEAD)
    try:
        await lead.get("/admin/audit", status=403)
    finally:
        await lead.close()
    with site.app.engine.connect() as connection:
        subjects = [json.loads(row[0]) for row in connection.execute(
            text("SELECT subject FROM audit_record WHERE action = 'console.refused'"))]
    assert [(s["page"], s["needs"]) for s in subjects] == [("/admin/audit", "read results")]
