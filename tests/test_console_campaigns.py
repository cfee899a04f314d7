"""The console's Campaigns section over real HTTP (issue 22), on SQLite and PostgreSQL: a campaign created by the
form is the one `surveybot campaign create` makes from the same choices; a mistake comes back with what was typed;
Open now, Send a reminder now and Close now change the campaign and write the audit records the command line
writes; a scrutineer reads but cannot change, and each refusal is audited; and the response rate rises as invited
people finish in the web chat (part of the issue's journey 1, which tests/test_console_journey.py runs whole). One
test drives Debian's Chromium with the keyboard alone at phone size, with axe-core checking every screen."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from bot.cli import campaign as campaign_cli
from bot.cli import parser
from bot.console import campaigns as pages
from bot.services import campaign_admin, contact_book
from bot.services.contact_book import CHANNELS
from bot.services.roles import Role

from .conftest import Clock
from .consolekit import RunningConsole, running_console
from .consolekit import chromium as consolekit_chromium
from .fakes.smtp_server import FakeSmtp
from .test_web import Respondent, complete

# Every date below is counted from the injected clock's moment (tests/conftest.py Clock), never the calendar's.
NOW = Clock().now


def day(days: int) -> date:
    return (NOW + timedelta(days=days)).date()


def typed(days: int, at: str) -> str:
    """A moment as the form and the command line take it: YYYY-MM-DD HH:MM."""
    return f"{day(days):%Y-%m-%d} {at}"


def said(days: int, at: str) -> str:
    """A moment as the pages show it: weekday, day, short month and year, then the time."""
    when = day(days)
    return f"{when:%a} {when.day} {when:%b %Y}, {at}"


SURVEY = "policy-awareness"  # practitioners: counts under 5 are not shown
ADMIN, SCRUTINEER = "console:bola", "console:sam"


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[RunningConsole]:
    async with running_console(tmp_path / "data", database_url, clock) as started:
        yield started


def form(**changes: str) -> dict[str, str]:
    """The create form as a person fills it in: a practitioners' survey by email, opening the day after the injected
    clock's moment (NOW)."""
    fields = {"code": "practice-2026", "survey": SURVEY, "opens_date": f"{day(1):%Y-%m-%d}", "opens_time": "09:00",
              "closes_date": f"{day(22):%Y-%m-%d}", "closes_time": "17:00", "tags": "practitioners",
              "channel_email": "on",
              "reminders": "3,7", "max_reminders": "2", "every_months": "", "quiet_hours": "20-8"}
    return {name: value for name, value in {**fields, **changes}.items() if value is not None}


def cli(app: Any, *argv: str) -> None:
    """`surveybot campaign ...` as typed, run on the same app (and so the same clock) as the console."""
    args = parser("campaign").parse_args(["campaign", *argv])
    assert campaign_cli.run(app, args) == 0


def audit(app: Any, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
    with app.engine.connect() as connection:
        rows = connection.execute(text("SELECT action, subject FROM audit_record WHERE seq > :since ORDER BY seq"),
                                  {"since": since}).fetchall()
    return [(action, json.loads(subject)) for action, subject in rows]


def last_seq(app: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(text("SELECT coalesce(max(seq), 0) FROM audit_record")).scalar_one())


def campaign_rows(app: Any) -> dict[str, dict[str, Any]]:
    with app.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM campaign")).mappings().fetchall()
    return {row["code"]: {k: v for k, v in row.items() if k not in ("id", "code")} for row in rows}


def shown(html: str) -> str:
    """A page's words as a person reads them: tags gone, entities read back, spaces squeezed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def value_of(html: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}"[^>]*? value="([^"]*)"', html)
    assert found is not None, name
    return unescape(found[1])


async def test_a_campaign_made_by_the_form_is_the_one_the_command_line_makes_and_is_listed(
        site: RunningConsole) -> None:
    admin = await site.signed_in(ADMIN, Role.ADMIN)
    try:
        page = await admin.get("/admin/campaigns")
        assert "There are no campaigns yet" in page and 'href="/admin/campaigns/new"' in page
        new = await admin.get("/admin/campaigns/new")
        assert value_of(new, "opens_date") == f"{day(1):%Y-%m-%d}"
        assert value_of(new, "closes_date") == f"{day(22):%Y-%m-%d}"
        assert value_of(new, "reminders") == "3,7" and value_of(new, "quiet_hours") == "20-8"  # the CLI's defaults
        assert f'<option value="{SURVEY}">' in new
        response = await admin.post("/admin/campaigns/new", form())
        assert response.headers["Location"] == "/admin/campaigns/practice-2026?done=created"
        cli(site.app, "create", "twin", "--survey", SURVEY, "--opens", typed(1, "09:00"), "--closes",
            typed(22, "17:00"), "--tags", "practitioners", "--channels", "email")
        made = campaign_rows(site.app)
        assert made["practice-2026"] == made["twin"]  # the same strings reached the same use case

        page = shown(await admin.get("/admin/campaigns/practice-2026?done=created"))
        assert "The campaign is created" in page and "Status Scheduled" in page
        assert f"Opens {said(1, '09:00')}" in page and f"Closes {said(22, '17:00')}" in page
        assert "contacts tagged practitioners, on email" in page
        for step in (f"Invitations {said(1, '09:00')} Not yet", f"Reminder 1 {said(4, '09:00')} Not yet",
                     f"Reminder 2 {said(8, '09:00')} Not yet", f"Closes {said(22, '17:00')} Not yet"):
            assert step in page
        assert "Invited 0" in page and "Response rate (of those invited) not shown (too few)" in page

        listing = await admin.get("/admin/campaigns")
        assert '<meta http-equiv="refresh"' not in listing and '<a class="button secondary" href="/admin/campaigns">' \
            'Refresh</a>' in listing
        words = shown(listing)
        assert "practice-2026 policy-awareness v1 Scheduled" in words and "twin policy-awareness v1" in words
        assert '<svg class="rate-chart"' in listing and 'role="img"' in listing and "<table>" in listing
        assert [(a, s["campaign"]) for a, s in audit(site.app) if a == "campaign.created"] == [
            ("campaign.created", "practice-2026"), ("campaign.created", "twin")]
    finally:
        await admin.close()


MISTAKES = [  # (what is changed, the sentence shown, the field it is next to)
    ({"code": "Practice 2026!"}, "Code “Practice 2026!” may use only lower case letters, digits, - and _", "code"),
    ({"closes_date": f"{day(-1):%Y-%m-%d}"}, "Closes: a campaign must close after it opens", "closes"),
    ({"opens_time": ""}, "Opens: please give both a date and a time", "opens"),
    ({"survey": "nope"}, "Survey: no survey “nope”", "survey"),
    ({"tags": "Practitioners, two words"}, "Tags: “two words” is not a tag", "tags"),
    ({"reminders": "3,seven"}, "Reminders “3,seven” should be whole days, like 3,7", "reminders"),
    ({"max_reminders": "two"}, "Most reminders: “two” should be a whole number", "max_reminders"),
    ({"every_months": "99"}, "Repeat every should be from 1 to 60", "every_months"),
    ({"quiet_hours": "8-8"}, "Quiet hours “8-8” should be two different hours like 20-8, or none", "quiet_hours"),
    ({"channel_email": ""}, "Channels: please tick at least one way to reach people", "channels"),
]


async def test_a_mistake_comes_back_next_to_its_field_with_everything_typed_and_nothing_made(
        site: RunningConsole) -> None:
    admin = await site.signed_in(ADMIN, Role.ADMIN)
    try:
        await admin.get("/admin/campaigns/new")
        for change, sentence, name in MISTAKES:
            typed = form(**{"tags": "practitioners, leads", "reminders": "2,5", **change})
            await admin.post("/admin/campaigns/new", typed, status=400)
            page = admin.last
            assert sentence in unescape(page), (change, shown(page)[:600])
            assert f'<p class="field-problem" id="{name}-problem">{sentence}' in unescape(page), change
            assert "Nothing was created. Everything you typed is still here." in page
            for kept in ("code", "opens_date", "opens_time", "closes_date", "closes_time", "tags", "reminders",
                         "max_reminders", "every_months", "quiet_hours"):
                assert value_of(page, kept) == typed[kept].strip(), (change, kept)
            ticked = {c for c in CHANNELS if re.search(rf'name="channel_{c}" type="checkbox" value="on" checked',
                                                         page)}
            assert ticked == {c for c in CHANNELS if typed.get(f"channel_{c}")}
            assert "<title>Error: New campaign" in page
        assert campaign_rows(site.app) == {}
        assert not [a for a, _ in audit(site.app) if a.startswith("campaign.")]
        await admin.post("/admin/campaigns/new", form())  # and once it is right, it is made
        await admin.post("/admin/campaigns/new", form(), on="/admin/campaigns/new", status=400)
        assert "A campaign “practice-2026” exists already" in unescape(admin.last)
    finally:
        await admin.close()


async def test_open_remind_and_close_change_the_campaign_and_audit_as_the_command_line_does(
        site: RunningConsole) -> None:
    admin = await site.signed_in(ADMIN, Role.ADMIN)
    try:
        await admin.post("/admin/campaigns/new", form(code="web-one"), on="/admin/campaigns/new")
        cli(site.app, "create", "cli-one", "--survey", SURVEY, "--opens", typed(1, "09:00"), "--closes",
            typed(22, "17:00"), "--tags", "practitioners", "--channels", "email")
        page = await admin.get("/admin/campaigns/web-one")
        assert 'action="/admin/campaigns/web-one/open"' in page and "/remind" not in page  # not open yet

        async def by_console(path: str, fields: dict[str, str] | None = None) -> str:
            response = await admin.post(f"/admin/campaigns/web-one/{path}", fields or {}, on="/admin/campaigns/web-one")
            return response.headers["Location"]

        def compare(web: list[tuple[str, dict[str, Any]]], line: list[tuple[str, dict[str, Any]]]) -> None:
            assert web and [(a, {**s, "campaign": "x"} if "campaign" in s else s) for a, s in web] == [
                (a, {**s, "campaign": "x"} if "campaign" in s else s) for a, s in line]

        mark = last_seq(site.app)
        assert await by_console("open") == "/admin/campaigns/web-one?done=opened"
        web, mark = audit(site.app, mark), last_seq(site.app)
        cli(site.app, "open", "cli-one")
        compare(web, audit(site.app, mark))
        assert [a for a, _ in web] == ["campaign.opened"]
        page = shown(await admin.get("/admin/campaigns/web-one?done=opened"))
        assert "The campaign is open now" in page and "Status Open, wave 1" in page
        assert f"Opens {said(0, '09:30')}" in page
        assert await by_console("open") == "/admin/campaigns/web-one?done=already-open"
        assert "This campaign was already open" in shown(await admin.get("/admin/campaigns/web-one?done=already-open"))

        mark = last_seq(site.app)
        assert await by_console("remind") == "/admin/campaigns/web-one?done=remind-nobody"  # nobody invited yet
        web, mark = audit(site.app, mark), last_seq(site.app)
        cli(site.app, "remind", "cli-one")
        compare(web, audit(site.app, mark))
        assert web == [("campaign.remind", {"campaign": "web-one", "wave": 1, "planned": 0})]
        assert await by_console("remind") == "/admin/campaigns/web-one?done=remind-already"  # the same minute
        await admin.post("/admin/campaigns/new", form(code="quiet-one", quiet_hours="9-12"), on="/admin/campaigns/new")
        await admin.post("/admin/campaigns/quiet-one/open", {}, on="/admin/campaigns/quiet-one")
        response = await admin.post("/admin/campaigns/quiet-one/remind", {}, on="/admin/campaigns/quiet-one")
        assert response.headers["Location"] == "/admin/campaigns/quiet-one?done=remind-quiet&until=12:00"
        assert "it is quiet hours, when nothing is sent, until 12:00" in shown(
            await admin.get("/admin/campaigns/quiet-one?done=remind-quiet&until=12:00"))

        confirm = await admin.get("/admin/campaigns/web-one/close")  # closing asks first
        assert "Close campaign web-one now?" in confirm and 'name="confirm" value="yes"' in confirm
        mark = last_seq(site.app)
        assert await by_console("close") == "/admin/campaigns/web-one/close"  # a post without the confirmation
        assert audit(site.app, mark) == [] and not campaign_rows(site.app)["web-one"]["stopped"]
        response = await admin.post("/admin/campaigns/web-one/close", {"confirm": "yes"},
                                    on="/admin/campaigns/web-one/close")
        assert response.headers["Location"] == "/admin/campaigns/web-one?done=closed"
        web, mark = audit(site.app, mark), last_seq(site.app)
        cli(site.app, "close", "cli-one")
        compare(web, audit(site.app, mark))
        assert [a for a, _ in web] == ["round.closes", "campaign.closed"]
        assert campaign_rows(site.app)["web-one"]["stopped"]
        page = await admin.get("/admin/campaigns/web-one?done=closed")
        assert "The campaign is closed" in page and "Status Closed" in shown(page)
        assert "/open" not in page and "/remind" not in page and "/close" not in page
        assert await by_console("remind") == "/admin/campaigns/web-one?done=remind-closed"

        await admin.get("/admin/campaigns/no-such-campaign", status=404)
        await admin.get("/admin/campaigns/NOT%20A%20CODE", status=404)
        await admin.post("/admin/campaigns/no-such-campaign/open", {}, on="/admin/campaigns", status=404)
    finally:
        await admin.close()


async def test_a_scrutineer_reads_every_campaign_but_each_change_is_refused_and_audited(
        site: RunningConsole) -> None:
    await asyncio.to_thread(campaign_admin.create, site.app, "practice-2026", SURVEY, typed(1, "09:00"),
                            typed(22, "17:00"))
    before = campaign_rows(site.app)
    scrutineer = await site.signed_in(SCRUTINEER, Role.SCRUTINEER)
    try:
        listing = await scrutineer.get("/admin/campaigns")
        assert "practice-2026" in listing and "/admin/campaigns/new" not in listing
        page = await scrutineer.get("/admin/campaigns/practice-2026")
        assert "Status Scheduled" in shown(page) and "<button" not in page.split("</header>", 1)[1]
        assert "Only the business unit (the admin role) can open, remind or close a campaign." in page
        mark = last_seq(site.app)
        await scrutineer.get("/admin/campaigns/new", status=403)
        await scrutineer.get("/admin/campaigns/practice-2026/close", status=403)
        for path, fields in (("new", form(code="sneaky")), ("practice-2026/open", {}),
                             ("practice-2026/remind", {}), ("practice-2026/close", {"confirm": "yes"})):
            await scrutineer.post(f"/admin/campaigns/{path}", fields, on="/admin/campaigns", status=403)
            assert "Not for your role" in scrutineer.last
        refused = audit(site.app, mark)
        assert [(a, s["page"], s["needs"]) for a, s in refused] == [
            ("console.refused", page, "change surveys and schedules") for page in (
                "/admin/campaigns/new", "/admin/campaigns/{code}/close", "/admin/campaigns/new",
                "/admin/campaigns/{code}/open", "/admin/campaigns/{code}/remind", "/admin/campaigns/{code}/close")]
        assert all("sam" not in json.dumps(s) for _, s in refused)  # a fingerprint, never the name
        assert campaign_rows(site.app) == before
    finally:
        await scrutineer.close()


async def test_the_response_rate_rises_as_invited_people_finish_in_the_web_chat(
        tmp_path: Path, database_url: str, clock: Clock) -> None:
    """Journey 1's last steps: a campaign for tagged contacts, made in the console and opened there; the running
    bot's scheduler invites by email; people follow their links and answer in the web chat; the page's response
    rate rises with them, every count kept to k = 5."""
    public = "http://surveys.example.org"  # what the emails name; the test's own server answers in its place
    practitioners = [f"practitioner.{n:02d}@agency{n % 3}.example.org" for n in range(15)]
    others = [f"governor.{n}@school.example.org" for n in range(3)]
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("who,tags\n" + "".join(f"email:{a},practitioners\n" for a in practitioners)
                        + "".join(f"email:{a},governors\n" for a in others))
    with FakeSmtp() as smtp:
        async with running_console(tmp_path / "data", database_url, clock, SURVEYBOT_SMTP_URL=smtp.url,
                                   SURVEYBOT_MAIL_FROM="Partnership <surveys@lscp.example.org>",
                                   SURVEYBOT_PUBLIC_URL=public, SURVEYBOT_SMTP_RATE="1000",
                                   SURVEYBOT_SWEEP_SECONDS="1") as site:
            await asyncio.to_thread(contact_book.import_contacts, site.app, contacts)
            admin = await site.signed_in(ADMIN, Role.ADMIN)
            try:
                await admin.post("/admin/campaigns/new", form(), on="/admin/campaigns/new")
                await admin.post("/admin/campaigns/practice-2026/open", {}, on="/admin/campaigns/practice-2026")
                deadline = time.monotonic() + 30
                while smtp.recorder.count() < len(practitioners) and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                assert sorted(r for m in smtp.recorder.received for r in m.recipients) == sorted(practitioners)
                links = {}
                for address in practitioners:
                    body = smtp.recorder.to(address)[0].get_body(("plain",))
                    assert body is not None
                    found = re.search(rf"{re.escape(public)}/i/([A-Za-z0-9_-]{{43}})", body.get_content())
                    assert found is not None
                    links[address] = f"{site.base}/i/{found[1]}"

                async def status() -> tuple[str, str]:
                    listing = shown(await admin.get("/admin/campaigns"))
                    row = re.search(r"practice-2026 policy-awareness v1 Open, wave 1 (.+?) "
                                    r"(\S+%|not shown \(too few\))", listing)
                    assert row is not None, listing
                    return row[1], row[2]

                assert await status() == ("15 0 0", "0%")
                rates = []
                async with aiohttp.ClientSession() as http:
                    for finished, address in enumerate(practitioners[:10], start=1):
                        await complete(Respondent(http, links[address]))
                        if finished in (4, 5, 10):
                            rates.append(await status())
                assert rates == [("hidden fewer than 5 fewer than 5", "not shown (too few)"),
                                 ("15 5 5", "33.3%"), ("15 10 10", "66.7%")]
                listing = await admin.get("/admin/campaigns")
                assert '<text x="339" y="18" text-anchor="end" class="figure">66.7%</text>' in listing
                assert '<rect x="1" y="26" width="225.4" height="20" rx="4" class="fill"/>' in listing
                words = shown(listing)
                assert "practice-2026: completed by agency Agency Completed Police 10 Health 0" in words
                page = shown(await admin.get("/admin/campaigns/practice-2026"))
                assert f"Invitations {said(0, '09:30')} Done" in page  # opened now, and sent
                assert "Invited 15 Started 10 Completed 10 Response rate (of those invited) 66.7%" in page
                everything = listing + page
                for address in practitioners:
                    assert address.split("@")[0] not in everything
            finally:
                await admin.close()


# --- reading the form: whatever arrives, the same strings as the command line, or one sentence naming a field ---

typed_text = st.one_of(st.text(max_size=30), st.sampled_from(["", " ", "3,7", "2", "-1", "20-8", "09:00", "09:00:00",
                                                              f"{day(1):%Y-%m-%d}", "0" * 7, "１２"]))


@given(st.dictionaries(st.sampled_from([
    "code", "survey", "opens_date", "opens_time", "closes_date", "closes_time", "tags", "reminders", "max_reminders",
    "every_months", "quiet_hours", "channel_email", "channel_slack", "channel_telegram", "csrf", "other"]),
    typed_text))
def test_any_form_is_read_as_command_line_strings_or_one_sentence_naming_a_field(fields: dict[str, str]) -> None:
    typed = pages.Typed.of(fields)
    assert pages.Typed.of({**fields, "ignored": "x"}) == typed
    try:
        code, survey, opens, closes, tags, channels, reminders, most, every, quiet = typed.arguments()
    except pages.Mistake as mistake:
        assert mistake.problem.field in pages.FIELDS
        label = pages.FIELDS[mistake.problem.field][0]
        assert mistake.problem.text.startswith(label) and "\n" not in mistake.problem.text
        return
    assert (code, survey, tags, reminders, quiet) == (typed.code, typed.survey, typed.tags, typed.reminders,
                                                       typed.quiet_hours)
    assert opens.startswith(f"{typed.opens_date} ") and closes.startswith(f"{typed.closes_date} ")
    assert set(channels.split(",")) <= set(CHANNELS) or channels == ""
    assert isinstance(most, int) and (every is None or isinstance(every, int))


@given(st.text(st.characters(blacklist_characters="`"), max_size=40))
def test_every_mistake_create_can_make_is_put_next_to_a_field(code: str) -> None:
    messages = [f"code `{code}` may use only lower case letters", f"a campaign `{code}` exists already",
                f"code `{code}` is a survey id", *(f"{option}: `{code}` whatever" for _, option in
                                                  pages.FIELDS.values() if option.startswith("--")),
                f"--reminders `{code}` should be whole days",
                "--reminders are days after opening (1 or more); --max-reminders 0 or more"]
    for message in messages:
        problem = pages.problem_of(message)
        assert problem.field in pages.FIELDS, message
        assert "--" not in problem.text.replace(f"“{code}”", "") and "`" not in problem.text
        assert f"`{code}`" not in message or f"“{code}”" in problem.text  # what was typed is shown as typed


def test_the_create_errors_are_the_ones_the_form_knows() -> None:
    """Each option `create` can name in a mistake is a field of the form (so a new option cannot go unplaced)."""
    source = Path(campaign_admin.__file__).read_text()
    named = set(re.findall(r"CampaignError\(f?\"(--[a-z-]+)", source)) | set(re.findall(
        r"parse_tags\([^,]+, \"(--[a-z-]+)\"\)", source))
    assert named and named <= {option for _, option in pages.FIELDS.values()}


# --- in a real browser: the keyboard alone, at phone size, with axe-core on every screen -------------------------

@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with consolekit_chromium() as launched:
        yield launched


async def focused(page: Any) -> dict[str, str]:
    return dict(await page.evaluate("""() => {
        const el = document.activeElement;
        return {tag: el.tagName.toLowerCase(), id: el.id || "", text: (el.textContent || "").trim(),
                href: el.getAttribute("href") || ""};
    }"""))


async def tab_to(page: Any, wanted: Any, limit: int = 60) -> None:
    """Press Tab until the focused element is the one wanted; fails if it is never reached."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if wanted(await focused(page)):
            return
    raise AssertionError("Tab never reached the control wanted")


async def checked_screen(page: Any, name: str) -> None:
    """axe-core finds nothing serious on the screen, and nothing is wider than the phone."""
    from .test_web_browser import ARTIFACTS, axe

    assert await axe(page) == [], name
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390, name
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"console-campaigns-{name}-390x844.png"), full_page=True)


async def test_an_officer_creates_a_campaign_with_the_keyboard_alone_on_a_phone(
        chromium: Any, tmp_path: Path, database_url: str, clock: Clock) -> None:
    from .test_web_browser import AXE

    async with running_console(tmp_path / "data", database_url, clock) as site:
        site.grant(Role.ADMIN, ADMIN)
        await asyncio.to_thread(campaign_admin.create, site.app, "last-year", SURVEY, typed(0, "09:00"),
                                typed(18, "17:00"))  # one to see in the list and the chart
        context = await chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
        context.set_default_timeout(10_000)
        await context.add_init_script(path=str(AXE))  # by the driver, so the strict policy stays on and is checked
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error"
                and not message.text.startswith("Failed to load resource") else None)  # statuses: below
        page.on("pageerror", lambda error: problems.append(str(error)))
        failed: list[tuple[str, int]] = []
        page.on("response", lambda r: failed.append((r.url.removeprefix(site.base), r.status)) if r.status >= 400
                else None)

        await page.goto(f"{site.base}/admin/signin/{await asyncio.to_thread(site.link, ADMIN)}")  # from the email
        await tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Sign in")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.base}/admin")
        await tab_to(page, lambda f: f["href"] == "/admin/campaigns")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.base}/admin/campaigns")
        assert await page.get_by_role("img", name=re.compile("Response rate of each campaign")).is_visible()
        assert await page.get_by_role("table", name="Every campaign's live status").is_visible()
        await checked_screen(page, "list")

        await tab_to(page, lambda f: f["href"] == "/admin/campaigns/new")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.base}/admin/campaigns/new")
        await checked_screen(page, "new")
        await tab_to(page, lambda f: f["id"] == "code")
        await page.keyboard.type("Practice 2026")  # a mistake: capitals and a space
        await page.keyboard.press("Tab")
        assert (await focused(page))["id"] == "survey"
        await page.keyboard.press("ArrowDown")  # the first survey
        assert await page.locator("#survey").input_value() == SURVEY
        await tab_to(page, lambda f: f["id"] == "tags")
        await page.keyboard.type("practitioners")
        for channel in ("telegram", "slack", "teams"):  # by email only
            await tab_to(page, lambda f, c=channel: f["id"] == f"channel_{c}")
            await page.keyboard.press("Space")
        await tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Create the campaign")
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Please check the form").wait_for()
        assert await page.locator("#code").get_attribute("aria-invalid") == "true"
        assert await page.locator("#code").input_value() == "Practice 2026"  # kept, as everything else
        assert await page.locator("#tags").input_value() == "practitioners"
        assert not await page.locator("#channel_slack").is_checked()
        assert await page.locator("#channel_email").is_checked()
        await checked_screen(page, "mistake")

        await tab_to(page, lambda f: f["id"] == "code")
        await page.keyboard.press("Control+A")
        await page.keyboard.type("practice-2026")
        await tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Create the campaign")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.base}/admin/campaigns/practice-2026?done=created")
        assert await page.get_by_role("status").filter(has_text="The campaign is created").is_visible()
        await checked_screen(page, "created")
        made = campaign_rows(site.app)["practice-2026"]
        assert (made["tags"], made["channels"]) == ('["practitioners"]', '["email"]')

        await tab_to(page, lambda f: f["text"] == "Close now…")  # the confirmation step, by keyboard too
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.base}/admin/campaigns/practice-2026/close")
        await checked_screen(page, "close")
        await tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Yes, close it now")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.base}/admin/campaigns/practice-2026?done=closed")
        assert campaign_rows(site.app)["practice-2026"]["stopped"]
        assert problems == []  # no script errors and no Content-Security-Policy violations
        assert [f for f in failed if f[0] != "/favicon.ico"] == [("/admin/campaigns/new", 400)]  # the mistake
        await context.close()
