"""Reports, exports and evidence packs in Teams as short-lived download links, and safeguarding alerts in a Teams
channel: the real bot (bot.app's wiring, the real Agents SDK) against the fake Bot Connector and token issuers, the
links fetched over real HTTP from the bot's own server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import re
import string
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings, SettingsError
from bot.engine import messages as msg
from bot.reporting import verify_pack
from bot.reporting.delivery import HELP, Request
from bot.reporting.links import EXPIRED, NO_ROLE, Ticket, parse
from bot.reporting.signing import new_key_pair
from bot.services.privacy import Keys, decode_pepper
from bot.services.roles import Role, Roles, parse_who
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir, load_survey_file
from storage import database
from storage.unit_of_work import Store
from tests import dataset
from tests.conftest import SAMPLE, Clock
from tests.fakes.teams_api import TENANT_ID, FakeTeams, Message, TeamsUser, fake_teams, walk
from tests.test_safeguarding import WebPerson
from tests.test_teams_channel import OK, PEPPER, Bot, running_bot
from tests.test_web_browser import AXE, PHONE, axe, need, small_targets
from tests.test_web_browser import browser as chromium  # noqa: F401 (the fixture, Chromium as the web chat's tests run it)

DELIVERED = ("report", "export", "evidence.sent")
LEAD_CHANNEL = "19:0a1b2c3d4e5f60718293a4b5c6d7e8f9@thread.tacv2"


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[FakeTeams]:
    async with fake_teams(tmp_path / "fake") as fake:
        yield fake


def answered(database_url: str, clock: Clock) -> None:
    """The two waves of the sample survey (tests/dataset.py), answered through the service into this database."""
    engine = database.connect(database_url)
    database.upgrade(engine)
    builtin = SurveyCatalogue.from_dirs([builtin_survey_dir()]).all()
    service = SurveyService(Store(engine), SurveyCatalogue([load_survey_file(SAMPLE), *builtin]),
                            Keys(decode_pepper(PEPPER)), clock)
    service.publish_all()
    dataset.build(service, clock)
    service.close()
    engine.dispose()


@asynccontextmanager
async def reporting_bot(teams: FakeTeams, tmp_path: Path, database_url: str, **settings: str) -> AsyncIterator[Bot]:
    clock = Clock()
    answered(database_url, clock)
    key, _, _ = new_key_pair()
    async with running_bot(teams, tmp_path, database_url, clock, SURVEYBOT_SIGNING_KEY=key, **settings) as bot:
        yield bot


def scrutineer(bot: Bot, person: TeamsUser) -> None:
    Roles(bot.app.store, bot.app.keys, bot.app.service.clock).grant(
        Role.SCRUTINEER, parse_who(f"teams:{TENANT_ID}:{person.aad}", None))


def link_of(message: Message) -> str:
    (url,) = [a["url"] for c in message.cards for a in walk(c) if a.get("type") == "Action.OpenUrl"]
    return str(url)


async def ask(person: TeamsUser, command: str) -> Message:
    assert await person.say(command) in OK
    return await person.next_message(timeout=30)


async def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.request(method, url) as response:
        return response.status, dict(response.headers), await response.read()


def delivered(bot: Bot) -> list[tuple[str, dict[str, Any]]]:
    return [(action, subject) for action in DELIVERED for subject in bot.audited(action)]


# --- a scrutineer gets each kind of file, on SQLite and PostgreSQL ----------------------------------------------------

async def test_a_scrutineer_downloads_each_kind_of_file_through_its_link(
        teams: FakeTeams, tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    async with reporting_bot(teams, tmp_path, database_url) as bot:
        person = teams.person(name="Riley Scrutineer")
        refused = await ask(person, "/report sample 2 compare 1")
        assert refused.text == "Sorry: to export results and evidence you need the admin or scrutineer role."
        assert [(r["kind"], r["channel"]) for r in bot.audited("export.refused")] == [("report", "teams")]
        scrutineer(bot, person)
        assert (await ask(person, "/export sample")).text.startswith("Which format?")
        assert (await ask(person, "/report")).text == HELP
        assert (await ask(person, "/report nosuch")).text.startswith("There is no survey called “nosuch”")

        files: dict[str, tuple[dict[str, str], bytes]] = {}
        links = []
        for command in ("/report sample 2 compare 1", "/export sample csv 1", "/export sample xlsx",
                        "/export sample json 2", "/evidence sample"):
            offered = await ask(person, command)
            assert "within 10 minutes" in offered.text
            links.append(url := link_of(offered))
            assert url.startswith(f"{bot.server.base_url}/teams/files/")
            status, headers, page = await fetch(url)  # the page: nothing built yet, nothing audited
            assert status == 200 and headers["Cache-Control"] == "no-store" and b"Download" in page
            assert delivered(bot) == [] or command != "/report sample 2 compare 1"
            status, headers, body = await fetch(url, "POST")
            assert status == 200, body[:300]
            assert headers["Cache-Control"] == "no-store"
            files[headers["Content-Disposition"]] = (headers, body)

        names = {re.search(r'filename="([^"]+)"', k)[1]: v for k, v in files.items()}  # type: ignore[index]
        assert sorted(names) == ["sample-evidence.zip", "sample-wave1.csv", "sample-wave2-report.html",
                                 "sample-wave2.json", "sample.xlsx"]
        assert all(k.startswith("attachment; ") for k in files)
        headers, report = names["sample-wave2-report.html"]
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert "“Yes” to “Did you know the policy?” rose from 40% to 75% (a significant change)." in report.decode()
        headers, csv = names["sample-wave1.csv"]
        assert headers["Content-Type"] == "text/csv; charset=utf-8"
        assert len(csv.decode().splitlines()) == 21, "a header and the 20 responses of wave 1"
        headers, exported = names["sample-wave2.json"]
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert '"wave": 2' in exported.decode() and '"wave": 1' not in exported.decode()
        headers, workbook = names["sample.xlsx"]
        assert headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
        with zipfile.ZipFile(io.BytesIO(workbook)) as book:
            sheet = book.read("xl/worksheets/sheet1.xml").decode()
        assert sheet.count("<row ") == 41, "a header and the 40 responses of both waves"
        headers, pack = names["sample-evidence.zip"]
        assert headers["Content-Type"] == "application/zip"
        (tmp_path / "pack.zip").write_bytes(pack)
        assert verify_pack.main([str(tmp_path / "pack.zip")]) == 0, "the pack verifies with the shipped checker"

        audited = delivered(bot)
        assert sorted(a for a, _ in audited) == ["evidence.sent", "export", "export", "export", "report"]
        who = {s["who"] for _, s in audited}
        assert len(who) == 1 and {s["via"] for _, s in audited} == {"teams"}
        assert who == {r["who"] for r in bot.audited("role.granted")}, "the fingerprint a grant is audited with"
        evidence = json.dumps(audited) + " ".join(links)
        stored = bot.dump()
    logs = caplog.text
    assert "refused a download link" not in logs
    for secret in (person.user, person.aad, person.name, person.conversation, person.user[3:]):
        assert secret not in evidence, "no Teams id or name in a link or the audit log"
        assert secret not in logs and secret not in stored
    for url in links:
        assert url.rsplit("/", 1)[1] not in logs, "no token is logged"


# --- refused links: expired, altered, another survey's, forged, or its person's role gone ---------------------------

def resigned(token: str, change: dict[str, Any], key: bytes | None = None) -> str:
    """The token with its payload changed, keeping its signature, or signed again with `key` (a forger's)."""
    payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields.update(change)
    raw = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    if key is not None:
        signature = base64.urlsafe_b64encode(hmac.digest(key, raw, "sha256")).decode().rstrip("=")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + signature


async def test_expired_altered_forged_and_other_survey_links_are_refused_and_nothing_is_delivered(
        teams: FakeTeams, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    url = f"sqlite:///{tmp_path / 'surveybot.db'}"
    async with reporting_bot(teams, tmp_path, url) as bot:
        person = teams.person()
        scrutineer(bot, person)
        link = link_of(await ask(person, "/export sample csv 1"))
        base, token = link.rsplit("/", 1)
        flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
        bad = {
            "altered signature": flipped,
            "another survey": resigned(token, {"s": "you-said"}),
            "another wave": resigned(token, {"w": 2}),
            "later expiry": resigned(token, {"e": 2**39}),
            "forged": resigned(token, {"e": 2**39}, key=b"not-the-key" * 3),
            "cut short": token[: len(token) // 2],
            "not a token": "hello",
        }
        for what, wrong in bad.items():
            for method in ("GET", "POST"):
                status, headers, body = await fetch(f"{base}/{wrong}", method)
                assert status == 403, what
                assert headers["Content-Type"].startswith("text/html") and "Content-Disposition" not in headers
                assert b"isn&#39;t right" in body and b"Traceback" not in body, what
        bot.app.service.clock.now += timedelta(minutes=11)  # type: ignore[attr-defined]
        for method in ("GET", "POST"):
            status, _, body = await fetch(link, method)
            assert status == 410 and EXPIRED.split(":")[0].encode() in body
        assert delivered(bot) == [], "nothing built or audited for a refused link"

        bot.app.service.clock.now -= timedelta(minutes=11)  # type: ignore[attr-defined]
        Roles(bot.app.store, bot.app.keys, bot.app.service.clock).revoke(
            Role.SCRUTINEER, parse_who(f"teams:{TENANT_ID}:{person.aad}", None))
        status, _, body = await fetch(link, "POST")
        assert status == 403 and NO_ROLE.split(":")[0][:40].encode() in body.replace(b"&#39;", b"'")
        assert delivered(bot) == []
        status, _, _ = await fetch(link.replace("/teams/files/", "/teams/files/x"), "POST")
        assert status == 403
    assert token not in caplog.text


async def test_no_link_in_a_team_channel_and_a_stranger_gets_the_plain_no(teams: FakeTeams, tmp_path: Path) -> None:
    async with reporting_bot(teams, tmp_path, f"sqlite:///{tmp_path / 'surveybot.db'}") as bot:
        person = teams.person()
        scrutineer(bot, person)
        in_channel = person.message("/report sample", conversation=LEAD_CHANNEL, conversation_type="channel")
        assert await person.send(in_channel) in OK
        hint = await teams.connector.next_message(LEAD_CHANNEL)
        assert "private chat" in hint.text and not [a for c in hint.cards for a in walk(c) if "url" in a]
        stranger = teams.person()
        for command in ("/export sample csv", "/export sample csv 1"):
            assert (await ask(stranger, command)).text.startswith("Sorry: to export results")
        assert len(bot.audited("export.refused")) == 1, "a stranger's refusals: the first of each kind a day"


# --- the link parser: any text is refused or read, never an exception ---------------------------------------------

@given(st.text(max_size=700) | st.from_regex(r"[A-Za-z0-9_-]{0,300}\.[A-Za-z0-9_-]{0,60}", fullmatch=True))
def test_any_text_is_no_link_or_a_valid_one(text: str) -> None:
    parsed = parse(text)
    if parsed is not None:
        ticket = parsed[0]
        assert ticket.request.kind in ("report", "csv", "xlsx", "json", "evidence")
        assert ticket.pack() == parsed[1] and len(parsed[2]) == 32


@given(st.sampled_from(["report", "csv", "xlsx", "json", "evidence"]), st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}",
       fullmatch=True), st.none() | st.integers(1, 10**6), st.integers(0, 2**39))
def test_a_ticket_reads_back_as_itself(kind: str, survey: str, wave: int | None, expires: int) -> None:
    ticket = Ticket(Request(kind, survey, wave, 1 if kind == "report" else None), hashlib.sha256(b"x").hexdigest(),
                    expires)
    payload = ticket.pack()
    token = (base64.urlsafe_b64encode(payload).decode().rstrip("=") + "."
             + base64.urlsafe_b64encode(b"s" * 32).decode().rstrip("="))
    assert parse(token) == (ticket, payload, b"s" * 32)


@given(st.binary(min_size=32, max_size=32), st.sampled_from(range(64)), st.booleans())
def test_a_link_changed_in_any_character_of_either_part_is_no_link(signature: bytes, letter: int,
                                                                    in_payload: bool) -> None:
    """Base64 ignores the unused bits of a part's last character, so "...B", "...C" and "...D" can decode to the
    same bytes: a link changed that way must not read as the same signed bytes (only the spelling the bot writes is
    read), so its signature check (Links.read) refuses it like any other change."""
    ticket = Ticket(Request("csv", "sample", 1, None), hashlib.sha256(b"x").hexdigest(), 2**30)
    parts = [base64.urlsafe_b64encode(ticket.pack()).decode().rstrip("="),
             base64.urlsafe_b64encode(signature).decode().rstrip("=")]
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    which = 0 if in_payload else 1
    changed = parts[which][:-1] + alphabet[letter]
    assert parse(".".join(parts)) is not None
    if changed != parts[which]:
        read = parse(".".join([changed, parts[1]] if in_payload else [parts[0], changed]))
        assert read is None or read[1 if in_payload else 2] != (ticket.pack() if in_payload else signature)


# --- safeguarding alerts in a Teams channel ---------------------------------------------------------------------------

def test_the_teams_alert_channel_setting_is_checked_in_one_line() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"SURVEYBOT_SAFEGUARDING_TEAMS_CHANNEL": "General"})
    assert str(caught.value).startswith("SURVEYBOT_SAFEGUARDING_TEAMS_CHANNEL should be") and "\n" not in str(
        caught.value)
    with pytest.raises(SettingsError, match=r"^SURVEYBOT_TEAMS_SERVICE_URL should be"):
        Settings.from_env({"SURVEYBOT_TEAMS_SERVICE_URL": "smba.trafficmanager.net"})
    assert Settings.from_env({"SURVEYBOT_SAFEGUARDING_TEAMS_CHANNEL": LEAD_CHANNEL}).safeguarding_teams_channel == \
        LEAD_CHANNEL


async def test_a_young_persons_words_on_the_web_alert_the_teams_channel_anonymously(
        teams: FakeTeams, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(teams, tmp_path, SURVEYBOT_SAFEGUARDING_TEAMS_CHANNEL=LEAD_CHANNEL,
                           SURVEYBOT_TEAMS_SERVICE_URL=teams.connector.url) as bot:
        assert "no safeguarding alert route is set up" not in caplog.text
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            young = WebPerson(session, f"{bot.server.base_url}/s/you-said")
            await young.to_text_question()
            await young.send({"type": "reply", "turn": young.waiting["turn"],  # type: ignore[index]
                              "text": "he hurts me when mum is out zq7"})
            alert = await teams.connector.next_message(LEAD_CHANNEL)
        assert "abuse" in alert.text and "the web chat" in alert.text and "zq7" not in alert.text
        (raised,) = bot.audited("safeguarding.alert")
        assert raised["alert"] in alert.text and not raised["consent"]
        (ack,) = [d for d in alert.data() if d.startswith("sgack:")]
        lead = teams.person(name="Lee Lead")
        press = lead.activity("message", conversation=LEAD_CHANNEL, conversation_type="channel",
                              value={"surveybot": ack, "alert": alert.text}, replyToId=alert.id)
        elsewhere = lead.submit(alert, ack)  # the same press in someone's personal chat: not the lead's channel
        assert await lead.send(elsewhere) in OK
        assert await lead.send(press) in OK
        await teams.connector.wait_for(lambda: alert.updates == 1)
        assert "Acknowledged on 2 March 2026." in alert.text and not alert.data()
        assert bot.audited("safeguarding.acknowledged") == [{"alert": raised["alert"]}]
        again = lead.activity("message", conversation=f"{LEAD_CHANNEL};messageid={alert.id}",
                              conversation_type="channel", value={"surveybot": ack}, replyToId=alert.id)
        assert await lead.send(again) in OK
        assert (await teams.connector.next_message(f"{LEAD_CHANNEL};messageid={alert.id}")).text == \
            msg.ALERT_UNKNOWN
        stored = bot.dump()
    assert "zq7" not in stored and "zq7" not in caplog.text
    assert lead.user not in stored and lead.aad not in caplog.text


# --- the download page in a real browser: a phone's screen, the keyboard alone, axe-core ------------------------------

async def test_the_download_page_works_on_a_phone_with_the_keyboard(
        teams: FakeTeams, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    need(AXE.exists(), "axe-core is not installed (npm install --prefix tests/web)")
    async with reporting_bot(teams, tmp_path, f"sqlite:///{tmp_path / 'surveybot.db'}") as bot:
        person = teams.person()
        scrutineer(bot, person)
        link = link_of(await ask(person, "/export sample csv 1"))
        # bypass_csp only lets the test inject axe-core; the page itself needs no script at all
        context = await chromium.new_context(viewport=PHONE, bypass_csp=True, accept_downloads=True)
        page = await context.new_page()
        assert (await page.goto(link)).status == 200
        assert await axe(page) == [] and await small_targets(page) == []
        assert delivered(bot) == [], "opening the link builds nothing"
        async with page.expect_download() as waiting:
            for _ in range(10):  # Tab until the Download button has the focus, then Enter
                await page.keyboard.press("Tab")
                if await page.evaluate("() => document.activeElement.textContent") == "Download":
                    break
            await page.keyboard.press("Enter")
        download = await waiting.value
        assert download.suggested_filename == "sample-wave1.csv"
        assert len(Path(await download.path()).read_text().splitlines()) == 21
        assert [a for a, _ in delivered(bot)] == ["export"]
        refused = await page.goto(link[:-3])
        assert refused.status == 403 and await axe(page) == []
        await context.close()
