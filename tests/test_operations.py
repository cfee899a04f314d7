"""Operations: /metrics in Prometheus's format (read back with Prometheus's own parser), /healthz, JSON logs with
secrets blanked, the scheduling settings, and `surveybot doctor` against the fake Telegram and Slack servers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.cli import doctor
from bot.config import Settings, SettingsError, secrets_of
from bot.logs import HIDDEN, Redacting
from bot.metrics import METRICS
from bot.reporting.signing import new_key_pair
from bot.server import HttpServer
from storage import database

from .fakes.slack_api import FakeSlack
from .fakes.telegram_api import FakeTelegram
from .test_telegram import TEMPLATES, answer, begin, next_question, running

PEPPER = "an-operations-test-pepper-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, parsed by prometheus_client's own parser (which rejects a malformed exposition)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


# --- /metrics and /healthz --------------------------------------------------------------------------------------------

async def test_metrics_count_what_was_stored_and_how_long_it_took(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path, webhook=True) as app:
        url = f"http://127.0.0.1:{app.settings.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                before = samples(await response.text())
            user = 555_000_222
            await begin(fake, user, TEMPLATES[0])
            answered = 0
            thanks = app.catalogue.latest(TEMPLATES[0]).thanks
            while (question := await next_question(fake, user, thanks)) is not None:
                await answer(fake, user, question)
                answered += 1
            fake.fail_next("sendMessage", 429, retry_after=1)  # Telegram asks us to slow down once
            fake.user_sends_text(user, "/help")
            await fake.wait_until(lambda: len([c for c in fake.calls_to("sendMessage") if c.status == 200]) > 0)
            await fake.next_message(user, timeout=10)
            async with http.get(f"{url}/metrics") as response:
                after = samples(await response.text())
            async with http.get(f"{url}/healthz") as response:
                health = await response.json()
    stored = value(after, "surveybot_answers_stored_total", channel="telegram") - value(
        before, "surveybot_answers_stored_total", channel="telegram")
    assert stored == answered > 5
    assert value(after, "surveybot_responses_completed_total", channel="telegram") - value(
        before, "surveybot_responses_completed_total", channel="telegram") == 1
    assert value(after, "surveybot_answer_seconds_count", channel="telegram") - value(
        before, "surveybot_answer_seconds_count", channel="telegram") >= answered
    assert value(after, "surveybot_throttled_total", channel="telegram") - value(
        before, "surveybot_throttled_total", channel="telegram") == 1
    assert value(after, "surveybot_http_request_seconds_count", route="/telegram/webhook") >= answered
    assert value(after, "surveybot_answer_seconds_bucket", channel="telegram", le="+Inf") == value(
        after, "surveybot_answer_seconds_count", channel="telegram")
    assert value(after, "surveybot_scheduler_leader") == 1  # SQLite: the one process schedules
    assert ("process_resident_memory_bytes", ()) in after
    assert health == {"ok": True, "checks": {"database": True, "telegram": True}, "scheduler": "leader"}
    labels = {label for name, labelled in after for label in labelled}
    assert {k for k, _ in labels} <= {"channel", "outcome", "route", "logger", "le"}, "labels are fixed words only"
    assert not any(str(555_000_222) in v for _, v in labels)


async def test_healthz_fails_in_bounded_time_when_a_check_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.server.CHECK_SECONDS", 0.3)
    server = HttpServer("127.0.0.1", 0)
    server.add_check("database", lambda: time.sleep(3) or True)  # a database that does not answer
    server.add_check("telegram", lambda: True)
    server.add_fact("scheduler", lambda: "standby")
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            started = time.monotonic()
            async with http.get(f"{server.base_url}/healthz") as response:
                assert response.status == 503
                assert await response.json() == {"ok": False, "checks": {"database": False, "telegram": True},
                                                 "scheduler": "standby"}
            assert time.monotonic() - started < 2
    finally:
        await server.stop()


def test_errors_logged_anywhere_are_counted() -> None:
    from bot.metrics import ErrorCounter

    counter = ErrorCounter()
    logger = logging.getLogger("bot.test_operations")
    logger.addHandler(counter)
    try:
        before = value(samples(METRICS.exposition().decode()), "surveybot_errors_total", logger=logger.name)
        logger.error("something failed")
        logger.warning("not an error")
        after = value(samples(METRICS.exposition().decode()), "surveybot_errors_total", logger=logger.name)
    finally:
        logger.removeHandler(counter)
    assert after - before == 1


# --- logs and settings ------------------------------------------------------------------------------------------------

def settings_with_secrets() -> Settings:
    return Settings.from_env({
        "SURVEYBOT_PEPPER": PEPPER, "TELEGRAM_BOT_TOKEN": "123456:telegram-secret-half-xyz",
        "TELEGRAM_WEBHOOK_SECRET": "hook-secret-abc123", "SLACK_BOT_TOKEN": "xoxb-slack-bot-secret",
        "SLACK_SIGNING_SECRET": "slack-signing-secret-1", "SURVEYBOT_SIGNING_KEY": new_key_pair()[0],
        "DATABASE_URL": "postgresql://surveybot:db-pass-word-9@db:5432/surveybot", "SURVEYBOT_LOG_FORMAT": "json"})


def test_json_log_lines_blank_every_secret_even_inside_exceptions() -> None:
    settings = settings_with_secrets()
    formatter = Redacting(secrets_of(settings), as_json=True)
    try:
        raise RuntimeError(f"POST /bot{settings.telegram_token}/sendMessage failed with {settings.pepper}")
    except RuntimeError:
        record = logging.LogRecord("bot.x", logging.ERROR, __file__, 1, "calling %s with %s", (
            settings.slack_bot_token, "db-pass-word-9"), sys.exc_info())
    line = formatter.format(record)
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "exception"} and entry["level"] == "ERROR"
    for secret in secrets_of(settings):
        assert secret not in line
    assert "telegram-secret-half-xyz" not in line and line.count(HIDDEN) >= 4


def test_scheduling_and_log_settings_are_checked() -> None:
    assert Settings.from_env({}).log_format == "text"
    for name, bad in (("SURVEYBOT_LOG_FORMAT", "xml"), ("SURVEYBOT_SWEEP_SECONDS", "0"),
                      ("SURVEYBOT_LEADER_RETRY_SECONDS", "soon"), ("SURVEYBOT_SWEEP_SECONDS", "3601")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: bad})
    settings = Settings.from_env({"SURVEYBOT_SWEEP_SECONDS": "5", "SURVEYBOT_LEADER_RETRY_SECONDS": "2"})
    assert (settings.sweep_seconds, settings.leader_retry_seconds) == (5, 2)


# --- surveybot doctor -------------------------------------------------------------------------------------------------

def healthy_env(tmp_path: Path, telegram_url: str, slack_url: str) -> dict[str, str]:
    db = tmp_path / "surveybot.db"
    engine = database.connect(f"sqlite:///{db}")
    database.upgrade(engine)
    engine.dispose()
    return {"SURVEYBOT_ENV": "production", "SURVEYBOT_PEPPER": PEPPER, "DATABASE_URL": f"sqlite:///{db}",
            "SURVEYBOT_SIGNING_KEY": new_key_pair()[0], "SURVEYBOT_PUBLIC_URL": "https://surveys.example.org",
            "TELEGRAM_BOT_TOKEN": "123456789:FAKE-telegram-token", "TELEGRAM_API_URL": telegram_url,
            "TELEGRAM_WEBHOOK_URL": "https://surveys.example.org/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": "a-webhook-secret", "SLACK_BOT_TOKEN": "xoxb-doctor-test-token",
            "SLACK_SIGNING_SECRET": "slack-signing-secret-for-doctor", "SLACK_API_URL": slack_url,
            "SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL": "C0123ABCDEF"}


@pytest.fixture
def fakes() -> tuple[str, str, FakeTelegram, FakeSlack]:
    telegram = FakeTelegram().run_in_thread()
    slack = FakeSlack().run_in_thread()
    yield telegram.base_url, slack.api_url, telegram, slack  # type: ignore[misc]
    telegram.stop()
    slack.stop()


def problems(settings: Settings, env_file: Path | None = None) -> list[str]:
    return [f.line() for f in doctor.examine(settings, env_file) if f.level == "PROBLEM"]


def test_doctor_passes_a_healthy_deployment(tmp_path: Path, fakes: tuple) -> None:
    telegram_url, slack_url, _telegram, _slack = fakes
    env_file = tmp_path / ".env"
    env_file.write_text("# settings\n")
    env_file.chmod(0o600)
    findings = doctor.examine(Settings.from_env(healthy_env(tmp_path, telegram_url, slack_url)), env_file)
    assert [f.line() for f in findings if f.level == "PROBLEM"] == []
    topics = {f.topic for f in findings if f.level == "ok"}
    assert {".env", "pepper", "signing key", "database", "public URL", "telegram", "telegram webhook",
            "slack", "safeguarding"} <= topics


def test_doctor_names_each_problem_on_one_line(tmp_path: Path, fakes: tuple) -> None:
    telegram_url, slack_url, telegram, _slack = fakes
    env = healthy_env(tmp_path, telegram_url, slack_url)
    engine = database.connect(env["DATABASE_URL"])
    database.downgrade(engine, "0002")
    engine.dispose()
    env.update({"TELEGRAM_WEBHOOK_URL": "http://127.0.0.1:9999/", "SURVEYBOT_PUBLIC_URL": "http://surveys.example.org",
                "SURVEYBOT_SIGNING_KEY": "not-a-key"})
    del env["SURVEYBOT_PEPPER"]
    del env["SLACK_BOT_TOKEN"]  # Slack off, yet alerts routed to a Slack channel
    env["SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT"] = "-100123"
    env_file = tmp_path / ".env"
    env_file.write_text("SURVEYBOT_PEPPER=...\n")
    env_file.chmod(0o644)
    telegram.call(telegram.fake.fail_next, "getMe", 401, description="Unauthorized")
    found = problems(Settings.from_env(env), env_file)
    expected = [".env: ", "chmod 600", "pepper: SURVEYBOT_PEPPER is not set", "signing key: SURVEYBOT_SIGNING_KEY",
                "database: ", "surveybot db upgrade", "public URL: ", "should start with https://",
                "Telegram refused TELEGRAM_BOT_TOKEN (401)", "should start with https://", "port 9999",
                "not this machine's loopback", "give it a path",
                "SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL is set, but Slack is off"]
    text = "\n".join(found)
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not reported:\n{text}"
    assert all(line.startswith("PROBLEM") and "\n" not in line for line in found)
    assert not any("safeguarding: no alert route" in line for line in found), "Telegram still carries alerts"


def test_doctor_says_when_slack_refuses_the_token_and_no_alert_route_is_set(tmp_path: Path, fakes: tuple) -> None:
    telegram_url, slack_url, _telegram, slack = fakes
    env = healthy_env(tmp_path, telegram_url, slack_url)
    del env["SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL"]
    slack.fake.fail_next("auth.test", status=200, retry_after=None, error="invalid_auth")
    found = "\n".join(problems(Settings.from_env(env)))
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in found
    assert "safeguarding: no alert route" in found


def test_doctor_reports_unreachable_services(tmp_path: Path) -> None:
    from .processes import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    env = healthy_env(tmp_path, closed, closed + "/api/")
    env["DATABASE_URL"] = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    found = "\n".join(problems(Settings.from_env(env)))
    assert "database: cannot connect to postgresql+psycopg://nobody@127.0.0.1" in found
    assert "telegram: cannot reach the Bot API" in found and "slack: cannot reach the Slack Web API" in found


def test_doctor_command_exits_1_and_never_prints_a_secret(tmp_path: Path, fakes: tuple) -> None:
    telegram_url, slack_url, telegram, _slack = fakes
    env = healthy_env(tmp_path, telegram_url, slack_url)
    env["DATABASE_URL"] = f"postgresql://postgres:pg-secret-word@127.0.0.1:1/{'x'}"
    telegram.call(telegram.fake.fail_next, "getMe", 401, description="Unauthorized: token FAKE-telegram-token")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "TELEGRAM_", "SLACK_"))}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "doctor"], env={**run_env, **env}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "PROBLEM  database" in output and "problem(s) found." in output
    for secret in (PEPPER, "FAKE-telegram-token", "pg-secret-word", env["SLACK_SIGNING_SECRET"],
                   env["SLACK_BOT_TOKEN"], env["SURVEYBOT_SIGNING_KEY"], "a-webhook-secret"):
        assert secret not in output


async def test_telegram_doctor_sees_what_the_fake_sees() -> None:
    """The fake answers getMe like Telegram: a quick guard that the doctor's URL is the Bot API's shape."""
    async with FakeTelegram() as fake:
        found = await asyncio.to_thread(doctor.examine, Settings.from_env({
            "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url,
            "DATABASE_URL": "sqlite:///:memory:"}))
    assert any(f.topic == "telegram" and f.level == "ok" and "@surveybot_test_bot" in f.text for f in found)
    assert [c.method for c in fake.calls] == ["getMe"]


def test_doctor_says_whose_address_the_web_limits_count(tmp_path: Path) -> None:
    """Behind an https proxy without SURVEYBOT_TRUST_PROXY every visitor shares one limit; trusting the header while
    listening on every interface lets clients make their address up. Both are said; neither stops the bot."""

    def web_limits(**env: str) -> list[doctor.Finding]:
        settings = Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path), **env})
        return [f for f in doctor.examine(settings) if f.topic == "web limits"]

    (plain,) = web_limits()
    assert plain.level == "ok" and "connects from" in plain.text
    (shared,) = web_limits(SURVEYBOT_PUBLIC_URL="https://surveys.example.org")
    assert shared.level == "note" and "SURVEYBOT_TRUST_PROXY is false" in shared.text
    (trusted,) = web_limits(SURVEYBOT_PUBLIC_URL="https://surveys.example.org", SURVEYBOT_TRUST_PROXY="true")
    assert trusted.level == "ok" and "X-Forwarded-For" in trusted.text
    (exposed,) = web_limits(SURVEYBOT_TRUST_PROXY="true", SURVEYBOT_HOST="0.0.0.0")
    assert exposed.level == "note" and "make sure only your proxy can reach port 8080" in exposed.text


# Loaded first by a child Python (PYTHONPATH): psycopg cannot be imported, as in a default install without the
# `postgresql` extra.
WITHOUT_PSYCOPG = '''
import sys

class _NoPsycopg:
    def find_spec(self, name, path=None, target=None):
        if name == "psycopg" or name.startswith(("psycopg.", "psycopg_")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoPsycopg())
'''


@pytest.mark.parametrize("command", ["doctor", "run"])
def test_a_postgresql_url_without_psycopg_names_the_extra_in_one_line(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(WITHOUT_PSYCOPG)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "TELEGRAM_", "SLACK_"))}
    env = {**run_env, "PYTHONPATH": str(blocker), "SURVEYBOT_PEPPER": PEPPER,
           "DATABASE_URL": "postgresql://surveybot:pg-secret-word@127.0.0.1:1/surveybot"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", command], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "pg-secret-word" not in output
    named = [line for line in output.splitlines() if "surveybot[postgresql]" in line]
    assert len(named) == 1 and "psycopg" in named[0] and "DATABASE_URL" in named[0], output
    if command == "run":
        assert output.strip() == named[0], "run says only that"


def test_the_sqlite_default_needs_no_psycopg(tmp_path: Path) -> None:
    """A default install has no psycopg: nothing on SQLite's path may import it."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(WITHOUT_PSYCOPG)
    code = ("import bot.app, bot.cli, bot.cli.doctor, bot.services.scheduling, bot.services.service; "
            "import storage.database as d; "
            "from sqlalchemy import text; "
            "print(d.connect('sqlite:///:memory:').connect().execute(text('SELECT 1')).scalar_one())")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(blocker)},
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr
