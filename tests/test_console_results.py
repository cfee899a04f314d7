"""The console's Results section over real HTTP (issue 22): the report's three-question summary on screen, and each
download (the HTML report, CSV, XLSX, JSON, the signed evidence pack) byte for byte what the command line writes
for the same data, audited; the pack accepted by the verifier (journey 4, also in Chromium); a person without the
export role refused and audited; the page plain about a missing signing key. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import App
from bot.console.results import filename, wave_of
from bot.console.site import Refusal
from bot.domain.address import Address
from bot.reporting import outputs
from bot.reporting.report import make_report
from bot.reporting.signing import new_key_pair
from bot.reporting.summary import three_questions
from bot.services.audit import verify
from bot.services.roles import Action, Role, parse_who
from bot.services.surveyfiles import builtin_survey_dir

from . import dataset
from .conftest import SAMPLE, Clock
from .consolekit import Browser, RunningConsole, running_console
from .consolekit import chromium as consolekit_chromium
from .stored import audited
from .test_web_browser import ARTIFACTS, AXE, PHONE, need

TODAY = Clock().now.date()  # the injected clock's day (tests/conftest.py)

SURVEYS = f"{SAMPLE.parent}{os.pathsep}{builtin_survey_dir()}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def answered(app: App, clock: Clock, people: int = 20) -> None:
    """Wave 1 of the fixed dataset (tests/dataset.py): 20 completed, Health a group of 3; and wave 2's first few."""
    clock.now = dataset.WAVE_ONE_DAY
    for i, person in enumerate(dataset.wave_one()[:people]):
        dataset.answer(app.service, Address("telegram", dataset.WORKSPACE, f"1{i:04d}"), 1, person)
    clock.now = dataset.WAVE_TWO_DAY
    for i, person in enumerate(dataset.wave_two()[:6]):
        dataset.answer(app.service, Address("telegram", dataset.WORKSPACE, f"2{i:04d}"), 2, person)


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[RunningConsole]:
    async with running_console(tmp_path / "data", database_url, clock, SURVEYBOT_SURVEYS_DIR=SURVEYS) as started:
        await asyncio.to_thread(answered, started.app, clock)
        yield started



async def fetch(browser: Browser, survey: str, fields: dict[str, str], status: int = 200,
                on: str | None = None) -> tuple[aiohttp.ClientResponse, bytes]:
    """Press a download button on the survey's page: the form's fields and the page's CSRF token, as a browser."""
    page = await browser.get(on or f"/admin/results/{survey}")
    async with browser.session.post(f"{browser.base}/admin/results/{survey}/download",
                                    data={"csrf": browser.csrf(page), **fields}, allow_redirects=False) as response:
        body = await response.read()
        assert response.status == status, (response.status, body[:600])
        return response, body


def attachment_name(response: aiohttp.ClientResponse) -> str:
    disposition = response.headers["Content-Disposition"]
    found = re.fullmatch(r'attachment; filename="([A-Za-z0-9._-]+)"', disposition)
    assert found is not None, disposition
    return found[1]


async def test_the_scrutineer_reads_the_three_question_summary(site: RunningConsole) -> None:
    browser = await site.signed_in("console:sam", Role.SCRUTINEER)
    try:
        listing = await browser.get("/admin/results")
        assert "Sample of every kind" in listing and 'href="/admin/results/sample?wave=2"' in listing
        page = await browser.get("/admin/results/sample?wave=1")
        app = site.app
        made = make_report(app.store, app.policy, app.published_versions("sample"), "sample", 1, None,
                           app.keys.secret("report-comments").encode(), site.clock().date())
        parts = three_questions(made)
        assert [p.heading for p in parts] == ["How much are we doing?", "How well are we doing it?",
                                              "What difference are we making?"]
        for part in parts:  # every sentence of the report's summary, as the report words it
            for sentence in (part.heading, *part.paragraphs, *part.bullets):
                assert escape(sentence, quote=False) in page, sentence
        assert f"20 practitioners completed the survey in wave 1 on {TODAY.day} {TODAY:%B %Y}." in page
        assert "Health fewer than 5" in page and "Health 3" not in page  # the group of 3, suppressed
        compared = await browser.get("/admin/results/sample?wave=2&compare=1")
        assert "Compared with wave 1" in compared
        for kind in ("report", "csv", "xlsx", "json", "evidence"):
            assert f'name="kind" value="{kind}"' in page
        assert "trial installation signs packs with a key it made for itself" in " ".join(page.split())
        assert (await browser.get("/admin/results/sample?wave=9", status=404)).count("has no wave 9") == 1
        assert "is not a wave number" in await browser.get("/admin/results/sample?wave=two", status=400)
        await browser.get("/admin/results/no-such-survey", status=404)
        assert audited(app, "report") == [] and audited(app, "export") == []  # reading changes nothing
    finally:
        await browser.close()


async def test_each_download_is_what_the_command_line_writes(site: RunningConsole, tmp_path: Path) -> None:
    app = site.app
    browser = await site.signed_in("console:sam", Role.SCRUTINEER)
    try:
        cases = [("csv", "", "text/csv", "sample.csv"), ("json", "", "application/json", "sample.json"),
                 ("xlsx", "", XLSX, "sample.xlsx"), ("csv", "1", "text/csv", "sample-wave1.csv")]
        for kind, wave, content_type, name in cases:
            response, body = await fetch(browser, "sample", {"kind": kind, "wave": wave})
            assert response.content_type == content_type and attachment_name(response) == name
            assert response.headers["Cache-Control"] == "no-store"
            cli = tmp_path / f"cli-{name}"
            await asyncio.to_thread(outputs.export_survey, app, app.service.clock, "sample", kind,
                                    int(wave) if wave else None, str(cli))
            assert body == cli.read_bytes(), kind
        response, body = await fetch(browser, "sample", {"kind": "report", "wave": "2", "compare": "1"})
        assert response.content_type == "text/html" and attachment_name(response) == "sample-wave2-report.html"
        cli = tmp_path / "cli-report.html"
        await asyncio.to_thread(outputs.report, app, "sample", 2, 1, str(cli))
        assert body == cli.read_bytes() and b"Compared with wave 1" in body
        # audited as a chat request is, with the console as the way it went and who asked as a keyed fingerprint
        exports = [e for e in audited(app, "export") if e.get("via") == "console"]
        who = site.access.who(parse_who("console:sam"))
        assert [(e["format"], e.get("wave")) for e in exports] == [("csv", None), ("json", None), ("xlsx", None),
                                                                  ("csv", 1)]
        assert {e["who"] for e in exports} == {who} and exports[0]["rows"] == 26
        reports = [r for r in audited(app, "report") if r.get("via") == "console"]
        assert len(reports) == 1 and reports[0]["compared_with"] == 1 and reports[0]["who"] == who
        codebook = await browser.session.get(f"{browser.base}/admin/results/sample/codebook.csv")
        assert codebook.status == 200 and attachment_name(codebook) == "sample.codebook.csv"
        assert await codebook.read() == (tmp_path / "cli-sample.csv.codebook.csv").read_bytes()
        # nothing left behind in the data folder but the key the pack would use
        assert not list((tmp_path / "data").glob("*.partial")) and not list((tmp_path / "data").glob(".surveybot*"))
    finally:
        await browser.close()


def verified(app: App, pack: Path, folder: Path) -> str:
    """`surveybot evidence-pack verify PACK`'s checks, then the verifier shipped in the pack, run on its own."""
    verdict = outputs.verify(app.settings, pack, None)
    assert verdict.problems == [] and verdict.signer == verdict.ours is not None, verdict
    script = folder / "verify_pack.py"
    with zipfile.ZipFile(pack) as archive:
        script.write_bytes(archive.read("verify_pack.py"))
    run = subprocess.run([sys.executable, "-I", str(script), str(pack), "--fingerprint", verdict.signer],
                         capture_output=True, text=True, timeout=60, cwd=folder)
    assert run.returncode == 0, run.stderr
    return run.stdout


async def test_the_evidence_pack_from_the_console_passes_the_verifier(site: RunningConsole, tmp_path: Path) -> None:
    """Journey 4 over HTTP: the scrutineer downloads the pack, and it verifies with the installation's key."""
    app = site.app
    browser = await site.signed_in("console:sam", Role.SCRUTINEER)
    try:
        response, body = await fetch(browser, "sample", {"kind": "evidence", "wave": "1"})
        assert response.content_type == "application/zip"
        assert attachment_name(response) == "sample-evidence.zip"
        pack = tmp_path / "sample-evidence.zip"
        pack.write_bytes(body)
        out = verified(app, pack, tmp_path)
        assert out.startswith("all 10 files match, signature valid")
        with zipfile.ZipFile(pack) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        assert manifest["survey"] == "sample" and manifest["wave"] == 1 and manifest["rows"] == 20
        made = audited(app, "evidence.pack")
        sent = audited(app, "evidence.sent")
        assert len(made) == 1 and sent == [{"survey": "sample", "manifest_sha256": made[0]["manifest_sha256"],
                                            "via": "console", "who": site.access.who(parse_who("console:sam"))}]
        assert verify(app.store, app.keys).ok
        assert not [p for p in (tmp_path / "data").iterdir() if p.suffix == ".zip"]  # built in a temporary folder
    finally:
        await browser.close()


async def test_a_person_without_the_export_role_is_refused_and_audited(site: RunningConsole) -> None:
    browser = await site.signed_in("console:lee", Role.SAFEGUARDING_LEAD)
    try:
        for kind in ("evidence", "csv"):
            response, body = await fetch(browser, "sample", {"kind": kind, "wave": "1"}, status=403, on="/admin")
            assert response.content_type == "text/html" and "Content-Disposition" not in response.headers
            assert b"Not for your role" in body
        assert "Not for your role" in await browser.get("/admin/results", status=403)
        refused = audited(site.app, "console.refused")
        assert [r["needs"] for r in refused] == [Action.EXPORT.value, Action.EXPORT.value, Action.READ_RESULTS.value]
        assert refused[0]["page"] == "/admin/results/{survey}/download" and "lee" not in json.dumps(refused)
        assert audited(site.app, "export") == [] and audited(site.app, "evidence.pack") == []
    finally:
        await browser.close()


async def test_a_download_needs_the_forms_token(site: RunningConsole) -> None:
    browser = await site.signed_in("console:sam", Role.SCRUTINEER)
    try:
        async with browser.session.post(f"{browser.base}/admin/results/sample/download",
                                        data={"kind": "csv", "csrf": "x" * 40}) as response:
            assert response.status == 403 and "Content-Disposition" not in response.headers
        for fields, status in (({"kind": "pdf"}, 400), ({"kind": "csv", "wave": "7"}, 404),
                               ({"kind": "csv", "wave": "-1"}, 400)):
            await fetch(browser, "sample", fields, status=status)
        assert audited(site.app, "export") == []
    finally:
        await browser.close()


async def test_the_page_says_plainly_when_no_signing_key_is_set(tmp_path: Path, database_url: str,
                                                                 clock: Clock) -> None:
    async with running_console(tmp_path / "data", database_url, clock, SURVEYBOT_SURVEYS_DIR=SURVEYS,
                               SURVEYBOT_ENV="production") as site:
        await asyncio.to_thread(answered, site.app, clock, 5)
        browser = await site.signed_in("console:sam", Role.SCRUTINEER)
        try:
            page = " ".join((await browser.get("/admin/results/sample")).split())
            assert "Evidence packs can't be made here yet: the server has no signing key set up" in page
            assert "SURVEYBOT_SIGNING_KEY" in page and 'value="evidence"' not in page
            _, body = await fetch(browser, "sample", {"kind": "evidence"}, status=409)
            assert b"no signing key set up" in body
            assert not (tmp_path / "data" / "signing-key.pem").exists()  # nothing made up in production
            assert audited(site.app, "evidence.pack") == []
        finally:
            await browser.close()
    private, _, print_ = new_key_pair()
    async with running_console(tmp_path / "data", database_url, clock, SURVEYBOT_SURVEYS_DIR=SURVEYS,
                               SURVEYBOT_ENV="production", SURVEYBOT_SIGNING_KEY=private) as site:
        browser = await site.signed_in("console:sam", Role.SCRUTINEER)
        try:
            page = " ".join((await browser.get("/admin/results/sample")).split())
            assert f"whose fingerprint is <code>{print_}</code>" in page and 'value="evidence"' in page
        finally:
            await browser.close()


@given(st.one_of(st.none(), st.text(max_size=30), st.integers(-5, 2**40).map(str)),
       st.lists(st.integers(1, 50), max_size=5, unique=True).map(lambda w: tuple(sorted(w))))
def test_any_wave_sent_is_a_known_wave_or_refused_in_plain_words(typed: str | None, known: tuple[int, ...]) -> None:
    try:
        wave = wave_of(typed, known)
    except Refusal as refusal:
        assert refusal.status in (400, 404) and refusal.message.startswith("Wave: ")
        return
    assert wave is None or wave in known
    assert (wave is None) == (typed is None or not typed.strip())


@given(st.text(max_size=300))
def test_any_filename_is_plain(name: str) -> None:
    safe = filename(name)
    assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,119}", safe), safe


# --- journey 4 in Chromium ----------------------------------------------------------------------------------------

@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with consolekit_chromium() as launched:
        yield launched



async def axe(page: Any) -> list[str]:
    """Every accessibility problem axe-core finds on the page as it is now (any impact)."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(" "))}`);
    }""")
    return list(found)


async def tab_to(page: Any, name: str, limit: int = 60) -> None:
    """Press Tab until the control whose text is `name` has the focus; fails if the keyboard never reaches it."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => (document.activeElement.textContent || '').trim()") == name:
            return
    raise AssertionError(f"Tab never reached “{name}”")


async def test_journey_4_the_scrutineer_downloads_a_pack_the_verifier_accepts(chromium: Any, site: RunningConsole,
                                                                              tmp_path: Path) -> None:
    need(AXE.exists(), "axe-core is not installed (npm install --prefix tests/web)")
    site.grant(Role.SCRUTINEER, "console:sam")
    context = await chromium.new_context(viewport=PHONE, accept_downloads=True)
    context.set_default_timeout(20_000)
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"{message.text} {message.location.get('url')}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        await page.goto(f"{site.base}/admin/signin/{await asyncio.to_thread(site.link, 'console:sam')}")
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name="Welcome").wait_for()
        await page.get_by_role("navigation").get_by_role("link", name="Results").click()
        await page.get_by_role("heading", name="Results", exact=True).wait_for()
        await page.get_by_role("link", name="Sample of every kind").click()
        await page.get_by_role("heading", name="How much are we doing?").wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-results-390x844.png"), full_page=True)
        # by keyboard alone: Tab to the pack's button and press Enter
        await tab_to(page, "Download the evidence pack (zip)")
        async with page.expect_download() as waiting:
            await page.keyboard.press("Enter")
        download = await waiting.value
        assert download.suggested_filename == "sample-evidence.zip"
        pack = tmp_path / download.suggested_filename
        await download.save_as(str(pack))
        assert verified(site.app, pack, tmp_path).startswith("all 10 files match, signature valid")
        # no script errors, no Content-Security-Policy violations (the browser's own guess at /favicon.ico, outside
        # the console, is not the page's)
        assert [p for p in problems if not p.endswith("/favicon.ico")] == []
        # axe-core needs its script injected, which the console's CSP rightly forbids: a second look, signed in as
        # the same person, with the CSP set aside for the test's script only
        state = await context.storage_state()
    finally:
        await context.close()
    checking = await chromium.new_context(viewport=PHONE, storage_state=state, bypass_csp=True)
    try:
        page = await checking.new_page()
        for path in ("/admin/results", "/admin/results/sample", "/admin/results/sample?wave=2&compare=1"):
            await page.goto(f"{site.base}{path}")
            assert await axe(page) == [], path
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide at phone width"
    finally:
        await checking.close()
