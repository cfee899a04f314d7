"""Email invitations end to end (issue 21), against a real SMTP server on 127.0.0.1 (tests/fakes/smtp_server.py):
50 practitioners imported from a CSV, a campaign opens, 50 invitations arrive once each, 10 people follow their
personal links and finish in the web chat (one of them in Chromium, one carrying on from a second device), the
reminder reaches exactly the 40 others, unsubscribing stops everything for that person, a 421 is tried again and a
550 marks the contact unreachable, and no address appears in any stored row, export or log."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.app import App, build, make_channels
from bot.channels.email.channel import EmailChannel
from bot.channels.email.message import Letter
from bot.channels.email.message import build as build_email
from bot.cli import campaign as campaign_commands
from bot.cli.reporting import export_survey
from bot.config import Settings, SettingsError, secrets_of
from bot.domain.address import Address
from bot.reading import Reader
from bot.server import HttpServer
from bot.services.broadcast import Broadcaster
from bot.services.invitations import PersonalLinks
from bot.services.service import SurveyService
from storage import results
from storage.models import Campaign

from .conftest import LONDON, PEPPER, Clock
from .email_crashes import invitations_under_crashes
from .fakes.smtp_server import FakeSmtp
from .test_service_storage import dump
from .test_telegram import free_port

SURVEY = "policy-awareness"
SENDER = "Safeguarding Partnership <surveys@lscp.example.org>"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/i/([A-Za-z0-9_-]{43})")


def people(count: int) -> list[str]:
    return [f"practitioner.{n:02d}@agency{n % 3}.example.org" for n in range(count)]


@dataclass
class Mailing:
    app: App
    email: EmailChannel
    server: HttpServer
    broadcaster: Broadcaster
    clock: Clock

    @property
    def base(self) -> str:
        return self.server.base_url

    async def drain(self) -> int:
        return await self.broadcaster.drain(self.email, self.app.service.call)


@asynccontextmanager
async def mailing(tmp_path: Path, smtp: FakeSmtp, clock: Clock, **extra: str) -> AsyncIterator[Mailing]:
    port = free_port()
    env = {"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), "SURVEYBOT_PEPPER": PEPPER.decode(),
           "SURVEYBOT_PORT": str(port), "SURVEYBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "SURVEYBOT_SMTP_URL": smtp.url, "SURVEYBOT_MAIL_FROM": SENDER, "SURVEYBOT_SMTP_RATE": "1000",
           "SURVEYBOT_SMTP_RETRY_SECONDS": "1", **extra}
    app = await asyncio.to_thread(build, Settings.from_env(env), clock)
    channels = make_channels(app)
    email = next(c for c in channels if isinstance(c, EmailChannel))
    server = HttpServer("127.0.0.1", port)
    for channel in channels:
        await channel.start(server)
    await server.start()
    try:
        yield Mailing(app, email, server, Broadcaster(app.store, app.keys, app.catalogue, clock), clock)
    finally:
        for channel in channels:
            await channel.stop()
        await server.stop()
        app.service.close()
        app.engine.dispose()


def import_people(app: App, tmp_path: Path, addresses: list[str]) -> None:
    csv = tmp_path / "practitioners.csv"
    csv.write_text("who,tags\n" + "".join(f"email:{a},practitioners\n" for a in addresses))
    assert campaign_commands.import_contacts(app, csv) == 0


def add_campaign(app: App, clock: Clock, opens: datetime) -> None:
    with app.store.unit() as uow:
        uow.session.add(Campaign(code="practice-2026", survey_id=SURVEY, version=app.catalogue.latest(SURVEY).version,
                                 tags='["practitioners"]', channels='["email"]', opens_at=opens.astimezone(UTC),
                                 closes_at=(opens + timedelta(days=21)).astimezone(UTC), reminders="[3, 7]",
                                 created_on=clock.now.date()))


def link_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None
    return found[0]


async def post(http: aiohttp.ClientSession, url: str, event: dict[str, Any]) -> dict[str, Any]:
    async with http.post(f"{url}/api", json=event) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


def answer_to(drawn: dict[str, Any]) -> dict[str, Any]:
    """What a cooperative person does with the question the page shows: the first choice, or a few words."""
    asked = [e for e in drawn["effects"] if e["type"] in ("ask", "update")]
    prompt, turn = asked[-1]["prompt"], asked[-1]["turn"]
    if prompt["kind"] == "multi":
        return {"type": "ticks", "turn": turn, "indexes": [0]}
    if prompt["kind"] == "text":
        return {"type": "reply", "turn": turn, "text": "Good training, thank you"}
    if prompt["kind"] == "number":
        return {"type": "reply", "turn": turn, "text": "3"}
    return {"type": "pick", "turn": turn, "index": 0}


async def finish_by_link(url: str, stop_after: int | None = None) -> dict[str, Any]:
    """Follow a personal link with a fresh browser session (no cookies) and answer until the thanks."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as page:
            assert page.status == 200
        drawn = await post(http, url, {"type": "open"})
        answered = 0
        while not any(e["type"] == "finish" for e in drawn["effects"]):
            if stop_after is not None and answered == stop_after:
                return drawn
            drawn = await post(http, url, answer_to(drawn))
            answered += 1
        assert [e["completed"] for e in drawn["effects"] if e["type"] == "finish"] == [True]
        return drawn


async def finish_in_chromium(url: str) -> None:
    from .test_web_browser import CHROMIUM, FLAGS, answer_by_clicking, live_turn, need

    need(CHROMIUM.exists(), "Chromium is not installed at /usr/bin/chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await (await chromium.new_context(viewport={"width": 390, "height": 844})).new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            await page.goto(url)
            await page.locator(".question form").wait_for(timeout=10_000)
            while await live_turn(page) is not None:
                await answer_by_clicking(page)
            assert problems == []
        finally:
            await chromium.close()


def statuses(app: App) -> dict[tuple[str, str], int]:
    with app.engine.connect() as connection:
        return {(step, status): int(n) for step, status, n in connection.execute(text(
            "SELECT step, status, count(*) FROM outbox GROUP BY step, status"))}


async def test_fifty_practitioners_invited_ten_finish_forty_reminded_one_unsubscribes(
        tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    addresses = people(50)
    clock = Clock(datetime(2026, 3, 2, 9, 30, tzinfo=LONDON))
    opens = clock.now + timedelta(hours=1)
    with FakeSmtp() as smtp:
        async with mailing(tmp_path, smtp, clock, DATABASE_URL=database_url) as run:
            import_people(run.app, tmp_path, addresses)
            add_campaign(run.app, clock, opens)
            clock.now = opens
            assert [(r.step, r.planned) for r in run.broadcaster.run_due()] == [("invite", 50)]
            assert await run.drain() == 50
            assert sorted(r for m in smtp.recorder.received for r in m.recipients) == sorted(addresses)
            assert await run.drain() == 0  # nothing twice
            first = {a: smtp.recorder.to(a)[0] for a in addresses}
            invitation = first[addresses[0]]
            assert invitation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert invitation["From"] == SENDER and "policy" in invitation["Subject"].lower()
            links = {a: link_of(first[a]) for a in addresses}
            assert len(set(links.values())) == 50  # one personal link each

            finishers = addresses[:10]
            await finish_in_chromium(links[finishers[0]])
            half = await finish_by_link(links[finishers[1]], stop_after=2)  # a phone, then carries on at a desk
            assert not any(e["type"] == "finish" for e in half["effects"])
            for address in finishers[1:]:
                await finish_by_link(links[address])
            with run.app.engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM response WHERE completed")).scalar() == 10
                assert connection.execute(text("SELECT count(*) FROM participation WHERE completed")).scalar() == 10

            async with aiohttp.ClientSession() as http:  # a finished person's link says so, kindly
                drawn = await post(http, links[finishers[2]], {"type": "open"})
                assert not drawn["open"]

            received = smtp.recorder.count()
            clock.now = opens + timedelta(days=3)
            assert [(r.step, r.planned) for r in run.broadcaster.run_due()] == [("remind-1", 40)]
            assert await run.drain() == 40
            reminded = sorted(r for m in smtp.recorder.received[received:] for r in m.recipients)
            assert reminded == sorted(addresses[10:])
            reminder = smtp.recorder.to(addresses[10])[1]
            assert "reminder" in reminder["Subject"].lower()
            assert link_of(reminder) == links[addresses[10]]  # the same link all wave long

            leaver = addresses[10]
            stop_url = re.sub(r"\s+", "", str(reminder["List-Unsubscribe"])).strip("<>")
            async with aiohttp.ClientSession() as http:
                async with http.get(stop_url) as page:  # a mail scanner following the link unsubscribes nobody
                    assert page.status == 200 and "Unsubscribe" in await page.text()
                with run.app.engine.connect() as connection:
                    assert connection.execute(text("SELECT count(*) FROM contact WHERE opted_out")).scalar() == 0
                async with http.post(stop_url, data="List-Unsubscribe=One-Click", headers={
                        "Content-Type": "application/x-www-form-urlencoded"}) as done:  # RFC 8058, as Gmail posts
                    assert done.status == 200 and "unsubscribed" in await done.text()
            received = smtp.recorder.count()
            clock.now = opens + timedelta(days=7)
            assert [(r.step, r.planned) for r in run.broadcaster.run_due()] == [("remind-2", 39)]
            assert await run.drain() == 39
            assert leaver not in {r for m in smtp.recorder.received[received:] for r in m.recipients}

            shown = campaign_commands.describe(run.app, "practice-2026")  # `campaign show`: email counts too
            assert (shown["invited"], shown["completed"], shown["response_rate"]) == (50, 10, 20.0)
            with run.app.store.unit() as uow:  # what the report's response rate is made of
                facts = results.round_facts(uow, SURVEY, 1)
            assert (facts.invited, facts.invited_completed) == (50, 10)
            out = tmp_path / "answers.csv"
            app = run.app
            reader = Reader(app.settings, app.engine, app.store, app.catalogue, clock)
            assert export_survey(reader, SURVEY, "csv", None, str(out)) == 0
            stored = dump(run.app.store) + out.read_text() + json.dumps(shown)
    everything = stored + caplog.text
    for address in addresses:
        for part in (address, address.split("@")[0]):
            assert part not in everything
    assert "agency0.example.org" not in everything
    for token in links.values():
        assert token.rsplit("/", 1)[1] not in everything  # the links are stored as keyed hashes only


async def test_a_busy_server_is_tried_again_and_a_refused_address_is_marked_unreachable(tmp_path: Path,
                                                                                        database_url: str) -> None:
    addresses = people(5)
    busy, gone = addresses[1], addresses[3]
    clock = Clock(datetime(2026, 3, 2, 9, 30, tzinfo=LONDON))
    with FakeSmtp() as smtp:
        smtp.recorder.later[busy] = 2  # 421 twice, then accepted
        smtp.recorder.refuse.add(gone)  # 550: no such mailbox
        async with mailing(tmp_path, smtp, clock, DATABASE_URL=database_url) as run:
            import_people(run.app, tmp_path, addresses)
            add_campaign(run.app, clock, clock.now)
            assert [(r.step, r.planned) for r in run.broadcaster.run_due()] == [("invite", 5)]
            assert await asyncio.wait_for(run.drain(), 30) == 4
            assert sorted(r for m in smtp.recorder.received for r in m.recipients) == sorted(
                a for a in addresses if a != gone)
            assert [code for who, code in smtp.recorder.answered if who == busy] == [421, 421, 250]
            assert statuses(run.app) == {("invite", "sent"): 4, ("invite", "unreachable"): 1}
            with run.app.engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM contact WHERE unreachable")).scalar() == 1
            clock.now += timedelta(days=3)
            assert [(r.step, r.planned) for r in run.broadcaster.run_due()] == [("remind-1", 4)]  # not the gone one


async def test_a_wrong_or_expired_link_gets_a_kind_page_and_guessing_is_slowed(tmp_path: Path,
                                                                                database_url: str) -> None:
    clock = Clock(datetime(2026, 3, 2, 9, 30, tzinfo=LONDON))
    with FakeSmtp() as smtp:
        async with mailing(tmp_path, smtp, clock, DATABASE_URL=database_url) as run:
            import_people(run.app, tmp_path, people(1))
            add_campaign(run.app, clock, clock.now)
            run.broadcaster.run_due()
            assert await run.drain() == 1
            link = link_of(smtp.recorder.received[0].message)
            async with aiohttp.ClientSession() as http:
                async with http.get(link) as page:
                    assert page.status == 200
                async with http.post(link, data={"do": "open"}) as page:  # without JavaScript: forms, whole pages
                    assert page.status == 200 and 'name="turn"' in await page.text()
                async with http.get(f"{run.base}/i/{'x' * 43}") as page:
                    assert page.status == 404 and "not working any more" in await page.text()
                async with http.get(f"{run.base}/i/short") as page:
                    assert page.status == 404
                statuses_seen = []
                for n in range(30):
                    async with http.get(f"{run.base}/i/{n:043d}") as page:
                        statuses_seen.append(page.status)
                assert statuses_seen[:15] == [404] * 15 and statuses_seen[-1] == 429
                async with http.get(link) as page:  # a client that guessed is slowed, even with a right link
                    assert page.status == 429 and "Retry-After" in page.headers
            # the round's key destroyed: the link dies with it
            from bot.services import retention

            run.email.pages.misses = type(run.email.pages.misses)()  # type: ignore[union-attr]
            retention.destroy_key(run.app.store, SURVEY, 1, clock.now.date())
            async with aiohttp.ClientSession() as http, http.get(link) as page:
                assert page.status == 404
            with run.app.engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM personal_link WHERE kind = 'invite'")
                                          ).scalar() == 0


async def test_kill_9_mid_send_loses_no_invitation_and_repeats_at_most_one_per_kill(tmp_path: Path) -> None:
    """A real `surveybot run` sending to the SMTP server, killed twice with SIGKILL while it sends
    (tests/email_crashes.py; bench/email_bench.py runs 10,000)."""
    run = await invitations_under_crashes(tmp_path, f"sqlite:///{tmp_path / 'surveybot.db'}", contacts=150, rate=30,
                                          kills=2, seed=21, timeout=300)
    assert run.kills >= 1, "the sending finished before any kill: nothing was tested"
    assert run.missing == 0
    assert run.duplicates <= run.kills


def test_the_email_says_what_a_person_needs_and_tracks_nothing() -> None:
    letter = Letter(Address("email", "school.example.org", "sam"), SENDER, "Hello! Please tell us.", "Escalation",
                    4, date(2026, 3, 23), "https://surveys.example.org/i/" + "a" * 43,
                    "https://surveys.example.org/u/" + "b" * 43)
    message = build_email(letter, datetime(2026, 3, 2, 9, 30, tzinfo=LONDON))
    assert message["To"] == "sam@school.example.org" and message["From"] == SENDER
    assert message["List-Unsubscribe"] == f"<{letter.stop_link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    for body in (plain.get_content(), html.get_content()):
        for needed in ("Escalation", "about 4 minutes", "Monday 23 March", "without your name", letter.link,
                       letter.stop_link, "Safeguarding Partnership", "Start the survey"):
            assert needed in body, needed
        links = set(re.findall(r"https?://[^\s\"<>]+", body))
        assert links == {letter.link, letter.stop_link}  # nothing else: no tracker, no asset from elsewhere
    assert "<img" not in html.get_content() and "src=" not in html.get_content()
    reminder = build_email(replace(letter, reminder=True), datetime(2026, 3, 5, 9, 30, tzinfo=LONDON))
    assert reminder["Subject"].startswith("A gentle reminder")


@pytest.mark.parametrize(("env", "needle"), [
    ({"SURVEYBOT_SMTP_URL": "http://mail.example.org"}, "SURVEYBOT_SMTP_URL should look like"),
    ({"SURVEYBOT_SMTP_URL": "smtp://mail.example.org:99999"}, "SURVEYBOT_SMTP_URL should look like"),
    ({"SURVEYBOT_SMTP_URL": "smtp://u:s3cret-pass@mail.example.org"}, "SURVEYBOT_MAIL_FROM is needed"),
    ({"SURVEYBOT_SMTP_URL": "smtp://mail.example.org", "SURVEYBOT_MAIL_FROM": "nobody"}, "SURVEYBOT_MAIL_FROM should"),
    ({"SURVEYBOT_SMTP_URL": "smtp://mail.example.org", "SURVEYBOT_MAIL_FROM": "a@b.org"}, "SURVEYBOT_PUBLIC_URL is"),
    ({"SURVEYBOT_SMTP_RATE": "fast"}, "SURVEYBOT_SMTP_RATE should"),
    ({"SURVEYBOT_SMTP_RATE": "0"}, "SURVEYBOT_SMTP_RATE should"),
    ({"SURVEYBOT_SMTP_RETRY_SECONDS": "0"}, "SURVEYBOT_SMTP_RETRY_SECONDS should"),
])
def test_email_settings_mistakes_get_one_line_naming_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert needle in str(caught.value) and "\n" not in str(caught.value) and "s3cret" not in str(caught.value)


def test_email_settings_read_the_server_and_keep_its_password_secret() -> None:
    settings = Settings.from_env({"SURVEYBOT_SMTP_URL": "smtps://surveys%40lscp.example.org:pa%3Ass-word@mail.example.org",
                                  "SURVEYBOT_MAIL_FROM": SENDER, "SURVEYBOT_PUBLIC_URL": "https://surveys.example.org"})
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.implicit_tls) == ("mail.example.org", 465, True)
    assert (settings.smtp.user, settings.smtp.password) == ("surveys@lscp.example.org", "pa:ss-word")
    assert "pa:ss-word" not in repr(settings) and "pa:ss-word" in secrets_of(settings)


def test_doctor_checks_the_smtp_server_without_sending(tmp_path: Path) -> None:
    from bot.cli.doctor import examine

    def email_findings(url: str) -> list[tuple[str, str]]:
        settings = Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_SMTP_URL": url,
                                      "SURVEYBOT_MAIL_FROM": SENDER, "SURVEYBOT_PUBLIC_URL": "https://x.example.org"})
        return [(f.level, f.text) for f in examine(settings) if f.topic == "email"]

    with FakeSmtp() as smtp:
        [(level, said)] = email_findings(smtp.url)
        assert level == "ok" and "answered" in said
        assert smtp.recorder.count() == 0
    [(level, said)] = email_findings(f"smtp://127.0.0.1:{free_port()}")  # nobody listening
    assert level == "PROBLEM" and "cannot reach the SMTP server" in said


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80) | st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True))
def test_any_token_opens_nothing_and_unsubscribes_nobody_unless_it_is_one(links: PersonalLinks, token: str) -> None:
    """What arrives in /i/TOKEN and /u/TOKEN comes from anyone: it is a link, or nothing, and never an error."""
    assert links.open(token) is None
    assert links.stop(token) is False


@pytest.fixture
def links(service: SurveyService) -> PersonalLinks:
    return PersonalLinks(service.store, service.keys, service.catalogue, service.clock)
