"""The `surveybot` command end to end, in real subprocesses with their own data folder."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest

from bot import cli
from bot.config import Settings

REPO = Path(__file__).parent.parent
TEMPLATES = ("policy-awareness", "you-said", "wood-partner-survey")
RESPONDENT = "alice.tester.77"
UK = ZoneInfo("Europe/London")


def uk_time(days: int, hour: int = 9) -> str:
    """A campaign time `days` from today at `hour`, UK time, as `surveybot campaign` takes it.

    The subprocesses read the machine's clock, so every campaign date is computed from that same clock: the tests
    pass whatever the date (CI runs them a year on with faketime too).
    """
    day = datetime.now(UK).date() + timedelta(days=days)
    return f"{day.isoformat()} {hour:02d}:00"


def surveybot(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "DATABASE_URL"))}
    environment.update({"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, input=stdin, text=True,
                          capture_output=True, env=environment, timeout=120)


def test_the_console_script_is_installed() -> None:
    script = shutil.which("surveybot", path=str(Path(sys.executable).parent)) or shutil.which("surveybot")
    assert script is not None
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "surveys" in result.stdout


def commands_of(parser: argparse.ArgumentParser) -> list[str]:
    return list(next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices)


def test_the_command_line_knows_which_module_runs_each_command() -> None:
    # bot.cli imports a command's module only when that command is typed (cli.GROUPS): a command a module adds
    # that GROUPS does not list would parse, then be refused as unknown.
    everything = commands_of(cli.parser())
    for module, commands in cli.GROUPS.items():
        alone = argparse.ArgumentParser().add_subparsers()
        import_module(module).add_commands(alone)
        assert tuple(alone.choices) == commands, module
        assert set(commands) <= set(everything)
    exporting = commands_of(cli.parser("export"))
    assert "export" in exporting and "status" not in exporting and "chat" in exporting


def test_surveys_check_passes_on_the_shipped_surveys(tmp_path: Path) -> None:
    result = surveybot(tmp_path, "surveys", "check", str(REPO / "surveys"))
    assert result.returncode == 0, result.stderr
    assert "3 survey file(s) OK" in result.stdout


def test_surveys_check_names_file_and_line_on_a_broken_copy(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    source = (REPO / "surveys" / "policy-awareness.yaml").read_text()
    broken.write_text(source.replace("kind: scale", "kind: slider", 1))
    result = surveybot(tmp_path, "surveys", "check", str(broken))
    assert result.returncode == 1
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), 1) if "kind: slider" in text)
    assert f"{broken}:{line}: " in result.stderr and "Traceback" not in result.stderr


def test_surveys_check_refuses_a_reporting_threshold_below_3_at_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "partners.yaml"
    source = (REPO / "surveys" / "wood-partner-survey.yaml").read_text()
    assert "\nmin_group: 3\n" in source
    broken.write_text(source.replace("\nmin_group: 3\n", "\nmin_group: 2\n"))
    result = surveybot(tmp_path, "surveys", "check", str(broken))
    assert result.returncode == 1
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), 1) if text == "min_group: 2")
    assert f"{broken}:{line}: `min_group` is 2; it should be from 3 to 100" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("survey_id", TEMPLATES)
def test_a_scripted_chat_completes_each_template_and_exports_without_identifiers(tmp_path: Path,
                                                                                 survey_id: str) -> None:
    # "1" is a valid answer to every question of the templates: first option, Yes, the bottom of a scale, or words
    result = surveybot(tmp_path, "chat", survey_id, "--respondent", RESPONDENT, stdin="1\n" * 80)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Created a secret pepper" in result.stderr
    for fmt in ("csv", "json"):
        out = tmp_path / f"export.{fmt}"
        exported = surveybot(tmp_path, "export", survey_id, "--format", fmt, "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        text = out.read_text()
        assert RESPONDENT not in text and "alice" not in text
    rows = json.loads((tmp_path / "export.json").read_text())
    assert len(rows) == 1 and rows[0]["survey_id"] == survey_id
    assert set(rows[0]) >= {"survey_id", "version", "wave", "completed_on"}
    assert not {"respondent", "user", "user_id", "id", "response_id"} & set(rows[0])
    database = sqlite3.connect(tmp_path / "data" / "surveybot.db")
    dumped = "\n".join(database.iterdump())
    assert RESPONDENT not in dumped and "alice" not in dumped


def test_a_second_attempt_is_refused_and_a_piped_survey_resumes(tmp_path: Path) -> None:
    partial = surveybot(tmp_path, "chat", "policy-awareness", "--respondent", "sam", stdin="yes\n2\n")
    assert partial.returncode == 3 and "Your answers so far are kept" in partial.stdout
    resumed = surveybot(tmp_path, "chat", "policy-awareness", "--respondent", "sam", stdin="1\n" * 60)
    assert resumed.returncode == 0 and "(2 of " in resumed.stdout.split("> 1")[0]
    again = surveybot(tmp_path, "chat", "policy-awareness", "--respondent", "sam", stdin="1\n")
    assert "already finished" in again.stdout


def test_delete_in_the_console_erases_the_answers(tmp_path: Path) -> None:
    surveybot(tmp_path, "chat", "policy-awareness", "--respondent", "kim", stdin="1\n" * 60)
    erased = surveybot(tmp_path, "chat", "policy-awareness", "--respondent", "kim", stdin="/delete\n")
    assert erased.returncode == 0
    exported = surveybot(tmp_path, "export", "policy-awareness", "--format", "json", "--out", "-")
    assert json.loads(exported.stdout) == []


@pytest.mark.parametrize(("args", "env", "message"), [
    (("chat", "no-such-survey"), {}, "no survey `no-such-survey`"),
    (("export", "no-such-survey", "--out", "x.csv"), {}, "no survey `no-such-survey` has been published"),
    (("chat", "you-said"), {"DATABASE_URL": "sqlite:////proc/surveybot/cannot.db"}, "cannot create the data folder"),
    (("chat", "you-said"), {"DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/none"}, "cannot open or update"),
    (("chat", "you-said"), {"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
    (("chat", "you-said"), {"SURVEYBOT_ENV": "production"}, "SURVEYBOT_PEPPER is not set"),
    (("chat", "you-said"), {"SURVEYBOT_PEPPER": "short"}, "at least 32 characters"),
    (("chat", "you-said"), {"SURVEYBOT_PORT": "http"}, "SURVEYBOT_PORT should be a port number"),
    (("run",), {"SURVEYBOT_PUBLIC_URL": "surveys.example.org"}, "SURVEYBOT_PUBLIC_URL should start with https://"),
    (("run", "--survey", "no-such-survey"), {}, "no survey `no-such-survey`"),
])
def test_bad_settings_and_ids_get_one_clear_line(tmp_path: Path, args: tuple[str, ...], env: dict[str, str],
                                                 message: str) -> None:
    result = surveybot(tmp_path, *args, stdin="", **env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("surveybot: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr and "pw@" not in result.stderr


def test_the_bot_refuses_to_load_an_invalid_survey(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "bad.yaml").write_text((REPO / "tests" / "surveys" / "sample.yaml").read_text()
                                     .replace("correct: Talk to your lead", "correct: Shout"))
    result = surveybot(tmp_path, "chat", "sample", stdin="yes\n", SURVEYBOT_SURVEYS_DIR=str(folder))
    assert result.returncode == 1 and "bad.yaml:" in result.stderr and "not one of its choices" in result.stderr


def test_db_upgrade_and_a_failed_export_leave_no_half_file(tmp_path: Path) -> None:
    assert surveybot(tmp_path, "db", "upgrade").returncode == 0
    out = tmp_path / "folder.csv"
    out.mkdir()
    result = surveybot(tmp_path, "export", "you-said", "--out", str(out))
    assert result.returncode == 1 and "is a folder" in result.stderr
    assert not list(tmp_path.glob(".*.partial"))


def test_run_without_tokens_serves_the_web_chat_and_stops_cleanly(tmp_path: Path) -> None:
    """The README's main command: no tokens, SQLite, and a printed link that works in a browser."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "DATABASE_URL"))}
    environment.update({"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), "SURVEYBOT_PORT": str(port)})
    environment.pop("TELEGRAM_BOT_TOKEN", None)
    environment.pop("SLACK_BOT_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=environment, text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        printed = ""
        deadline = time.monotonic() + 60
        while "http://" not in printed and time.monotonic() < deadline and process.poll() is None:
            printed += process.stdout.readline()
        link = re.search(r"http://\S+", printed)
        assert link is not None, printed
        assert link[0] == f"http://127.0.0.1:{port}/s/policy-awareness"
        with urllib.request.urlopen(link[0], timeout=10) as page:
            html = page.read().decode()
            assert page.status == 200 and "escalation policy" in html
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        request = urllib.request.Request(f"{link[0]}/api", data=b'{"type": "open"}', method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            effects = json.loads(answer.read())["effects"]
            assert "resume=" in answer.headers["Set-Cookie"]
        assert [e["type"] for e in effects][-1] == "ask" and effects[-1]["prompt"]["kind"] == "consent"
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors


def test_qr_writes_a_poster_of_the_link(tmp_path: Path) -> None:
    out = tmp_path / "poster.svg"
    result = surveybot(tmp_path, "qr", "you-said", "--out", str(out), "--base", "https://surveys.example.org/")
    assert result.returncode == 0, result.stderr
    svg = ElementTree.parse(out).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "https://surveys.example.org/s/you-said" in out.read_text()
    unknown = surveybot(tmp_path, "qr", "no-such-survey", "--out", str(tmp_path / "x.svg"))
    assert unknown.returncode == 1 and "no survey or campaign `no-such-survey`" in unknown.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_debug_logging_never_enables_sql_parameter_logs() -> None:
    import logging

    from bot import logs

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    logs.configure(Settings.from_env({"SURVEYBOT_LOG_LEVEL": "DEBUG"}))
    try:
        assert logging.getLogger("bot.services.service").isEnabledFor(logging.DEBUG)
        # SQLAlchemy prints statements with their parameters (answers) at INFO on these loggers
        assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
        assert not logging.getLogger("sqlalchemy.pool").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


def test_a_business_unit_sets_up_a_campaign_from_the_command_line(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("who,tags\ntelegram:1:1001,police;frontline\ntelegram:1:1002,health\nslack:T1:U9,police\n")
    assert "3 new" in surveybot(tmp_path, "contacts", "import", str(people)).stdout
    listed = json.loads(surveybot(tmp_path, "contacts", "list", "--tag", "police", "--json").stdout)
    assert sorted(c["channel"] for c in listed) == ["slack", "telegram"]  # ids follow keyed lookups, not the file
    assert "1001" not in json.dumps(listed) and "U9" not in json.dumps(listed)  # never the platform ids
    made = surveybot(tmp_path, "campaign", "create", "escalation-2026", "--survey", "policy-awareness",
                     "--opens", uk_time(7), "--closes", uk_time(28, 17), "--tags", "police",
                     "--every-months", "12", "--json")
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert shown["state"] == "scheduled" and [s["step"] for s in shown["schedule"]] == [
        "invite", "remind-1", "remind-2", "close"]
    assert "escalation-2026" in surveybot(tmp_path, "campaign", "list").stdout
    closed = surveybot(tmp_path, "campaign", "close", "escalation-2026")
    assert closed.returncode == 0 and "closed" in closed.stdout
    again = surveybot(tmp_path, "campaign", "show", "escalation-2026", "--json")
    assert json.loads(again.stdout)["state"] == "closed"


@pytest.mark.parametrize(("args", "message"), [
    (("campaign", "create", "x", "--survey", "nope", "--opens", "2026-12-01 09:00", "--closes", "2026-12-02 09:00"),
     "--survey: no survey `nope`"),
    (("campaign", "create", "x", "--survey", "you-said", "--opens", "tomorrow", "--closes", "2026-12-02 09:00"),
     "--opens `tomorrow` should look like"),
    (("campaign", "create", "x", "--survey", "you-said", "--opens", "2026-12-03 09:00", "--closes",
      "2026-12-02 09:00"), "must close after it opens"),
    (("campaign", "create", "Bad Code", "--survey", "you-said", "--opens", "2026-12-01 09:00", "--closes",
      "2026-12-02 09:00"), "code `Bad Code`"),
    (("campaign", "create", "x", "--survey", "you-said", "--opens", "2026-12-01 09:00", "--closes",
      "2026-12-02 09:00", "--quiet-hours", "8-8"), "--quiet-hours `8-8` should be two different hours"),
    (("campaign", "show", "missing"), "no campaign `missing`"),
    (("contacts", "tag", "99", "--add", "x"), "no contact 99"),
])
def test_campaign_mistakes_get_one_clear_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = surveybot(tmp_path, *args)
    errors = [line for line in result.stderr.splitlines() if line.startswith("surveybot: ")]
    assert result.returncode == 1 and len(errors) == 1 and message in errors[0], result.stderr


def test_a_bad_contacts_file_names_its_line_and_imports_nothing(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("who,tags\ntelegram:1:1001,police\ntelegram:1:1002,Not A Tag\n")
    result = surveybot(tmp_path, "contacts", "import", str(people))
    assert result.returncode == 1 and f"{people}:3: tags: `not a tag`" in result.stderr
    assert "0 contact(s)" in surveybot(tmp_path, "contacts", "list").stdout


def test_a_slack_channels_members_become_contacts(tmp_path: Path) -> None:
    from .fakes.slack_api import FakeSlack

    handle = FakeSlack().run_in_thread()
    try:
        handle.fake.members["C0PARTNERS"] = ["U0ANN", "U0BEN", handle.fake.bot_user_id]
        result = surveybot(tmp_path, "contacts", "import-slack", "C0PARTNERS", "--tags", "partners",
                           SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=handle.api_url)
        assert result.returncode == 0, result.stderr
        assert "Imported 2 member(s) of C0PARTNERS: 2 new." in result.stdout
        listed = json.loads(surveybot(tmp_path, "contacts", "list", "--tag", "partners", "--json").stdout)
        assert [c["channel"] for c in listed] == ["slack", "slack"] and "U0ANN" not in json.dumps(listed)
        refused = surveybot(tmp_path, "contacts", "import-slack", "general", SLACK_BOT_TOKEN="xoxb-test",
                            SLACK_API_URL=handle.api_url)
        assert refused.returncode == 1 and "should be a channel id" in refused.stderr
    finally:
        handle.stop()


def test_an_evidence_pack_can_be_asked_for_by_campaign_code(tmp_path: Path) -> None:
    made = surveybot(tmp_path, "campaign", "create", "yp-2026", "--survey", "you-said", "--opens", uk_time(-30),
                     "--closes", uk_time(30, 17))
    assert made.returncode == 0, made.stderr
    surveybot(tmp_path, "chat", "you-said", "--respondent", "a", stdin="yes\n1\n1\n1\n1\nmore buses\n1\n")
    packed = surveybot(tmp_path, "evidence-pack", "yp-2026", "--out", str(tmp_path / "pack.zip"))
    assert packed.returncode == 0, packed.stderr
    assert "evidence pack of `you-said`" in packed.stdout and "1 completed response(s)" in packed.stdout
    checked = surveybot(tmp_path, "evidence-pack", "verify", str(tmp_path / "pack.zip"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
