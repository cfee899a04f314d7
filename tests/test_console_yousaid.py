"""The console's "You said, we did" section over real HTTP (issue 22): feedback put under a theme, a reply written,
approved by a second person (never by its writer: the service's refusal shown), sent, and the board previewed and
downloaded as the command line writes it; counts suppressed as on the board; every change and refusal audited as
the command line audits it. On SQLite and PostgreSQL, with a look in Chromium (axe, 390x844, keyboard)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import App
from bot.console.site import Refusal
from bot.console.yousaid import item_ids, number
from bot.domain.address import Address
from bot.engine import conversation as engine
from bot.reporting import board as pages
from bot.services.roles import Action, Role
from bot.services.yousaid import YouSaidError
from bot.services.yousaid_chat import make
from storage.models import Campaign

from .conftest import Clock
from .consolekit import Browser, RunningConsole, running_console
from .consolekit import chromium as consolekit_chromium
from .stored import audited
from .test_console_results import axe
from .test_web_browser import ARTIFACTS, AXE, PHONE, need

SAID = ["Cheaper buses to college. Ring me on 07700 900123", "Bus passes cost too much",
        "The buses stop too early at night", "More places to meet friends"]


def feedback(app: App) -> None:
    """Four young people start the you-said round and stop, then each sends a free message: feedback."""
    for n, words in enumerate(SAID):
        who = Address("telegram", "bot", f"10{n}")
        app.service.begin(who, "you-said")
        app.service.handle(who, engine.Stop())
        app.service.feedback(who, words)


def campaign(app: App, clock: Clock) -> None:
    """A campaign for the round, so a reply has a completion list to go to."""
    with app.store.unit() as uow:
        uow.session.add(Campaign(code="ambassadors", survey_id="you-said",
                                 version=app.catalogue.latest("you-said").version, tags='["youth"]',
                                 opens_at=(clock.now - timedelta(days=1)).astimezone(UTC),
                                 closes_at=(clock.now + timedelta(days=7)).astimezone(UTC),
                                 created_on=clock.now.date()))


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with consolekit_chromium() as launched:
        yield launched


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[RunningConsole]:
    async with running_console(tmp_path / "data", database_url, clock) as started:
        await asyncio.to_thread(feedback, started.app)
        yield started



def flat(page: str) -> str:
    return " ".join(page.split())


def item_numbers(page: str) -> dict[str, str]:
    """Each feedback item's checkbox value, by the words shown beside it."""
    found = re.findall(r'name="item" value="(\d+)".*?<br>(.*?)</span>', page, re.S)
    return {words.strip(): value for value, words in found}


async def theme(browser: Browser, name: str, ids: list[str], status: int = 303) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    for value in ids:
        form.add_field("item", value)
    form.add_field("name", name)
    return await browser.post("/admin/yousaid/theme", form, on="/admin/yousaid", status=status)


async def test_theme_reply_approve_by_a_second_person_and_send(site: RunningConsole, clock: Clock) -> None:
    app = site.app
    writer = await site.signed_in("console:alice", Role.ADMIN)
    lead = await site.signed_in("console:lee", Role.YOUTH_LEAD)
    try:
        page = await writer.get("/admin/yousaid")
        items = item_numbers(page)
        assert "Cheaper buses to college. Ring me on [phone]" in items and "07700" not in page  # scrubbed
        buses = [v for words, v in items.items() if "bus" in words.lower()]
        assert len(buses) == 3

        # a theme: none ticked, then the three about buses
        await theme(writer, "Getting around", [], 400)
        assert "Feedback</a>: Tick at least one" in flat(writer.last)
        await theme(writer, "Getting around", buses)
        page = await writer.get("/admin/yousaid?done=themed")
        assert "The feedback is under its theme now." in page and "Getting around" in page
        assert "things said: fewer than 10" in page  # 3 < k = 10 for young people: suppressed as on the board
        assert list(item_numbers(page)) == ["More places to meet friends"]  # only what is still new
        assert "Bus passes cost too much" in await writer.get("/admin/yousaid?all=1")
        (themed,) = audited(app, "yousaid.themed")
        assert themed["items"] == sorted(map(int, buses))
        theme_id = themed["theme"]

        # a reply: mistakes name their field, then it is written and waits for approval
        for fields, label in (({"status": "done", "text": "  "}, "What we did"),
                              ({"status": "maybe", "text": "We did it"}, "Where it is now")):
            await writer.post("/admin/yousaid/reply", {"theme": str(theme_id), **fields}, on="/admin/yousaid",
                              status=400)
            assert f'{label}</a>:' in writer.last and "We did it" * (fields["status"] == "maybe") in writer.last
        await writer.post("/admin/yousaid/reply", {"theme": "99999", "status": "done", "text": "x"},
                          on="/admin/yousaid", status=400)
        assert "There is no theme 99999." in writer.last and "surveybot" not in writer.last.split("<main")[1]
        await writer.post("/admin/yousaid/reply", {"theme": str(theme_id), "status": "in-progress",
                                                   "text": "We are talking to the bus company."},
                          on="/admin/yousaid")
        page = await writer.get("/admin/yousaid?done=replied")
        assert "We are talking to the bus company." in page and "Waiting for approval" in page
        (written,) = audited(app, "yousaid.reply_written")
        reply = str(written["reply"])
        assert f'name="reply" value="{reply}"' not in page  # no send button until it is approved
        await writer.post("/admin/yousaid/send", {"reply": reply}, on="/admin/yousaid", status=400)
        assert "is not approved yet" in writer.last

        # approval: not by an admin without the lead's role, never by the writer, then by the second person
        await writer.get("/admin/yousaid/approve", status=403)
        site.grant(Role.YOUTH_LEAD, "console:alice")  # both roles now: still not her own reply
        approvals = await writer.get("/admin/yousaid/approve")
        assert "We are talking to the bus company." in approvals
        await writer.post("/admin/yousaid/approve", {"reply": reply}, status=403)
        assert "A reply must be approved by someone other than the person who wrote it." in writer.last
        assert {"command": "approve", "reply": int(reply), "reason": "own reply"} in audited(app, "yousaid.refused")
        home = await lead.get("/admin")
        assert 'href="/admin/yousaid/approve"' in home and 'href="/admin/yousaid"' not in home
        await lead.get("/admin/yousaid", status=403)  # theming and writing are the business unit's
        await lead.post("/admin/yousaid/approve", {"reply": reply}, on="/admin/yousaid/approve")
        assert "No replies are waiting for approval." in await lead.get("/admin/yousaid/approve?done=approved")
        assert [a["reply"] for a in audited(app, "yousaid.reply_approved")] == [int(reply)]

        # send: refused while the round has no campaign, then on its way
        await writer.post("/admin/yousaid/send", {"reply": reply}, on="/admin/yousaid", status=400)
        assert "has no campaign" in writer.last
        await asyncio.to_thread(campaign, app, clock)
        await writer.post("/admin/yousaid/send", {"reply": reply}, on="/admin/yousaid")
        page = await writer.get("/admin/yousaid?done=sent")
        assert "The reply is on its way" in page and "On its way" in page
        assert [a["campaign"] for a in audited(app, "yousaid.send_asked")] == ["ambassadors"]
        await writer.post("/admin/yousaid/send", {"reply": reply}, on="/admin/yousaid/approve", status=400)
        assert "has already been sent" in writer.last
        refused = audited(app, "console.refused")
        assert [r["needs"] for r in refused] == [Action.APPROVE_YOUTH_REPLIES.value, Action.WRITE_YOUTH_REPLIES.value]
    finally:
        await writer.close()
        await lead.close()


async def test_the_board_is_previewed_and_downloaded_as_the_command_line_writes_it(site: RunningConsole) -> None:
    app = site.app
    writer = await site.signed_in("console:alice", Role.ADMIN)
    try:
        await theme(writer, "Getting around", list(item_numbers(await writer.get("/admin/yousaid")).values())[:3])
        board = await writer.get("/admin/yousaid/board?survey=you-said&wave=1")
        assert "Getting around" in board and "fewer than 10 things were said" in board
        assert "we are still working on our reply" in board and "Cheaper buses" not in board  # no quotes below k
        for fmt, content_type in (("md", "text/markdown"), ("html", "text/html")):
            response = await writer.post("/admin/yousaid/board", {"format": fmt, "survey": "you-said", "wave": "1"},
                                         status=200)
            assert response.content_type == content_type
            assert response.headers["Content-Disposition"] == (
                f'attachment; filename="you-said-we-did-you-said-wave1.{fmt}"')
            cli, _ = await asyncio.to_thread(pages.page, app, make(app), "you-said", 1, f"board.{fmt}", fmt)
            assert writer.last == cli
            await writer.get("/admin/yousaid/board?survey=you-said&wave=1")
        assert [(b["format"], b["survey"], b["wave"]) for b in audited(app, "yousaid.board")] == [
            ("md", "you-said", 1), ("html", "you-said", 1)]
        await writer.get("/admin/yousaid/board?survey=nope", status=404)
        assert "Wave: type a wave number" in await writer.get("/admin/yousaid?wave=two", status=400)
        await writer.post("/admin/yousaid/board", {"format": "pdf"}, on="/admin/yousaid/board", status=400)
    finally:
        await writer.close()


@given(st.lists(st.one_of(st.text(max_size=12), st.integers(-3, 10**12).map(str)), max_size=6))
def test_any_ticked_items_are_item_numbers_or_one_line_naming_the_field(values: list[str]) -> None:
    try:
        ids = item_ids(values)
    except YouSaidError as error:
        assert str(error).startswith("ITEMS: ")
        return
    assert ids and ids == sorted(set(ids)) and all(i >= 1 for i in ids)


@given(st.one_of(st.none(), st.integers(), st.text(max_size=15)))
def test_any_number_field_is_a_whole_number_or_refused(value: object) -> None:
    try:
        found = number(value, "Reply")
    except Refusal as refusal:
        assert refusal.status == 400 and refusal.message.startswith("Reply: ")
        return
    assert isinstance(value, str) and found >= 1 and str(found) == value.strip().lstrip("0")


async def tab_until(page: Any, name: str, limit: int = 60) -> None:
    """Press Tab until the form field called `name` has the focus; fails if the keyboard never reaches it."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached the field “{name}”")


async def test_peoples_words_are_shown_as_text_never_as_markup(site: RunningConsole) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    writer = await site.signed_in("console:alice", Role.ADMIN, Role.YOUTH_LEAD)
    try:
        await theme(writer, hostile, list(item_numbers(await writer.get("/admin/yousaid")).values())[:1])
        themed = audited(site.app, "yousaid.themed")[0]["theme"]
        await writer.post("/admin/yousaid/reply", {"theme": str(themed), "status": "done", "text": hostile},
                          on="/admin/yousaid")
        for path in ("/admin/yousaid", "/admin/yousaid/approve", "/admin/yousaid/board"):
            page = await writer.get(path)
            assert "<script>" not in page and "<img" not in page and "&lt;script&gt;alert(1)" in page, path
    finally:
        await writer.close()


async def test_the_pages_pass_axe_at_phone_width_and_work_by_keyboard(chromium: Any, site: RunningConsole) -> None:
    need(AXE.exists(), "axe-core is not installed (npm install --prefix tests/web)")
    writer = await site.signed_in("console:alice", Role.ADMIN, Role.YOUTH_LEAD)
    try:
        ids = list(item_numbers(await writer.get("/admin/yousaid")).values())
        await theme(writer, "Getting around", ids[:2])
        themed = audited(site.app, "yousaid.themed")[0]["theme"]
        await writer.post("/admin/yousaid/reply", {"theme": str(themed), "status": "planned", "text": "A new bus."},
                          on="/admin/yousaid")
        cookies = [{"name": c.key, "value": c.value, "url": site.base} for c in writer.session.cookie_jar]
    finally:
        await writer.close()
    context = await chromium.new_context(viewport=PHONE, bypass_csp=True)  # only so axe-core can be injected
    await context.add_cookies(cookies)
    context.set_default_timeout(20_000)
    try:
        page = await context.new_page()
        for path in ("/admin/yousaid", "/admin/yousaid/approve", "/admin/yousaid/board"):
            await page.goto(f"{site.base}{path}")
            assert await axe(page) == [], path
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide at phone width"
        # by keyboard: tick the last new item, name a theme and send the form
        await page.goto(f"{site.base}/admin/yousaid")
        await tab_until(page, "item")
        await page.keyboard.press("Space")
        await tab_until(page, "name")
        await page.keyboard.type("Places to go")
        await page.keyboard.press("Enter")
        await page.get_by_text("The feedback is under its theme now.").wait_for()
        assert await page.get_by_role("heading", name="Places to go").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-yousaid-390x844.png"), full_page=True)
    finally:
        await context.close()
