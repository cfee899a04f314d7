"""Errors, never tracebacks (issue 19, item 6): whatever a user gets wrong ends in one line naming the file, line,
field or setting and a non-zero exit on the command line, a 4xx over HTTP, and nothing stored."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.channels.web import Refused, read_body
from bot.engine.conversation import Pick
from bot.metrics import METRICS
from bot.services.contact_book import TAG, CampaignError, contact_rows

from .fakes.telegram_api import FakeTelegram
from .test_cli import REPO, free_port, surveybot
from .test_web import client, count, running

TOKEN = "123456789:AAE-not-a-real-token-but-shaped-like-one"


def one_line(result: object, *needles: str) -> str:
    """The single `surveybot: ...` line of a failed command, checked to hold every needle and no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    lines = [line for line in stderr.splitlines() if line.startswith("surveybot: ") or ".csv:" in line]
    assert len(lines) == 1 and all(n in lines[0] for n in needles), stderr
    assert "Traceback" not in stderr and len(lines[0]) < 400, stderr
    return lines[0]


# --- starting the bot ---------------------------------------------------------------------------------------------


def test_a_misspelt_setting_is_named_with_a_hint_and_its_value_never_shown(tmp_path: Path) -> None:
    """SURVEYBOT_DATABASE_URL for DATABASE_URL used to keep the embedded SQLite database without a word."""
    secret = "postgresql://surveybot:do-not-print-me@db.example/surveybot"
    result = surveybot(tmp_path, "surveys", "list", SURVEYBOT_DATABASE_URL=secret, SURVEYBOT_SMTP_RAET="5")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "is set but surveybot does not use it" in line]
    assert len(lines) == 2, result.stderr
    assert "SURVEYBOT_DATABASE_URL" in lines[0] and "did you mean DATABASE_URL?" in lines[0]
    assert "SURVEYBOT_SMTP_RAET" in lines[1] and "did you mean" not in lines[1]
    assert "do-not-print-me" not in result.stderr + result.stdout


def test_no_documented_setting_is_reported_as_unused() -> None:
    """Each name deploy/.env.example documents, set on its own, is read (or refused by name), never called unused."""
    from bot.config import Settings, SettingsError

    from .test_deploy import settings_documented

    names = sorted(n for n in settings_documented() if n.startswith("SURVEYBOT_"))
    assert len(names) >= 30
    with_smtp = {"SURVEYBOT_SMTP_URL": "smtp://mail.example.org:587", "SURVEYBOT_MAIL_FROM": "surveys@lscp.example.org",
                 "SURVEYBOT_PUBLIC_URL": "https://surveys.example.org"}
    for name in names:
        env = {name: "1"} | (with_smtp if name == "SURVEYBOT_SMTP_CA_FILE" else {})  # read only with SMTP_URL
        try:
            assert Settings.from_env(env).unread == (), name
        except SettingsError as exc:
            assert name in str(exc)


NUMBER_SETTINGS = ("SURVEYBOT_PORT", "SURVEYBOT_KEY_DAYS", "SURVEYBOT_MIN_GROUP", "SURVEYBOT_SWEEP_SECONDS",
                   "SURVEYBOT_ALERT_WINDOW_SECONDS", "SURVEYBOT_LEADER_RETRY_SECONDS")


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(NUMBER_SETTINGS),
       st.one_of(st.text(max_size=6), st.sampled_from(["²", "٣", "１２", "3⁰", "+5", " 5", "5.0", "-1", "0"])))
def test_a_number_setting_is_read_or_refused_by_name_whatever_is_typed(name: str, text: str) -> None:
    """Unicode digits ("²", Arabic-Indic, full-width) pass str.isdigit() but not int(): each is one line naming the
    setting, never a ValueError from deep inside."""
    from bot.config import Settings, SettingsError

    try:
        Settings.from_env({name: text})
    except SettingsError as exc:
        assert name in str(exc) and "\n" not in str(exc)


def test_a_busy_port_is_one_line_naming_the_address_and_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = surveybot(tmp_path, "run", SURVEYBOT_PORT=str(port))
    one_line(result, f"127.0.0.1:{port}", "SURVEYBOT_PORT")
    assert "SURVEYBOT_PORT" in surveybot(tmp_path, "run", "--help").stdout


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("oops")
    result = surveybot(tmp_path, "chat", "you-said", SURVEYBOT_DATA_DIR=str(tmp_path / "not-a-folder"))
    one_line(result, "SURVEYBOT_DATA_DIR", "is a file")


def test_telegram_out_of_reach_at_start_is_one_line_without_the_token(tmp_path: Path) -> None:
    nobody = free_port()  # nothing listens there
    result = surveybot(tmp_path, "run", SURVEYBOT_PORT=str(free_port()), TELEGRAM_BOT_TOKEN=TOKEN,
                       TELEGRAM_API_URL=f"http://127.0.0.1:{nobody}")
    one_line(result, "cannot reach the Telegram Bot API", f"127.0.0.1:{nobody}", "TELEGRAM_API_URL")
    assert TOKEN.split(":")[1] not in result.stderr


def test_a_refused_telegram_token_is_one_line(tmp_path: Path) -> None:
    class Refusing(BaseHTTPRequestHandler):
        """The Bot API's answer to a token it does not know."""

        def do_POST(self) -> None:
            body = json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = surveybot(tmp_path, "run", SURVEYBOT_PORT=str(free_port()), TELEGRAM_BOT_TOKEN=TOKEN,
                           TELEGRAM_API_URL=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    one_line(result, "Telegram refused TELEGRAM_BOT_TOKEN")
    assert TOKEN.split(":")[1] not in result.stderr


# --- contacts import and roles ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "needles"), [
    ("telegram:1:1001,police\ntelegram:1:1002," + "x" * 200_000 + "\n", (":3:", "longer than 10,000 characters")),
    ("telegram:1:1001,police\x00\n", (":2:", "`police?` is not a tag", "U+0000")),
    ("telegram:1:1001,police\ntelegram:@jo_smith,police\n", (":3:", "never an @username", "t.me/")),
    ("telegram:abc,police\n", (":2:", "Telegram user id is a whole number")),
    ("telegram:123:-5,police\n", (":2:", "Telegram user id is a whole number")),
    ("telegram:1:12345678901234567890,police\n", (":2:", "Telegram user id")),
    ("console:" + "k" * 5_000 + ",police\n", (":2:", "5,008 characters long")),
    ("slack:T1:U1,police\n\"unclosed,x\n", (":3:", "should look like")),
])
def test_a_bad_contacts_file_names_its_line_and_imports_nothing(tmp_path: Path, rows: str,
                                                               needles: tuple[str, ...]) -> None:
    people = tmp_path / "people.csv"
    people.write_text("who,tags\n" + rows, encoding="utf-8")
    one_line(surveybot(tmp_path, "contacts", "import", str(people)), str(people), *needles)
    assert "0 contact(s)" in surveybot(tmp_path, "contacts", "list").stdout


def test_contacts_import_is_all_or_nothing_across_batches(tmp_path: Path, database_url: str,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """On SQLite and PostgreSQL: a bad line after thousands of good ones (several batches already written) still
    leaves nothing stored; the same file corrected imports every row, and again only tags them."""
    from bot.app import build
    from bot.cli import campaign as campaign_commands
    from bot.config import Settings
    from bot.services import contact_book
    from storage import campaigns as store_campaigns

    from .conftest import PEPPER

    monkeypatch.setattr(contact_book, "IMPORT_BATCH", 300)  # many batches from a small file
    app = build(Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": PEPPER.decode(),
                                   "DATABASE_URL": database_url}))

    def stored() -> list[list[str]]:
        with app.store.unit() as uow:
            return [store_campaigns.tags_of(c) for c in store_campaigns.contacts(uow)]

    people = tmp_path / "people.csv"
    good = "".join(f"telegram:1:{1000 + n},staff;police\n" for n in range(2_500))
    people.write_text("who,tags\n" + good + "telegram:1:@late,staff\n")
    with pytest.raises(CampaignError, match=rf"^{re.escape(str(people))}:2502: WHO `telegram:1:@late`"):
        campaign_commands.import_contacts(app, people)
    assert stored() == []
    people.write_text("who,tags\n" + good + "telegram:1:1000,health\n")  # a person twice: tags merged
    campaign_commands.import_contacts(app, people)
    assert "Imported 2501 contact(s): 2500 new, 1 updated." in capsys.readouterr().out
    tags = stored()
    assert len(tags) == 2_500 and ["health", "police", "staff"] in tags and tags.count(["police", "staff"]) == 2_499
    campaign_commands.import_contacts(app, people)
    assert "0 new, 2501 updated" in capsys.readouterr().out and len(stored()) == 2_500
    app.engine.dispose()


def test_contact_rows_are_read_lazily(tmp_path: Path) -> None:
    """The import holds a batch, never the file: rows come out as lines go in."""
    read = 0

    def lines() -> Iterator[str]:
        nonlocal read
        yield "who,tags\r\n"
        for n in range(1_000_000):
            read += 1
            yield f"telegram:1:{n + 1},staff\r\n"

    rows = contact_rows(Path("people.csv"), lines(), None)
    first = next(rows)
    assert first[0].user == "1" and read == 1
    for _ in range(9):
        next(rows)
    assert read == 10
    rows.close()
    assert csv.field_size_limit() == 131_072, "the csv module's process-wide limit is put back"
    bad = contact_rows(Path("people.csv"), iter(["who\n", "telegram:1:2\n", "telegram:x\n"]), None)
    assert next(bad)[0].user == "2"
    with pytest.raises(CampaignError, match=r"^people.csv:3: "):
        next(bad)


@given(st.lists(st.text(max_size=60) | st.from_regex(r"(telegram:1:[0-9@a-z-]{1,8}|slack:T1:U[A-Z0-9]{1,4}),"
                                                      r"[a-z;, \x00A-Z]{0,20}", fullmatch=True), max_size=8))
def test_any_contacts_file_gives_rows_or_one_file_line_error(lines: list[str]) -> None:
    """Whatever the CSV holds: usable rows, or a CampaignError naming people.csv and a line, never another error."""
    text = "who,tags\n" + "\n".join(lines) + "\n"
    try:
        for address, tags in contact_rows(Path("people.csv"), io.StringIO(text, newline=""), "5550001"):
            assert address.channel in ("telegram", "slack") and all(TAG.fullmatch(t) for t in tags)
    except CampaignError as exc:
        assert re.match(r"^people\.csv:\d+: ", str(exc)) and "\n" not in str(exc) and len(str(exc)) < 400


def test_roles_grant_refuses_an_id_the_platform_could_never_have(tmp_path: Path) -> None:
    for who, needle in (("telegram:abc", "Telegram user id"), ("telegram:123:-5", "Telegram user id"),
                        ("console:" + "n" * 100_000, "characters long")):
        one_line(surveybot(tmp_path, "roles", "grant", "admin", who, TELEGRAM_BOT_TOKEN=TOKEN), needle)
    assert surveybot(tmp_path, "roles", "list").stdout.strip() == "Nobody holds a role."


# --- survey files -------------------------------------------------------------------------------------------------

def test_a_huge_survey_file_is_refused_quickly_with_its_size(tmp_path: Path) -> None:
    sample = (REPO / "tests" / "surveys" / "sample.yaml").read_text()
    head, _, questions = sample.partition("questions:\n")
    huge = tmp_path / "huge.yaml"
    huge.write_text(head + "questions:\n" + questions * (300 * 1024 // len(questions) + 1))
    result = surveybot(tmp_path, "surveys", "check", str(huge))
    assert result.returncode == 1 and f"{huge}:1: the file is " in result.stderr and "at most 256 KB" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_survey_with_too_many_questions_is_refused(tmp_path: Path) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("id: many\nversion: 1\ntitle: Many\naudience: practitioners\nintro: Hello.\nquestions:\n" + "".join(
        f"  - id: q{n}\n    kind: yes_no\n    text: Is {n} fine?\n" for n in range(301)))
    result = surveybot(tmp_path, "surveys", "check", str(many))
    assert result.returncode == 1 and "301 questions; a survey may have at most 300" in result.stderr


# --- the web chat's API ---------------------------------------------------------------------------------------------

def errors_logged() -> float:
    """The error counter /metrics shows (bot.metrics.ErrorCounter), summed over loggers."""
    return sum(s.value for m in METRICS.errors.collect() for s in m.samples if s.name.endswith("_total"))


async def test_nested_unicode_and_badly_encoded_bodies_get_a_400_and_store_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with running(tmp_path / "data") as bot, client() as session:
        url = f"{bot.base}/s/you-said/api"
        async with session.post(url, json={"type": "open"}) as opened:
            assert opened.status == 200
        errors = errors_logged()
        json_body = {"Content-Type": "application/json"}
        bad: list[tuple[bytes, dict[str, str]]] = [
            (b'{"type": "pick", "index": 0, "turn": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", json_body),
            ('{"type": "pick", "turn": "²", "index": 0}'.encode(), json_body),
            ('{"type": "pick", "turn": "١", "index": 0}'.encode(), json_body),  # Arabic-Indic one: not our 1
            ('{"type": "pick", "turn": 1, "index": "٣"}'.encode(), json_body),
            (b'{"type": "open"}', {**json_body, "Content-Encoding": "gzip"}),
            (b"\x1f\x8b" + b"not really gzip", {**json_body, "Content-Encoding": "gzip"}),
            (b'{"type": "open"}', {**json_body, "Content-Encoding": "deflate"}),
        ]
        for body, headers in bad:
            async with client() as fresh, fresh.post(url, data=body, headers=headers) as response:
                assert response.status == 400, (body[:60], headers)
                assert "Traceback" not in await response.text()
        assert count(bot.app, "SELECT count(*) FROM answer") == 0
        assert errors_logged() == errors
        form = f"{bot.base}/s/you-said"
        async with session.post(form, data=b"do=send&text=x", headers={
                "Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"}) as response:
            assert response.status == 400
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_the_poster_link_never_comes_from_the_host_header(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session, session.get(
            f"{bot.base}/s/you-said/qr.svg", headers={"Host": "evil.example.com"}) as response:
        assert response.status == 200
        svg = await response.text()
    assert "evil.example.com" not in svg and f"{bot.base}/s/you-said" in svg


# --- platform webhooks --------------------------------------------------------------------------------------------

async def test_a_telegram_webhook_body_that_is_not_an_update_is_a_400(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    from .test_telegram import running as telegram_running

    caplog.set_level(logging.INFO)
    async with FakeTelegram() as fake, telegram_running(fake, tmp_path / "data", webhook=True):
        url = fake.calls_to("setWebhook")[-1].params["url"]
        secret = {"X-Telegram-Bot-Api-Secret-Token": fake.calls_to("setWebhook")[-1].params["secret_token"]}
        errors = errors_logged()
        async with aiohttp.ClientSession() as session:
            for body in (b"{not json", b"[1, 2]", b'{"update_id": "x"}', b"\xff\xfe", b"[" * 50_000 + b"]" * 50_000):
                async with session.post(url, data=body, headers={**secret, "Content-Type": "application/json"}
                                        ) as response:
                    assert response.status == 400, body[:20]
        assert errors_logged() == errors
        refused = [r for r in caplog.records if "not an update" in r.getMessage()]
        assert len(refused) == 5 and not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_slack_request_with_a_timestamp_that_is_not_a_number_is_a_401(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from .fakes.slack_api import FakeSlack
    from .test_slack_channel import running_bot

    caplog.set_level(logging.INFO)
    async with FakeSlack() as fake, running_bot(fake, tmp_path, "http") as bot:
        errors = errors_logged()
        for stamp in ("abc", "١٧٠٠٠٠٠٠٠٠", "", "1e9"):
            headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                       "X-Slack-Signature": "v0=" + "0" * 64}
            async with aiohttp.ClientSession() as session, session.post(
                    bot.url, data=b'{"type": "event_callback"}', headers=headers) as response:
                assert response.status == 401, stamp
        assert errors_logged() == errors
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        assert len([r for r in caplog.records if "bad or stale signature" in r.getMessage()]) == 4


# --- the web API's body parsing, for any input ------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["type", "turn", "index", "indexes", "text", "data", "x"]), inner, max_size=5),
    max_leaves=20)
EVENT_TYPES = st.sampled_from(["open", "pick", "toggle", "ticks", "done", "skip", "back", "reply", "care", "stop",
                               "resume", "nope"])


def parsed_or_refused(body: bytes) -> object:
    """What the API does with a body: an event, or a 400; anything else raised is a bug (a 500)."""
    try:
        return read_body(body)
    except Refused as refused:
        assert refused.status == 400 and 0 < len(refused.message) < 80
        return refused


@given(st.binary(max_size=300))
def test_any_bytes_are_an_event_or_a_400(body: bytes) -> None:
    parsed_or_refused(body)


@given(EVENT_TYPES, JSON_VALUES, JSON_VALUES, st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-32"]))
def test_any_json_in_any_encoding_is_an_event_or_a_400(kind: str, turn: object, extra: object, encoding: str) -> None:
    parsed_or_refused(json.dumps({"type": kind, "turn": turn, "index": extra, "text": extra,
                                  "indexes": extra}).encode(encoding))


@given(st.integers(1, 60_000), st.sampled_from(["[", "{\"a\":"]), st.booleans())
@settings(max_examples=30, deadline=None)
def test_nesting_of_any_depth_is_a_400(depth: int, opener: str, closed: bool) -> None:
    closer = "]" if opener == "[" else "}"
    inner = opener * depth + "1" + (closer * depth if closed else "")
    assert isinstance(parsed_or_refused(f'{{"type": "pick", "index": 0, "turn": {inner}}}'.encode()), Refused)


@given(st.text(st.characters(categories=["Nd"]), min_size=1, max_size=10))
def test_only_ascii_digits_are_a_number(digits: str) -> None:
    """"²" and "١" pass str.isdigit; as a turn, only 0-9 may (Python's int() would read "١" as 1)."""
    body = json.dumps({"type": "pick", "turn": digits, "index": "0"}).encode()
    outcome = parsed_or_refused(body)
    if digits.isascii() and int(digits) <= 10**9:
        assert outcome == Pick(int(digits), 0)
    else:
        assert isinstance(outcome, Refused)


# --- a contact whose address cannot be used (item 8) -----------------------------------------------------------------

async def test_a_stored_address_telegram_cannot_use_is_marked_unreachable_once(tmp_path: Path) -> None:
    """A contact stored before ids were checked (`telegram:@jo_smith`) fails once, is marked unreachable, shown in
    `campaign show`, and is never planned or tried again; everyone else still gets their invitation."""
    from datetime import timedelta

    from bot.app import build
    from bot.channels.port import Address
    from bot.cli import doctor
    from bot.cli.campaign import describe, render
    from bot.config import Settings
    from bot.services.broadcast import Broadcaster
    from storage import campaigns as store_campaigns

    from .conftest import PEPPER, Clock
    from .test_campaigns import BOT, add_campaign, invitations, person, telegram

    clock = Clock()
    settings = Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": PEPPER.decode(),
                                  "SURVEYBOT_SURVEYS_DIR": str(REPO / "tests" / "surveys")})
    app = build(settings, clock=clock)

    def doctor_says() -> list[str]:
        return [f.text for f in doctor.examine(settings) if f.topic == "contacts"]

    jo = Address("telegram", BOT, "@jo_smith")
    with app.store.unit() as uow:
        for who in (jo, person(1)):
            store_campaigns.upsert_contact(uow, app.keys.contact_lookup(who), "telegram", app.keys.seal(who),
                                           ["police"], clock.now.date())
    assert [text.split(";")[0] for text in doctor_says()] == [
        "1 contact(s) have an address their platform cannot use (such as a Telegram @username)"]
    opens = clock.now + timedelta(hours=1)
    add_campaign(app.store, "esc", opens, opens + timedelta(days=21), ["police"], clock, every_months=12)
    broadcaster = Broadcaster(app.store, app.keys, app.catalogue, clock)
    clock.now = opens
    async with telegram(app.service) as (fake, channel):
        assert [(r.step, r.planned) for r in broadcaster.run_due()] == [("invite", 2)]
        assert await asyncio.wait_for(broadcaster.drain(channel, app.service.call), 10) == 1
        assert await broadcaster.drain(channel, app.service.call) == 0  # nothing left to try again
        assert len(invitations(fake, 1)) == 1
        shown = describe(app, "esc")
        # one of each: counts of people, so shown suppressed like every other count in `campaign show`
        assert shown["messages"] == {"invite sent": "fewer than 5", "invite unreachable": "fewer than 5"}
        assert shown["pending"] == 0
        assert any("fewer than 5 message(s) could not be delivered" in line for line in render(shown))
        with app.store.unit() as uow:
            statuses = sorted(status for (status,) in uow.session.execute(text("SELECT status FROM outbox")))
        assert statuses == ["sent", "unreachable"]
        clock.now = opens + timedelta(days=3)
        assert [(r.step, r.planned) for r in broadcaster.run_due()] == [("remind-1", 1)]  # only person 1
    with app.store.unit() as uow:
        flags = {c.unreachable for c in store_campaigns.contacts(uow) if app.keys.unseal(c.address) == jo}
    assert flags == {True} and doctor_says() == []  # marked once: nothing more to warn about
    app.engine.dispose()
