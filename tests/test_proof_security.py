"""Proof (issue #11, point 4): forgeries and trespass are refused, and leave a trace; secrets never leave a trace.

* Requests that fail authentication (a forged or stale Slack signature, a wrong Telegram webhook secret) get 401, do
  nothing, and are logged as one warning line. They are deliberately NOT written to the audit chain: anyone on the
  internet can send them, and the chain is evidence of answers and of what authenticated people did, so letting
  strangers append to it would let them grow it at will.
* Requests from authenticated people without the role (a campaign command from a non-admin, an export, report or
  evidence pack from a non-scrutineer) are refused in plain words and audited: admin.refused, export.refused.
* Path tricks (`../../etc/passwd` as a survey id or campaign code, in chat and on the command line; odd --out paths;
  traversal in web paths) are refused with one line, and write or read nothing outside what was asked.
* Known secret values (the Telegram token and webhook secret, the Slack token and signing secret, the pepper, the
  evidence signing key, a database password) are run through the app's paths, including failures, and then searched
  for in every log record, every reply and every command-line output.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.cli import main
from bot.reporting.signing import new_key_pair
from bot.services.roles import Role, Roles, parse_who
from bot.services.surveyfiles import builtin_survey_dir

from .conftest import SAMPLE, drop_postgres, postgres_url
from .fakes.slack_api import TEAM_ID, FakeSlack, SlackSigner, block_actions_payload, im_message, slash_command_fields
from .live_bot import PEPPER, SIGNING_SECRET, SLACK_TOKEN, WEBHOOK_SECRET, LiveBot, live_bot
from .test_slack_channel import running_bot

SIGNING_KEY, _, _ = new_key_pair()
DB_PASSWORD = "db-Pa55word-9c1e7f"
FORM = "application/x-www-form-urlencoded"
STRANGER, SCRUTINEER = 7_100_200, 7_100_300
SAFE_FILE = re.compile(r"^[a-z0-9][a-z0-9-]*(-wave\d+)?(-report\.html|-evidence\.zip|\.csv|\.xlsx|\.json)$")


class Collected(logging.Handler):
    """Every log record of every logger, from every thread, formatted with its traceback if any."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def logs() -> Iterator[Collected]:
    handler, root = Collected(), logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(before)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, logs: Collected) -> Iterator[LiveBot]:
    extra = {"SURVEYBOT_SURVEYS_DIR": f"{builtin_survey_dir()}:{SAMPLE.parent}", "SURVEYBOT_LOG_LEVEL": "DEBUG",
             "SURVEYBOT_SIGNING_KEY": SIGNING_KEY}
    with live_bot(tmp_path_factory.mktemp("secure"), **extra) as bot:
        yield bot


def telegram_says(live: LiveBot, user: int, words: str, timeout: float = 20) -> dict[str, Any]:
    """Send a text as a Telegram user (through the webhook) and return the bot's next message to them."""
    fake = live.telegram

    async def exchange() -> dict[str, Any]:
        fake.user_sends_text(user, words)
        return await fake.next_message(user, timeout=timeout)

    return live.run(exchange, timeout + 5)


def slack_command(live: LiveBot, user: str, words: str) -> str:
    """/survey WORDS from a Slack user; the text of the bot's reply in their DM."""
    status, _ = live.post_slack(urlencode(slash_command_fields(user, text=words)), FORM)
    assert status == 200
    fake = live.slack
    dm = fake.dm_channel(user)
    message = live.run(lambda: fake.next_message(dm, timeout=20), 25)
    return json.dumps(message.get("blocks") or message.get("text"))


def audited(live: LiveBot, action: str) -> list[dict[str, Any]]:
    return [json.loads(s) for (s,) in live.rows(f"SELECT subject FROM audit_record WHERE action = '{action}' "
                                                "ORDER BY seq")]


# --- authentication: refused, logged, nothing done ------------------------------------------------------------------

def test_forged_slack_requests_get_401_do_nothing_and_are_logged(live: LiveBot, logs: Collected) -> None:
    body = urlencode(slash_command_fields("U0MALLORY", text="start sample"))
    right = SlackSigner(SIGNING_SECRET).headers(body)
    now = int(time.time())
    forgeries = {
        "wrong secret": SlackSigner("not-the-secret").headers(body),
        "stale": SlackSigner(SIGNING_SECRET).headers(body, forge="stale"),
        "from the future": {"X-Slack-Request-Timestamp": str(now + 600), "X-Slack-Signature": SignatureVerifier(
            SIGNING_SECRET).generate_signature(timestamp=str(now + 600), body=body) or ""},
        "signed another body": SlackSigner(SIGNING_SECRET).headers(body.replace("sample", "you-said")),
        "timestamp changed after signing": {**right, "X-Slack-Request-Timestamp": str(now - 1)},
        "no signature": {"X-Slack-Request-Timestamp": str(now)},
        "nothing": {},
        "v1 scheme": {**right, "X-Slack-Signature": right["X-Slack-Signature"].replace("v0=", "v1=")},
        "non-ASCII": {**right, "X-Slack-Signature": "v0=é" + right["X-Slack-Signature"][4:]},
    }
    chain = "SELECT count(*) FROM audit_record WHERE action <> 'purge'"  # the scheduler's purge runs meanwhile
    calls, rows = len(live.slack.calls), live.scalar(chain)
    warned = sum("bad or stale signature" in line for line in logs.lines)
    for name, headers in forgeries.items():
        encoded = {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}
        status, reply, _ = live.post("/slack/events", body.encode(), {"Content-Type": FORM, **encoded})
        assert status == 401, (name, status, reply)
    time.sleep(0.2)
    assert live.slack.calls[calls:] == [], "nothing reached the Web API"
    # audited, but strangers cannot grow the chain: one record for the first of the day, every one logged
    assert live.scalar(chain) - rows <= 1
    assert [a["kind"] for a in audited(live, "request.refused")].count("slack-signature") == 1
    assert sum("bad or stale signature" in line for line in logs.lines) - warned == len(forgeries)
    assert "U0MALLORY" not in logs.text()


def test_wrong_telegram_webhook_secrets_get_401_do_nothing_and_are_logged(live: LiveBot, logs: Collected) -> None:
    update = {"update_id": 31337, "message": {"message_id": 1, "date": 1, "chat": {"id": 66, "type": "private"},
                                              "from": {"id": 66, "is_bot": False, "first_name": "M"},
                                              "text": "/start sample"}}
    sent = len(live.telegram.calls)
    warned = sum("wrong secret token" in line for line in logs.lines)
    wrong = [None, "", "wrong", WEBHOOK_SECRET[:-1], WEBHOOK_SECRET + "x", WEBHOOK_SECRET.upper(), "x" * 5000]
    for secret in wrong:
        assert live.post_telegram(update, secret) == 401, secret
    body = json.dumps(update).encode()
    status, _, _ = live.post("/telegram/webhook", body, {"Content-Type": "application/json",  # a non-ASCII header:
                                                         "X-Telegram-Bot-Api-Secret-Token": "sécret".encode()
                                                         .decode("latin-1")})  # aiogram answered 500 here
    assert status == 401
    time.sleep(0.2)
    assert [c for c in live.telegram.calls[sent:] if c.method != "getWebhookInfo"] == []
    assert live.scalar("SELECT count(*) FROM conversation") == live.scalar(
        "SELECT count(*) FROM conversation")  # (read twice: no write raced in)
    assert sum("wrong secret token" in line for line in logs.lines) - warned == len(wrong) + 1
    assert [a["kind"] for a in audited(live, "request.refused")].count("telegram-secret-token") == 1


# --- authorisation: refused in plain words, audited -----------------------------------------------------------------

def test_campaign_commands_from_a_non_admin_are_refused_and_audited(live: LiveBot) -> None:
    before = len(audited(live, "admin.refused"))
    for words in ("/campaigns", "/status any-campaign", "/remind any-campaign", "/close ../../etc/passwd"):
        reply = telegram_says(live, STRANGER, words)
        assert reply["text"].startswith("Sorry, ") and "role" in reply["text"], reply["text"]
    refused = audited(live, "admin.refused")[before:]
    assert [r["command"] for r in refused] == ["campaigns", "status", "remind", "close"]
    assert all(r["channel"] == "telegram" for r in refused) and str(STRANGER) not in json.dumps(refused)
    assert not audited(live, "admin.command")


def test_exports_reports_and_packs_from_a_non_scrutineer_are_refused_and_audited(live: LiveBot) -> None:
    before = len(audited(live, "export.refused"))
    for words in ("/export sample csv", "/report sample", "/evidence sample", "/export ../../etc/passwd xlsx"):
        reply = telegram_says(live, STRANGER, words)
        assert reply["text"].startswith("Sorry: ") and "scrutineer" in reply["text"], reply["text"]
    said = slack_command(live, "U0NOSEY", "export sample json")
    assert "Sorry" in said
    refused = audited(live, "export.refused")[before:]
    assert [(r["kind"], r["channel"]) for r in refused] == [
        ("csv", "telegram"), ("report", "telegram"), ("evidence", "telegram"), ("xlsx", "telegram"),
        ("json", "slack")]
    assert len({r["who"] for r in refused}) == 2, "a keyed fingerprint of who asked, the same for one person"
    assert str(STRANGER) not in json.dumps(refused) and "U0NOSEY" not in json.dumps(refused)
    assert not [m for m in live.telegram.messages_to(STRANGER) if "document" in m]
    assert not live.slack.uploads


def test_path_tricks_in_chat_requests_get_no_file_and_real_files_have_safe_names(live: LiveBot) -> None:
    person = parse_who(f"telegram:{SCRUTINEER}", live.telegram.token.split(":", 1)[0])
    Roles(live.app.store, live.app.keys, live.app.service.clock).grant(Role.SCRUTINEER, person)
    for words in ("/export ../../etc/passwd csv", "/evidence ../../../etc/shadow", "/report ..%2F..%2Fetc%2Fpasswd",
                  "/export /etc/passwd json", "/evidence C:\\Windows\\system.ini", "/report sample\x00.html"):
        reply = telegram_says(live, SCRUTINEER, words)
        assert "document" not in reply, words
        assert "no survey called" in reply["text"] or "not a wave" in reply["text"], (words, reply["text"])
    telegram_says(live, SCRUTINEER + 1, "/start sample")  # a round exists, so there is a pack to make
    for words in ("/export sample csv", "/evidence sample"):
        reply = telegram_says(live, SCRUTINEER, words, timeout=60)
        assert "document" in reply, (words, reply.get("text"))
        assert SAFE_FILE.match(reply["document"]["file_name"]), reply["document"]["file_name"]
    assert [(s["via"], s["survey"]) for s in audited(live, "export")] == [("telegram", "sample")]


def run_cli(monkeypatch: pytest.MonkeyPatch, folder: Path, *args: str, **env: str) -> tuple[int, str]:
    """`surveybot ARGS` in this process (as the console script calls it), in `folder`: (exit status, output)."""
    monkeypatch.chdir(folder)
    for name, value in {"SURVEYBOT_DATA_DIR": str(folder / "data"), "SURVEYBOT_PEPPER": PEPPER, **env}.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse
            status = int(exc.code or 0)
    return status, out.getvalue() + err.getvalue()


def test_path_tricks_on_the_command_line_are_one_line_and_write_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    tricks = [
        ("export", "../../etc/passwd", "--format", "csv", "--out", "x.csv"),
        ("report", "../../etc/passwd", "--out", "r.html"),
        ("evidence-pack", "../../etc/passwd", "--out", "p.zip"),
        ("qr", "../../etc/passwd", "--out", "q.svg"),
        ("status", "../../etc/passwd"),
        ("export", "you-said", "--format", "csv", "--out", str(tmp_path / "no" / "such" / "folder" / "x.csv")),
        ("export", "you-said", "--format", "csv", "--out", str(tmp_path / "folder")),
        ("campaign", "create", "../../x", "--survey", "you-said", "--opens", "2026-03-02", "--closes",
         "2026-03-09"),
    ]
    for args in tricks:
        status, said = run_cli(monkeypatch, tmp_path, *args)
        assert status == 1, (args, said)
        lines = said.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("surveybot: ") and "Traceback" not in said, (args, said)
    made = sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and "data" not in p.parts)
    assert made == [], made


def test_path_tricks_in_web_paths_find_nothing(live: LiveBot) -> None:
    for path in ("/web/../../etc/passwd", "/web/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/web/..%2f..%2fbot%2fconfig.py",
                 "/s/..%2f..%2fetc%2fpasswd", "/s/%2e%2e/qr.svg", "/s/sample/../../../etc/passwd",
                 "/web/chat.js%00.html"):
        status, body, _ = live.post(path, b"", method="GET")
        assert status in (400, 404), (path, status)
        assert "root:" not in body and "SURVEYBOT_" not in body


# --- secrets --------------------------------------------------------------------------------------------------------

async def test_a_refused_slack_token_is_named_but_never_shown(tmp_path: Path, logs: Collected) -> None:
    async with FakeSlack() as fake:
        fake.fail_next("auth.test", status=200, retry_after=None, error="invalid_auth")
        with pytest.raises(Exception) as refused:
            async with running_bot(fake, tmp_path, "http"):
                pass
    assert "SLACK_BOT_TOKEN" in str(refused.value) and "xoxb-test" not in str(refused.value)
    assert "xoxb-test" not in logs.text()


def test_known_secrets_never_appear_in_logs_replies_or_output(live: LiveBot, logs: Collected,
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets = {"Telegram token": live.telegram.token, "Telegram token's secret half":
               live.telegram.token.split(":", 1)[1], "webhook secret": WEBHOOK_SECRET, "Slack token": SLACK_TOKEN,
               "signing secret": SIGNING_SECRET, "pepper": PEPPER, "signing key": SIGNING_KEY,
               "database password": DB_PASSWORD}
    # the paths: a Telegram answer, a Slack survey started and a button pressed, forgeries of both, a web visit,
    # an evidence pack signed and sent in chat, a Telegram API failure, and the command line on PostgreSQL with a
    # password in its URL, working and failing
    telegram_says(live, 7_100_400, "/start sample")
    live.telegram.fail_next("sendMessage", 500, description="Internal Server Error")
    live.run(lambda: _send_and_wait(live, 7_100_401, "/help"))
    slack_command(live, "U0SECRETS", "start sample")
    live.post_slack(urlencode({"payload": json.dumps(block_actions_payload(
        "U0SECRETS", live.slack.dm_channel("U0SECRETS"), "1.0", "a:1:p:0", "a:1:p:0"))}), FORM)
    live.post_slack(json.dumps({"event": im_message("U0SECRETS", "hi", "D0X"), "type": "event_callback",
                                "team_id": TEAM_ID}), "application/json", SlackSigner("forged"))
    live.post_telegram({"update_id": 1}, "wrong")
    live.post("/s/sample", b"", method="GET")
    person = parse_who(f"telegram:{7_100_402}", live.telegram.token.split(":", 1)[0])
    Roles(live.app.store, live.app.keys, live.app.service.clock).grant(Role.ADMIN, person)
    pack = telegram_says(live, 7_100_402, "/evidence sample", timeout=60)
    assert "document" in pack
    # what the bot said to people (setWebhook carries the webhook secret to Telegram, as it must: not a reply)
    outputs = [json.dumps(c.params, default=repr) for c in [*live.telegram.calls, *live.slack.calls]
               if c.method not in ("setWebhook",)]
    url = postgres_url()
    if url is not None:
        with_password = url.replace("postgres@", f"postgres:{DB_PASSWORD}@")
        try:
            for args in (("db", "upgrade"), ("status", "sample"), ("audit", "verify")):
                outputs.append(run_cli(monkeypatch, tmp_path, *args, DATABASE_URL=with_password,
                                       SURVEYBOT_LOG_LEVEL="DEBUG")[1])
        finally:
            drop_postgres(url)
    unreachable = f"postgresql+psycopg://surveybot:{DB_PASSWORD}@127.0.0.1:1/nowhere"
    status, said = run_cli(monkeypatch, tmp_path, "status", "sample", DATABASE_URL=unreachable,
                           SURVEYBOT_LOG_LEVEL="DEBUG")
    assert status == 1 and "127.0.0.1" in said and "***" in said, said
    outputs.append(said)
    for (name,) in [(n,) for n in ("evidence.sent",)]:
        outputs.append(json.dumps(audited(live, name)))
    everything = logs.text() + "\n".join(outputs)
    assert "Telegram bot connected" in everything and "bad or stale signature" in everything  # the capture works
    leaked = [name for name, value in secrets.items() if value in everything]
    assert leaked == [], f"secrets found in logs or output: {leaked}"


async def _send_and_wait(live: LiveBot, user: int, words: str) -> None:
    fake = live.telegram
    since = len(fake.calls)
    fake.user_sends_text(user, words)
    await fake.wait_for(lambda c: c.method == "sendMessage", since=since, timeout=10)
    await asyncio.sleep(0.3)
