"""Journey 1 of issue 22, whole, in Debian's Chromium: a business unit officer signs in by a one-time link, uploads
an edited survey file with two mistakes and sees both with their lines, fixes them, previews the survey, publishes
it, imports tagged contacts, creates a campaign for one tag, opens it, and watches the response rate on the
campaign's page rise as invited people answer in the web chat. Every step through the browser with the keyboard
alone, at phone size (390x844), with axe-core finding nothing on each screen and the strict Content-Security-Policy
left on. On SQLite and PostgreSQL. The sections' own tests (tests/test_console_*.py) go deeper into each step;
this one proves the steps join up: the survey published on one page is the one the campaign sends, to the contacts
imported on another."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import App
from bot.cli import admin as admin_cli
from bot.cli import parser
from bot.services.surveyfiles import builtin_survey_dir

from .conftest import Clock
from .consolekit import RunningConsole, running_console
from .consolekit import chromium as consolekit_chromium
from .fakes.smtp_server import FakeSmtp
from .test_web import Respondent, complete
from .test_web_browser import ARTIFACTS, AXE, PHONE, settle

PUBLIC = "http://surveys.example.org"  # the address links and emails name; the test's own server answers for it
OFFICER = "console:bea"
SURVEY_FILE = "practice-check.yaml"
TITLE = "Working together on safeguarding"
PUBLISHED = """# The partnership's practitioner survey
id: practice-check
version: 1
title: Working together on safeguarding
audience: practitioners
intro: A few questions about how our agencies work together.
thanks: Thank you. That is everything.
questions:
  - id: agency
    kind: single
    text: Which agency do you work for?
    choices: [Police, Health, Education]
    breakdown: agency
  - id: confident
    kind: scale
    text: How confident are you in making a referral?
    min: 1
    max: 5
"""
# The officer's edit, version 2 with a third question, and two mistakes: the scale's bounds the wrong way round
# (reported on line 18, at `max`) and a misspelt kind (line 20).
EDITED = PUBLISHED.replace("version: 1", "version: 2").replace("min: 1\n    max: 5", "min: 5\n    max: 1") + """\
  - id: trained
    kind: yes-no
    text: Have you had safeguarding training this year?
"""
FIXED = EDITED.replace("min: 5\n    max: 1", "min: 1\n    max: 5").replace("kind: yes-no", "kind: yesno")
PROBLEMS = [f"{SURVEY_FILE}:18: question `confident`: the bounds are reversed or equal (min 5, max 1)",
            f"{SURVEY_FILE}:20: question `trained`: kind `yes-no` should be one of"]
PRACTITIONERS = [f"practitioner.{n:02d}@agency{n % 3}.example.org" for n in range(15)]
GOVERNORS = [f"governor.{n}@school.example.org" for n in range(3)]  # imported too, but not tagged for the campaign
CAMPAIGN = "practice-2026"


def operator(app: App, *typed: str) -> str:
    """`surveybot ...` as typed on the server, run on the bot's own app (its database and clock): what it prints."""
    args = parser(typed[0]).parse_args(list(typed))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        assert admin_cli.run(app, args) == 0
    return printed.getvalue().strip()


def stored(app: App) -> dict[str, int]:
    with app.engine.connect() as connection:
        return {table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ("conversation", "response", "answer")}


def invited(app: App) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM participation WHERE invited")).scalar_one())


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with consolekit_chromium() as launched:
        yield launched


class Officer:
    """The officer at the phone-sized browser, keyboard only. Every screen is looked at with `screen`; every script
    error, Content-Security-Policy violation and failed request is kept for the end."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.problems: list[str] = []
        self.failed: list[tuple[str, int]] = []
        self.choosers: asyncio.Queue[Any] = asyncio.Queue()
        page.on("console", lambda message: self.problems.append(message.text) if message.type == "error"
                and not message.text.startswith("Failed to load resource") else None)  # statuses: `failed`
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on("response", lambda r: self.failed.append((r.url.removeprefix(base), r.status))
                if r.status >= 400 else None)
        # listening from the start turns Playwright's interception of file pickers on before one is opened
        page.on("filechooser", self.choosers.put_nowait)

    async def focused(self) -> dict[str, str]:
        return dict(await self.page.evaluate("""() => {
            const el = document.activeElement;
            return {tag: el.tagName.toLowerCase(), id: el.id || "", text: (el.textContent || "").trim(),
                    href: el.getAttribute("href") || "", value: el.getAttribute("value") || ""};
        }"""))

    async def tab_to(self, wanted: Callable[[dict[str, str]], bool], limit: int = 80) -> None:
        """Tab until the control wanted has the focus; fails if the keyboard never reaches it."""
        for _ in range(limit):
            await self.page.keyboard.press("Tab")
            if wanted(await self.focused()):
                return
        raise AssertionError(f"Tab never reached the control wanted on {self.page.url}")

    async def press(self, wanted: Callable[[dict[str, str]], bool], key: str = "Enter") -> None:
        """Tab to a link or button and press it, then wait for the page it leads to."""
        await self.tab_to(wanted)
        async with self.page.expect_navigation():
            await self.page.keyboard.press(key)

    async def choose_file(self, path: Path) -> None:
        """Tab to the file field and open its picker with Space; the picker is answered with `path`."""
        await self.tab_to(lambda now: now["id"] == "file")
        await self.page.keyboard.press("Space")
        chooser = await asyncio.wait_for(self.choosers.get(), 10)
        await chooser.set_files(str(path))

    async def screen(self, name: str, shot: bool = False) -> None:
        """axe-core finds nothing at all on the screen as it is now, and nothing is wider than the phone."""
        await settle(self.page)
        found = await self.page.evaluate("""async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(" "))}`);
        }""")
        assert found == [], (name, found)
        width = await self.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} is {width}px wide"
        if shot:
            ARTIFACTS.mkdir(exist_ok=True)
            await self.page.screenshot(path=str(ARTIFACTS / f"console-journey-{name}-390x844.png"), full_page=True)

    async def figures(self) -> dict[str, str]:
        """The campaign page's table of who has answered, as read on screen: {row heading: figure}."""
        table = self.page.get_by_role("table", name="Who has answered")
        rows = table.locator("tr")
        return {(await rows.nth(i).locator("th").inner_text()).strip():
                (await rows.nth(i).locator("td").inner_text()).strip() for i in range(await rows.count())}

    async def refresh(self) -> dict[str, str]:
        """The page's own Refresh link, by keyboard, then its figures."""
        await self.press(lambda now: now["tag"] == "a" and now["text"] == "Refresh")
        return await self.figures()


async def test_journey_1_an_officer_runs_a_campaign_from_an_edited_survey_to_a_rising_response_rate(
        chromium: Any, tmp_path: Path, database_url: str, clock: Clock) -> None:
    folder = tmp_path / "surveys"  # the partnership's own survey folder, where publishing writes
    folder.mkdir()
    (folder / SURVEY_FILE).write_text(PUBLISHED, encoding="utf-8")
    edited = tmp_path / "on the officer's laptop" / SURVEY_FILE
    edited.parent.mkdir()
    edited.write_text(EDITED, encoding="utf-8")
    people = tmp_path / "on the officer's laptop" / "people.csv"
    people.write_text("who,tags\n" + "".join(f"email:{a},practitioners\n" for a in PRACTITIONERS)
                      + "".join(f"email:{a},governors\n" for a in GOVERNORS))
    dirs = os.pathsep.join([str(builtin_survey_dir()), str(folder)])

    with FakeSmtp() as smtp:
        async with running_console(tmp_path / "data", database_url, clock, SURVEYBOT_SURVEYS_DIR=dirs,
                                   SURVEYBOT_SMTP_URL=smtp.url, SURVEYBOT_PUBLIC_URL=PUBLIC,
                                   SURVEYBOT_MAIL_FROM="Partnership <surveys@lscp.example.org>",
                                   SURVEYBOT_SMTP_RATE="1000", SURVEYBOT_SWEEP_SECONDS="1") as site:
            assert site.app.engine.dialect.name == database_url.split(":")[0].split("+")[0]  # the database asked for
            # whoever runs the server grants the role and prints the link, as the README says
            assert operator(site.app, "roles", "grant", "admin", OFFICER).endswith(" is admin.")
            link = operator(site.app, "console", "link", OFFICER)
            assert re.fullmatch(rf"{re.escape(PUBLIC)}/admin/signin/[A-Za-z0-9_-]{{20,100}}", link), link

            context = await chromium.new_context(viewport=PHONE, locale="en-GB")
            context.set_default_timeout(10_000)
            await context.add_init_script(path=str(AXE))  # by the driver, so the strict policy stays on
            try:
                officer = Officer(await context.new_page(), site.base)
                await sign_in_and_publish(officer, site, link.replace(PUBLIC, site.base), edited, folder)
                await import_contacts(officer, site, people)
                await create_and_open_the_campaign(officer, site)
                await watch_the_rate_rise(officer, site, smtp)
                assert officer.problems == []  # no script errors and no Content-Security-Policy violations
                assert [f for f in officer.failed if f[0] != "/favicon.ico"] == []
            finally:
                await context.close()


async def sign_in_and_publish(officer: Officer, site: RunningConsole, link: str, edited: Path, folder: Path) -> None:
    page = officer.page
    await page.goto(link)
    await officer.screen("sign-in")
    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Sign in")
    assert page.url == f"{site.base}/admin"
    assert await page.get_by_role("heading", name="Welcome").is_visible()
    await officer.screen("home")

    await officer.press(lambda now: now["href"] == "/admin/surveys")
    await officer.screen("surveys")
    await officer.press(lambda now: now["text"] == f"Edit “{TITLE}”")
    await page.get_by_role("heading", name=f"Edit “{TITLE}”").wait_for()
    await officer.screen("editor")

    # the edited file, uploaded: both mistakes are listed, each with its line
    await officer.choose_file(edited)
    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Check")
    await page.get_by_role("heading", name="2 problems to fix").wait_for()
    items = [line.strip() for line in await page.locator("ul.problems li").all_inner_texts()]
    assert len(items) == len(PROBLEMS), items
    for item, want in zip(items, PROBLEMS, strict=True):
        assert item.startswith(want), items
    assert await page.get_by_label("Or write or change the survey here").input_value() == EDITED  # kept in the box
    await officer.screen("two-problems", shot=True)
    await officer.tab_to(lambda now: now["text"] == f"{SURVEY_FILE}:20")  # each problem links to its line
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"#line-20$"))
    assert await page.locator("#line-20.flagged").is_visible() and await page.locator("#line-18.flagged").is_visible()

    # fixed in the box, by keyboard, and checked again
    await officer.tab_to(lambda now: now["id"] == "source")
    await page.keyboard.press("Control+a")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(FIXED)
    await page.keyboard.press("Tab")  # on to the Check button
    assert (await officer.focused())["text"] == "Check"
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.get_by_text(f"No problems found: version 2 of practice-check, “{TITLE}”").wait_for()
    assert await page.locator("ul.problems").count() == 0
    await officer.screen("fixed")

    # the preview: the web chat's drawing, one answer given, and nothing stored
    before = stored(site.app)
    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Preview")
    await page.get_by_role("heading", name=f"Preview: {TITLE}").wait_for()
    await officer.screen("preview", shot=True)
    await officer.press(lambda now: now["tag"] == "button" and now["value"] == "pick:0")  # yes, start
    await page.get_by_role("heading", name="Which agency do you work for?").wait_for()
    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Health")
    await page.get_by_role("heading", name="How confident are you in making a referral?").wait_for()
    await officer.screen("preview-question")
    assert stored(site.app) == before
    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Back to the editor")
    assert await page.get_by_label("Or write or change the survey here").input_value() == FIXED

    # published: the file is written where the bot reads it, and version 2 is served at once
    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Publish version 2")
    assert page.url == f"{site.base}/admin/surveys?done=published&survey=practice-check"
    assert await page.get_by_role("status").filter(has_text=f"Published: version 2 of “{TITLE}”").is_visible()
    await officer.screen("published")
    assert site.app.catalogue.latest("practice-check").version == 2
    assert (folder / "practice-check-v2.yaml").read_text(encoding="utf-8") == FIXED  # beside version 1's


async def import_contacts(officer: Officer, site: RunningConsole, people: Path) -> None:
    page = officer.page
    await officer.press(lambda now: now["href"] == "/admin/contacts")
    await page.get_by_role("heading", name="Contacts", level=1).wait_for()
    await officer.choose_file(people)
    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Import contacts")
    everyone = len(PRACTITIONERS) + len(GOVERNORS)
    assert await page.get_by_text(f"Imported {everyone} contact(s): {everyone} new, 0 updated.").is_visible()
    await officer.screen("contacts")
    shown = (await page.content()).lower()
    assert not [a for a in PRACTITIONERS + GOVERNORS if a.split("@")[0] in shown]  # never an address on screen


async def create_and_open_the_campaign(officer: Officer, site: RunningConsole) -> None:
    page = officer.page
    await officer.press(lambda now: now["href"] == "/admin/campaigns")
    await officer.screen("campaigns")
    await officer.press(lambda now: now["href"] == "/admin/campaigns/new")
    await officer.screen("new-campaign")
    await officer.tab_to(lambda now: now["id"] == "code")
    await page.keyboard.type(CAMPAIGN)
    await page.keyboard.press("Tab")
    assert (await officer.focused())["id"] == "survey"
    for _ in range(len(site.app.catalogue.ids())):  # down the list to the survey just published
        if await page.locator("#survey").input_value() == "practice-check":
            break
        await page.keyboard.press("ArrowDown")
    assert await page.locator("#survey").input_value() == "practice-check"
    await officer.tab_to(lambda now: now["id"] == "tags")
    await page.keyboard.type("practitioners")
    for channel in ("telegram", "slack"):  # by email only
        await officer.tab_to(lambda now, c=channel: now["id"] == f"channel_{c}")
        await page.keyboard.press("Space")
    # the dates are the form's own suggestion, counted by the server from the injected clock
    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Create the campaign")
    assert page.url == f"{site.base}/admin/campaigns/{CAMPAIGN}?done=created"
    assert await page.get_by_role("status").filter(has_text="The campaign is created").is_visible()
    facts = await page.locator("dl.facts").inner_text()
    assert "practice-check v2" in facts and "contacts tagged practitioners, on email" in facts
    await officer.screen("created")

    await officer.press(lambda now: now["tag"] == "button" and now["text"] == "Open now")
    assert page.url == f"{site.base}/admin/campaigns/{CAMPAIGN}?done=opened"
    assert await page.get_by_role("status").filter(has_text="The campaign is open now").is_visible()
    await officer.screen("opened")


async def watch_the_rate_rise(officer: Officer, site: RunningConsole, smtp: FakeSmtp) -> None:
    """The running bot's scheduler invites the tagged contacts by email; each follows the link in the email and
    answers in the web chat; the officer refreshes the campaign's page and reads the rate rise, kept to k = 5."""
    deadline = asyncio.get_running_loop().time() + 30
    while invited(site.app) < len(PRACTITIONERS) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)  # each is marked invited just after its email is accepted
    assert sorted(r for m in smtp.recorder.received for r in m.recipients) == sorted(PRACTITIONERS)
    links = []
    for address in PRACTITIONERS:
        body = smtp.recorder.to(address)[0].get_body(("plain",))
        assert body is not None
        found = re.search(rf"{re.escape(PUBLIC)}/i/([A-Za-z0-9_-]{{43}})", body.get_content())
        assert found is not None
        links.append(f"{site.base}/i/{found[1]}")

    rate = "Response rate (of those invited)"
    seen = [await officer.refresh()]
    async with aiohttp.ClientSession() as http:
        for finished, link in enumerate(links[:10], start=1):
            assert await complete(Respondent(http, link)) == 3  # version 2's three questions: the one published
            if finished in (4, 5, 10):
                seen.append(await officer.refresh())
    assert [(shown["Invited"], shown["Completed"], shown[rate]) for shown in seen] == [
        ("15", "0", "0%"),
        ("hidden", "fewer than 5", "not shown (too few)"),  # four could be picked out
        ("15", "5", "33.3%"),
        ("15", "10", "66.7%")]
    await officer.screen("rate-risen", shot=True)
    breakdown = await page_text(officer.page)
    assert "Police 10" in breakdown  # the first answer each gave, under the published survey's breakdown


async def page_text(page: Any) -> str:
    return " ".join((await page.locator("main").inner_text()).split())
