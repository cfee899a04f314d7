"""The console's Surveys section over real HTTP (issue 22): the list with versions; a survey file uploaded or typed,
checked exactly as `surveybot surveys check` checks it, each problem with its line; a preview in the web chat's
drawing that stores nothing; publishing a new version that the running web chat serves at once; a scrutineer
refused. On SQLite and PostgreSQL, and once in Chromium at phone size (journey 1's survey part)."""

from __future__ import annotations

import html
import json
import os
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import text

from bot.channels import web_words
from bot.engine import messages as msg
from bot.services.roles import Role, parse_who
from bot.services.surveyfiles import builtin_survey_dir

from .conftest import Clock
from .consolekit import Browser, RunningConsole, running_console
from .consolekit import chromium as consolekit_chromium

TODAY = Clock().now.date()  # the injected clock's day (tests/conftest.py)
PUBLISHED = f"published {TODAY.day} {TODAY:%B %Y}"

GOOD = """# A survey for the console tests
id: console-check
version: 1
title: How we work together
audience: practitioners
intro: A short survey about how we work together.
thanks: Thank you. That is all.
questions:
  - id: team
    kind: single
    text: Which team are you in?
    choices: [Health, Police, Education]
  - id: know
    kind: yesno
    text: Do you know who to call?
"""
# Two mistakes, on lines 5 and 10: an audience that does not exist and a misspelt kind
TWO_MISTAKES = GOOD.replace("version: 1", "version: 2").replace("audience: practitioners", "audience: staff") \
    .replace("kind: single", "kind: singel")
FIXED = GOOD.replace("version: 1", "version: 2").replace("Which team are you in?", "Which team do you work in?") \
    .replace("title: How we work together", "title: How we work together, second round")
TABLES = ("response", "answer", "conversation", "audit_record", "survey_version", "contact", "survey_key")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The partnership's own survey folder, holding version 1 of the test survey."""
    own = tmp_path / "surveys"
    own.mkdir()
    (own / "console-check.yaml").write_text(GOOD, encoding="utf-8")
    return own


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock, folder: Path) -> AsyncIterator[RunningConsole]:
    dirs = os.pathsep.join([str(builtin_survey_dir()), str(folder)])
    async with running_console(tmp_path / "data", database_url, clock, SURVEYBOT_SURVEYS_DIR=dirs) as started:
        yield started


@pytest.fixture
async def admin(site: RunningConsole) -> AsyncIterator[Browser]:
    browser = await site.signed_in("console:bea", Role.ADMIN)
    try:
        yield browser
    finally:
        await browser.close()


def counts(site: RunningConsole) -> dict[str, int]:
    with site.app.engine.connect() as connection:
        return {table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in TABLES}


def listed(page: str, css: str) -> list[str]:
    """The text of each item of the list with this class, tags taken out."""
    found = re.search(rf'<ul class="{css}">(.*?)</ul>', page, re.S)
    assert found is not None, f"no list of class {css}"
    items = re.findall(r"<li>(.*?)</li>", found[1], re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no field {name}"
    return html.unescape(found[1])


def box(page: str) -> str:
    """The text the editor's box holds (the newline after <textarea> is the markup's, not the text's)."""
    found = re.search(r'<textarea id="source"[^>]*>\n(.*?)</textarea>', page, re.S)
    assert found is not None
    return html.unescape(found[1])


def upload(content: bytes, filename: str = "console-check.yaml", source: str = "") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("name", filename)
    form.add_field("file", content, filename=filename, content_type="application/x-yaml")
    form.add_field("source", source)
    return form


def typed(source: str, name: str = "console-check.yaml") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("name", name)
    form.add_field("file", b"", filename="", content_type="application/octet-stream")  # no file chosen
    form.add_field("source", source)
    return form


async def test_the_list_shows_every_survey_with_its_versions(site: RunningConsole, admin: Browser) -> None:
    page = await admin.get("/admin/surveys")
    assert 'aria-current="page"' in page and ">Surveys<" in page
    for survey in site.app.catalogue.all():
        assert f"<code>{survey.id}</code>" in page and html.escape(survey.title) in page
    row = page[page.index("<code>console-check</code>"):]
    assert f"Version 1 <strong>(in use)</strong>, {PUBLISHED}" in row[:row.index("</tr>")]
    you_said = page[page.index("<code>you-said</code>"):]
    assert "Version 2 <strong>(in use)</strong>" in you_said[:you_said.index("</tr>")]
    assert "Practitioners" in row and 'href="/admin/surveys/edit?survey=console-check"' in row


async def test_two_mistakes_show_with_their_lines_and_the_text_is_kept_then_fixed_passes(
        site: RunningConsole, admin: Browser, folder: Path) -> None:
    await admin.get("/admin/surveys/edit?survey=console-check")
    assert box(admin.last) == GOOD  # an existing survey's editor holds its file's text
    await admin.post("/admin/surveys/check", upload(TWO_MISTAKES.encode()), status=200)
    page = admin.last
    problems = listed(page, "problems")
    assert problems == [
        "console-check.yaml:5: audience `staff` should be one of: practitioners, young_people, partners",
        "console-check.yaml:10: question `team`: kind `singel` should be one of: single, multi, yesno, scale, number, "
        "text, knowledge",
    ]
    assert '<a href="#line-5">console-check.yaml:5</a>' in page and '<a href="#line-10">' in page
    assert re.search(r'<li id="line-5" class="flagged"><code>audience: staff</code>', page)
    assert re.search(r'<li id="line-10" class="flagged"><code>    kind: singel</code>', page)
    assert box(page) == TWO_MISTAKES  # the uploaded file's text is now in the box, to fix there
    assert "Publish version" not in page

    await admin.post("/admin/surveys/check", typed(FIXED), status=200)
    page = admin.last
    assert 'class="problems"' not in page
    assert "No problems found: version 2 of <code>console-check</code>" in page
    assert 'formaction="/admin/surveys/publish">Publish version 2</button>' in page
    assert box(page) == FIXED
    assert (folder / "console-check.yaml").read_text() == GOOD  # checking writes nothing
    assert sorted(p.name for p in folder.iterdir()) == ["console-check.yaml"]


async def test_the_same_checks_as_the_command_line_including_ids_across_files_and_plain_language_notes(
        site: RunningConsole, admin: Browser) -> None:
    await admin.get("/admin/surveys/edit")
    # the id and version of a built-in survey: `surveys check` refuses two files claiming one version
    clash = GOOD.replace("id: console-check", "id: you-said").replace("version: 1", "version: 2")
    await admin.post("/admin/surveys/check", typed(clash, "copy.yaml"), status=200)
    assert listed(admin.last, "problems") == [
        f"copy.yaml:1: survey `you-said` version 2 is already defined in {builtin_survey_dir() / 'you-said.yaml'}"]
    # plain-language warnings are notes, not problems
    hard = GOOD.replace("version: 1", "version: 3").replace("audience: practitioners", "audience: young_people") \
        .replace("Do you know who to call?", "Did the multi-agency safeguarding hub do a strategy discussion with you?")
    await admin.post("/admin/surveys/check", typed(hard), status=200)
    assert 'class="problems"' not in admin.last and "No problems found" in admin.last
    notes = listed(admin.last, "notes")
    assert notes == ["console-check.yaml:13: question `know` reads at grade 12.3; aim for 6 or below (shorter "
                     "sentences, shorter words)"]
    assert "Publish version 3" in admin.last  # notes never block


async def test_a_preview_walks_the_survey_in_the_web_chats_drawing_and_stores_nothing(
        site: RunningConsole, admin: Browser, folder: Path) -> None:
    before = counts(site)
    await admin.get("/admin/surveys/edit?survey=console-check")
    await admin.post("/admin/surveys/preview", typed(FIXED), status=200)
    page = admin.last
    assert "Preview: How we work together, second round" in page
    assert "How we keep your answers" in page  # the privacy notice, as the web chat shows it first
    assert f'<h2 id="q1" tabindex="-1">{html.escape(msg.CONSENT_QUESTION)}' in page
    assert field(page, "turn") == "1"

    fields = {"name": field(page, "name"), "source": field(page, "source"), "seal": field(page, "seal"),
              "turn": "1", "do": "pick:0"}
    await admin.post("/admin/surveys/preview", fields, status=200)
    page = admin.last
    assert '<h2 id="q2" tabindex="-1">Which team do you work in?</h2>' in page
    assert 'value="pick:1" class="option">Police</button>' in page
    fields.update(seal=field(page, "seal"), turn=field(page, "turn"), do="pick:1")
    await admin.post("/admin/surveys/preview", fields, status=200)
    page = admin.last
    assert "Police" in page and '<h2 id="q3" tabindex="-1">Do you know who to call?' in page

    stale = {**fields, "do": "pick:0"}  # the same button again (an old page): the question waiting is shown
    await admin.post("/admin/surveys/preview", stale, status=200)
    assert "Do you know who to call?" in admin.last

    tampered = {**fields, "seal": fields["seal"][:-2] + ("00" if not fields["seal"].endswith("00") else "11")}
    await admin.post("/admin/surveys/preview", tampered, status=400)
    other_text = {**fields, "source": FIXED.replace("That is all.", "Bye.")}
    await admin.post("/admin/surveys/preview", other_text, on="/admin/surveys/edit", status=400)

    assert counts(site) == before  # no conversation, response, answer, contact, round or audit record
    assert sorted(p.name for p in folder.iterdir()) == ["console-check.yaml"]


YOUTH = """id: console-youth
version: 1
title: What matters to you
audience: young_people
intro: Hi! We want to hear what you think.
thanks: Thank you for telling us.
questions:
  - id: matters
    kind: text
    text: What matters most to you?
    max_length: 300
  - id: club
    kind: yesno
    text: Do you go to a youth club?
"""
DISCLOSURE = "i want to kill myself"  # on the safeguarding phrase list (bot/services/safeguarding/phrases.yaml)


def preview_fields(page: str, do: str, **more: str) -> dict[str, str]:
    """What a button of the preview posts: the sealed state and the survey's text, with the button pressed."""
    return {"name": field(page, "name"), "source": field(page, "source"), "seal": field(page, "seal"), "do": do,
            **more}


def shown(words: str) -> str:
    """Words as the autoescaped page holds them."""
    return str(escape(words))


def care_button(page: str, label: str) -> str:
    """The `do` value of a button of the safeguarding check, found by its words."""
    found = re.search(rf'value="(care:[a-z]+:\d+(?::[0-9a-f]+)?)" class="[a-z]+">{re.escape(shown(label))}<',
                      page)
    assert found is not None, f"no check button {label!r}"
    return found[1]


async def test_a_preview_runs_the_safeguarding_check_on_typed_words_and_raises_no_alert(
        site: RunningConsole, admin: Browser) -> None:
    before = counts(site)
    await admin.get("/admin/surveys/edit")
    await admin.post("/admin/surveys/preview", typed(YOUTH, "console-youth.yaml"), status=200)
    await admin.post("/admin/surveys/preview", preview_fields(admin.last, "pick:0", turn="1"), status=200)
    assert "What matters most to you?" in admin.last and "Preview only" not in admin.last

    # words on the phrase list: the gentle check a young person sees, the answer held back, no alert but a note
    await admin.post("/admin/surveys/preview", preview_fields(admin.last, "send", turn="2", text=DISCLOSURE),
                     status=200)
    page = admin.last
    assert shown(msg.CARE_HEARD) in page and shown(msg.CARE_ASK) in page
    assert shown(msg.REMOVED_SHOWN) in page  # what the chat shows in place of the answer held back
    assert "kill myself" not in page  # the words are not put back anywhere, not even in a box
    assert "Preview only." in page and "no alert was raised and nothing was recorded" in page
    assert "Do you go to a youth club?</h2>" not in page  # the next question waits until they carry on
    await admin.post("/admin/surveys/preview", preview_fields(page, care_button(page, msg.CARE_OK)), status=200)
    page = admin.last
    assert shown(msg.CARE_CARRY_ON) in page and "Do you go to a youth club?</h2>" in page
    assert "Preview only" not in page

    # the Get help button: the same check as the HELP word, which raises nothing by itself
    await admin.post("/admin/surveys/preview", preview_fields(page, "get-help"), status=200)
    page = admin.last
    assert shown(msg.CARE_HELP_WORD) in page and "It is a preview, so whatever you press" in page
    await admin.post("/admin/surveys/preview", preview_fields(page, care_button(page, msg.CARE_HELP)), status=200)
    page = admin.last
    assert shown(msg.CARE_CONSENT.format(who=msg.CARE_WHO)) in page
    # "No, thanks" after asking for help: the real chat alerts anonymously; here the page only says so
    await admin.post("/admin/surveys/preview", preview_fields(page, care_button(page, msg.CARE_NO)), status=200)
    page = admin.last
    assert "We have not told anyone who you are." in page and "Do you go to a youth club?</h2>" in page
    assert "alerted: anonymously, with the kind of worry only" in page

    # typed as an answer to a question with buttons, the words meet the check too
    await admin.post("/admin/surveys/preview", preview_fields(page, "send", turn="3", text="HELP"), status=200)
    assert shown(msg.CARE_HELP_WORD) in admin.last

    assert counts(site) == before  # no conversation, answer, contact, round, and no audit record of an alert


async def test_an_adults_answers_are_not_checked_in_the_preview_as_in_the_chat(
        site: RunningConsole, admin: Browser) -> None:
    adults = GOOD.replace("questions:\n", "questions:\n  - id: notes\n    kind: text\n    text: What happened?\n"
                          "    max_length: 300\n")
    await admin.get("/admin/surveys/edit")
    await admin.post("/admin/surveys/preview", typed(adults), status=200)
    await admin.post("/admin/surveys/preview", preview_fields(admin.last, "pick:0", turn="1"), status=200)
    await admin.post("/admin/surveys/preview", preview_fields(admin.last, "send", turn="2", text=DISCLOSURE),
                     status=200)
    page = admin.last
    assert shown(msg.CARE_ASK) not in page and "Which team are you in?</h2>" in page
    assert "Preview only" not in page


async def test_a_preview_of_a_file_with_mistakes_shows_the_mistakes(site: RunningConsole, admin: Browser) -> None:
    await admin.get("/admin/surveys/edit")
    await admin.post("/admin/surveys/preview", typed(TWO_MISTAKES), status=200)
    assert len(listed(admin.last, "problems")) == 2 and box(admin.last) == TWO_MISTAKES


async def test_publishing_serves_the_new_version_at_once(site: RunningConsole, admin: Browser, folder: Path,
                                                         tmp_path: Path) -> None:
    await admin.get("/admin/surveys/edit?survey=console-check")
    before = counts(site)
    response = await admin.post("/admin/surveys/publish", typed(FIXED))
    assert response.headers["Location"] == "/admin/surveys?done=published&survey=console-check"
    page = await admin.get(response.headers["Location"])
    assert "Published: version 2 of “How we work together, second round”" in page
    row = page[page.index("<code>console-check</code>"):]
    row = row[:row.index("</tr>")]
    assert f"Version 2 <strong>(in use)</strong>, {PUBLISHED}" in row and "Version 1, published" in row

    # the file: beside version 1's (kept for conversations and campaigns on it), owner-only
    written = folder / "console-check-v2.yaml"
    assert written.read_text() == FIXED and (folder / "console-check.yaml").read_text() == GOOD
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    # recorded and audited as start-up publishes, with who did it
    after = counts(site)
    assert after["survey_version"] == before["survey_version"] + 1
    with site.app.engine.connect() as connection:
        subject = connection.execute(text("SELECT subject FROM audit_record WHERE action = 'survey.new' "
                                          "ORDER BY seq DESC LIMIT 1")).scalar_one()
    who = site.access.who(parse_who("console:bea"))
    assert json.loads(subject) == {"survey": "console-check", "version": 2, "who": who}

    # the running web chat serves it now: its title, and its first question after agreeing
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as visitor:
        async with visitor.get(f"{site.base}/s/console-check") as chat:
            assert "How we work together, second round" in await chat.text()
        async with visitor.post(f"{site.base}/s/console-check", data={"do": "open"}) as opened:
            assert opened.status == 200
        async with visitor.post(f"{site.base}/s/console-check", data={"do": "pick:0", "turn": "1"}) as agreed:
            assert "Which team do you work in?" in await agreed.text()

    # a restart reads the same files and publishes nothing more
    site.app.catalogue.all()  # (the running catalogue has it; a new process reads it from the folder)
    from bot.services.surveyfiles import SurveyCatalogue

    fresh = SurveyCatalogue.from_dirs([builtin_survey_dir(), folder])
    assert fresh.versions("console-check") == [1, 2] and fresh.latest("console-check").source == FIXED


async def test_a_version_with_answers_is_frozen_and_another_surveys_file_is_never_written_over(
        site: RunningConsole, admin: Browser, folder: Path) -> None:
    # someone answers version 1 in the web chat
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as visitor:
        await visitor.post(f"{site.base}/s/console-check", data={"do": "open"})
        await visitor.post(f"{site.base}/s/console-check", data={"do": "pick:0", "turn": "1"})
        await visitor.post(f"{site.base}/s/console-check", data={"do": "pick:0", "turn": "2"})
    changed = GOOD.replace("Which team are you in?", "Which service are you in?")
    await admin.get("/admin/surveys/edit?survey=console-check")
    await admin.post("/admin/surveys/check", typed(changed), status=200)
    assert listed(admin.last, "problems") == [
        "console-check.yaml:1: version 1 of `console-check` has already collected answers, so its wording is "
        "frozen: give the changed survey a new version number"]
    await admin.post("/admin/surveys/publish", typed(changed), status=400)
    assert (folder / "console-check.yaml").read_text() == GOOD

    # a file named for the survey that holds a different survey is left alone
    other = GOOD.replace("id: console-check", "id: not-this-one")
    (folder / "console-clash.yaml").write_text(other)
    clash = GOOD.replace("id: console-check", "id: console-clash")
    await admin.post("/admin/surveys/check", typed(clash), status=200)
    assert "console-clash.yaml in the survey folder holds a different survey (`not-this-one`)" in admin.last
    assert "Publish version" not in admin.last
    await admin.post("/admin/surveys/publish", typed(clash), status=409)
    assert (folder / "console-clash.yaml").read_text() == other


async def test_a_scrutineer_is_refused_and_the_refusal_is_audited(site: RunningConsole, folder: Path) -> None:
    browser = await site.signed_in("console:sam", Role.SCRUTINEER)
    try:
        await browser.get("/admin/surveys", status=403)
        assert "Not for your role" in browser.last
        await browser.get("/admin/surveys/edit?survey=console-check", status=403)
        home = await browser.get("/admin")
        await browser.post("/admin/surveys/publish", typed(FIXED), on="/admin", status=403)
        await browser.post("/admin/surveys/preview", typed(FIXED), on="/admin", status=403)
        assert 'href="/admin/surveys"' not in home
    finally:
        await browser.close()
    with site.app.engine.connect() as connection:
        refused = connection.execute(text("SELECT subject FROM audit_record WHERE action = 'console.refused'"))
        subjects = [json.loads(row[0]) for row in refused]
    assert [s["page"] for s in subjects] == ["/admin/surveys", "/admin/surveys/edit", "/admin/surveys/publish",
                                             "/admin/surveys/preview"]
    assert {s["needs"] for s in subjects} == {"change surveys and schedules"}
    assert sorted(p.name for p in folder.iterdir()) == ["console-check.yaml"]
    assert not site.app.catalogue.has("console-check", 2)


async def test_without_a_survey_folder_setting_the_data_folder_is_used_and_read_at_start(
        tmp_path: Path, database_url: str, clock: Clock) -> None:
    data = tmp_path / "plain"
    async with running_console(data, database_url, clock) as started:
        browser = await started.signed_in("console:bea", Role.ADMIN)
        try:
            await browser.get("/admin/surveys/edit")
            await browser.post("/admin/surveys/publish", typed(GOOD))
        finally:
            await browser.close()
        assert started.app.catalogue.has("console-check", 1)
    assert (data / "surveys" / "console-check.yaml").read_text() == GOOD
    assert stat.S_IMODE((data / "surveys").stat().st_mode) == 0o700
    async with running_console(data, database_url, clock) as restarted:  # start-up reads it too
        assert restarted.app.catalogue.latest("console-check").source == GOOD


NAMES = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
       typed_text=st.text(max_size=300), filename=NAMES, as_file=st.booleans())
async def test_anything_uploaded_or_typed_gives_a_page_or_a_refusal_never_a_failure(
        site: RunningConsole, admin: Browser, content: bytes, typed_text: str, filename: str, as_file: bool) -> None:
    token = admin.csrf(await admin.get("/admin/surveys/edit"))
    for path in ("/admin/surveys/check", "/admin/surveys/preview"):
        form = aiohttp.FormData()
        form.add_field("csrf", token)
        form.add_field("name", filename)
        if as_file:
            form.add_field("file", content, filename=filename or "x.yaml", content_type="application/octet-stream")
        form.add_field("source", typed_text)
        async with admin.session.post(f"{site.base}{path}", data=form, allow_redirects=False) as response:
            body = await response.text()
            assert response.status in (200, 400), (response.status, body[:300])
            if response.status == 200 and "Preview:" not in body:
                assert 'class="problems"' in body or "No problems found" in body


# --- Chromium: journey 1's survey part -----------------------------------------------------------------------------

async def admin_at_phone_size(site: RunningConsole, browser: Any) -> tuple[Any, Any, list[str]]:
    """An admin signed in by a link in Chromium at phone size: the browser context, its page, and every script
    error and Content-Security-Policy violation it meets (but for the browser's own look for /favicon.ico: the
    console's pages name no icon)."""
    from .test_web_browser import PHONE

    site.grant(Role.ADMIN, "console:bea")
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)  # bypass_csp only to inject axe-core
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"{message.text} {message.location.get('url')}")
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico") else None)
    await page.goto(f"{site.base}/admin/signin/{site.link('console:bea')}")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Welcome").wait_for()
    return context, page, errors


async def test_journey_one_in_chromium_upload_with_mistakes_fix_and_preview(
        site: RunningConsole, browser: Any, tmp_path: Path) -> None:
    from .test_web_browser import ARTIFACTS, AXE, axe, need, small_targets

    need(AXE.exists(), "axe-core is not installed (npm install --prefix tests/web)")
    context, page, errors = await admin_at_phone_size(site, browser)
    found: dict[str, list[str]] = {}
    await page.get_by_role("link", name="Surveys").first.click()
    await page.get_by_role("heading", name="Surveys").wait_for()
    found["list"] = await axe(page)
    await page.get_by_role("link", name="Edit “How we work together”").click()
    await page.get_by_role("heading", name="Edit “How we work together”").wait_for()
    found["editor"] = await axe(page)

    # upload the edited file with two mistakes, and check it
    await page.get_by_label("Upload a survey file").set_input_files(
        files=[{"name": "console-check.yaml", "mimeType": "application/x-yaml", "buffer": TWO_MISTAKES.encode()}])
    await page.get_by_role("button", name="Check").click()
    await page.get_by_role("heading", name="2 problems to fix").wait_for()
    items = page.locator("ul.problems li")
    assert await items.count() == 2
    assert (await items.nth(0).inner_text()).startswith("console-check.yaml:5: audience `staff`")
    assert (await items.nth(1).inner_text()).startswith("console-check.yaml:10: question `team`: kind `singel`")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-survey-problems-390x844.png"), full_page=True)
    found["problems"] = await axe(page)
    found["problems: small targets"] = await small_targets(page)
    await items.nth(1).get_by_role("link").click()  # to the line in the listing
    assert page.url.endswith("#line-10")
    assert await page.locator("#line-10.flagged").is_visible()

    # fix them in the box by keyboard alone, and check again
    box = page.get_by_label("Or write or change the survey here")
    assert await box.input_value() == TWO_MISTAKES
    await box.focus()
    await page.keyboard.press("Control+a")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(FIXED)
    await page.keyboard.press("Tab")  # on to the Check button
    assert await page.evaluate("document.activeElement.textContent") == "Check"
    await page.keyboard.press("Enter")
    await page.get_by_text("No problems found: version 2").wait_for()
    found["checked"] = await axe(page)

    # preview: agree, then answer the first question, in the web chat's own drawing
    before = counts(site)
    await page.get_by_role("button", name="Preview").click()
    await page.get_by_role("heading", name="Preview: How we work together, second round").wait_for()
    found["preview: consent"] = await axe(page)
    await page.locator('button[value="pick:0"]').click()
    await page.get_by_role("heading", name="Which team do you work in?").wait_for()
    found["preview: question"] = await axe(page)
    found["preview: small targets"] = await small_targets(page)
    await page.screenshot(path=str(ARTIFACTS / "console-survey-preview-390x844.png"), full_page=True)
    await page.get_by_role("button", name="Police").click()
    await page.get_by_role("heading", name="Do you know who to call?").wait_for()
    assert counts(site) == before
    await page.get_by_role("button", name="Back to the editor").click()
    assert await page.get_by_label("Or write or change the survey here").input_value() == FIXED
    await context.close()
    assert {name: problems for name, problems in found.items() if problems} == {}
    assert errors == []


async def test_the_previews_safeguarding_check_in_chromium_by_keyboard_at_phone_size(
        site: RunningConsole, browser: Any) -> None:
    from .test_web_browser import ARTIFACTS, axe, small_targets

    context, page, errors = await admin_at_phone_size(site, browser)
    found: dict[str, list[str]] = {}
    await page.goto(f"{site.base}/admin/surveys/edit")
    await page.get_by_label("Or write or change the survey here").fill(YOUTH)
    before = counts(site)
    await page.get_by_role("button", name="Preview").click()
    await page.get_by_role("heading", name="Preview: What matters to you").wait_for()
    await page.locator('button[value="pick:0"]').click()
    await page.get_by_role("heading", name="What matters most to you?").wait_for()

    # typed as a young person would, and sent by keyboard alone
    await page.get_by_label(web_words.YOUR_ANSWER).focus()
    await page.keyboard.insert_text(DISCLOSURE)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == web_words.SEND
    await page.keyboard.press("Enter")
    await page.get_by_text(msg.CARE_ASK, exact=True).wait_for()
    note = page.get_by_role("note")
    assert "no alert was raised and nothing was recorded" in await note.inner_text()
    assert await page.get_by_text(msg.CARE_HEARD).is_visible()
    assert DISCLOSURE not in await page.locator("#chat").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-survey-preview-check-390x844.png"), full_page=True)
    found["check"] = await axe(page)
    found["check: small targets"] = await small_targets(page)

    # "I'm OK, carry on", by keyboard: the survey carries on, and the note goes
    await page.get_by_role("button", name=msg.CARE_OK).focus()
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Do you go to a youth club?").wait_for()
    assert await page.get_by_text(msg.CARE_CARRY_ON).is_visible()
    assert await page.get_by_role("note").count() == 0
    found["carried on"] = await axe(page)
    assert counts(site) == before
    await context.close()
    assert {name: problems for name, problems in found.items() if problems} == {}
    assert errors == []


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with consolekit_chromium() as launched:
        yield launched


async def test_a_file_over_the_servers_limit_is_refused_with_a_page(site: RunningConsole, admin: Browser) -> None:
    await admin.get("/admin/surveys/edit")
    await admin.post("/admin/surveys/check", upload(b"# " + b"x" * (1024 * 1024)), status=413)
    assert "more than the console takes at once" in admin.last
    big = b"id: big\n# " + b"x" * (300 * 1024)  # under the server's limit, over a survey file's
    await admin.post("/admin/surveys/check", upload(big, "big.yaml"), on="/admin/surveys/edit", status=200)
    assert listed(admin.last, "problems")[0].startswith("big.yaml:1: the file is 300 KB; a survey file may be at most "
                                                        "256 KB")
