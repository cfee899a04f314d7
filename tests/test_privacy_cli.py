"""The privacy commands end to end through `bot.cli.main`: scrubbed storage and exports, audit verify catching a
tampered database (in a real subprocess), keys, purge, status and roles, and one clear line for every bad argument.

Most run the real entry point in this process, with its own environment, folder and standard input, because a
subprocess costs over a second of imports each; tests/test_cli.py already covers the installed script itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from bot import cli

from .test_cli import RESPONDENT
from .test_cli import surveybot as surveybot_process


class Cli:
    """`surveybot ...` in this process, in tmp_path, with only the environment given."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp_path, self.monkeypatch, self.capsys = tmp_path, monkeypatch, capsys
        for name in list(os.environ):
            if name.startswith(("SURVEYBOT_", "DATABASE_URL", "TELEGRAM_", "SLACK_")):
                monkeypatch.delenv(name)
        monkeypatch.setenv("SURVEYBOT_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.chdir(tmp_path)

    def __call__(self, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        with self.monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            patch.setattr("sys.stdin", io.StringIO(stdin))
            self.capsys.readouterr()
            code = cli.main(list(args))
            out, err = self.capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)


@pytest.fixture
def surveybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path, monkeypatch, capsys)

NAMES = "# staff and places\nJo Bloggs\nRiverside Academy\n"
CHANGE = "Ask Jo Bloggs at Riverside Academy on 07700 900123, jo@example.org or @jobloggs. NI QQ 12 34 56 A"
OTHER = "Texting Riverside Academy"
# consent, two scales, "Feeling safe" and "Other", the other words, listened, the free text, hear back
YOUTH_ANSWERS = f"1\n3\n3\n1, 8\n{OTHER}\n1\n{CHANGE}\n1\n"
SECRETS = (RESPONDENT, "alice", "Jo Bloggs", "Bloggs", "Riverside", "07700", "900123", "jo@example.org",
           "@jobloggs", "QQ 12 34 56")


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "data" / "surveybot.db") as database:
        return database.execute(sql).fetchall()


@pytest.fixture
def answered(tmp_path: Path, surveybot: Cli) -> dict[str, str]:
    """A young person has answered you-said with identifying free text, scrubbing with a names list."""
    (tmp_path / "names.txt").write_text(NAMES)
    env = {"SURVEYBOT_SCRUB_NAMES_FILE": str(tmp_path / "names.txt")}
    result = surveybot("chat", "you-said", "--respondent", RESPONDENT, stdin=YOUTH_ANSWERS, **env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "Nobody watches this chat live." in result.stdout
    return env


def test_free_text_is_stored_and_exported_scrubbed_and_every_export_is_audited(tmp_path: Path, surveybot: Cli,
                                                                               answered: dict[str, str]) -> None:
    for fmt in ("csv", "json"):
        exported = surveybot("export", "you-said", "--format", fmt, "--out", f"export.{fmt}", **answered)
        assert exported.returncode == 0, exported.stderr
    record = json.loads((tmp_path / "export.json").read_text())[0]
    assert record["change"] == "Ask [name] at [name] on [phone], [email] or [handle]. NI [ni number]"
    assert record["matters.other"] == "Texting [name]"
    with sqlite3.connect(tmp_path / "data" / "surveybot.db") as database:
        dumped = "\n".join(database.iterdump())
    for secret in SECRETS:
        for where, content in (("csv", (tmp_path / "export.csv").read_text()),
                               ("json", (tmp_path / "export.json").read_text()), ("database", dumped)):
            assert secret not in content, (secret, where)
    exports = [json.loads(s) for (s,) in rows(tmp_path, "SELECT subject FROM audit_record WHERE action = 'export'")]
    assert [(e["format"], e["rows"]) for e in exports] == [("csv", 1), ("json", 1)]
    assert exports[1]["sha256"] == hashlib.sha256((tmp_path / "export.json").read_bytes()).hexdigest()
    verified = surveybot("audit", "verify", **answered)
    assert verified.returncode == 0 and verified.stdout.startswith("audit chain OK: ")


def test_audit_verify_names_the_tampered_answer(tmp_path: Path, answered: dict[str, str]) -> None:
    ((answer_id, record),) = rows(tmp_path, "SELECT a.id, (SELECT max(seq) FROM audit_record r WHERE r.action = "
                                            "'answer.recorded' AND r.subject LIKE '%\"listened\"%') "
                                            "FROM answer a WHERE question_id = 'listened'")
    with sqlite3.connect(tmp_path / "data" / "surveybot.db") as database:
        database.execute("UPDATE answer SET value = '\"Not really\"' WHERE id = ?", (answer_id,))
    result = surveybot_process(tmp_path, "audit", "verify")  # the real command, in its own process
    assert result.returncode == 1 and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first == (f"surveybot: audit check FAILED: answer {answer_id} (response 1, listened) does not match the "
                     f"fingerprint in audit record {record}: its value was changed")


def test_keys_purge_status_and_delete_after_destruction(tmp_path: Path, surveybot: Cli,
                                                        answered: dict[str, str]) -> None:
    closed = surveybot("keys", "close", "you-said", "--on", "2020-01-31")
    assert closed.returncode == 0 and "/delete works until 29 February 2020" in closed.stdout
    listed = surveybot("keys", "list")
    assert "2020-01-31  2020-02-29" in listed.stdout and listed.stdout.rstrip().endswith("live")
    purged = surveybot("purge")  # the close was long ago: everything is due
    assert purged.returncode == 0, purged.stderr
    assert "2 free-text answer(s) blanked, 1 key(s) destroyed" in purged.stdout
    assert rows(tmp_path, "SELECT value FROM answer WHERE question_id = 'change'") == [("null",)]
    erased = surveybot("chat", "you-said", "--respondent", RESPONDENT, stdin="/delete\n")
    assert "anonymous" in erased.stdout
    status = surveybot("status", "you-said")
    assert status.returncode == 0, status.stderr
    assert "groups under 10 are not shown" in status.stdout and "key: destroyed on " in status.stdout
    assert "fewer than 10" in status.stdout and "    completed " in status.stdout
    assert surveybot("audit", "verify").returncode == 0
    again = surveybot("keys", "destroy", "you-said")
    assert again.returncode == 1 and "already destroyed" in again.stderr


def test_roles_are_granted_listed_and_revoked_by_channel_user(tmp_path: Path, surveybot: Cli) -> None:
    token = {"TELEGRAM_BOT_TOKEN": "5550001:AAAA-test-token"}
    granted = surveybot("roles", "grant", "safeguarding-lead", "telegram:123456789", **token)
    assert granted.returncode == 0, granted.stderr
    surveybot("roles", "grant", "scrutineer", "slack:T0PARTNER:U0SCRUTINY")
    listed = surveybot("roles", "list")
    assert "safeguarding-lead  telegram:5550001:123456789" in listed.stdout
    assert "scrutineer         slack:T0PARTNER:U0SCRUTINY" in listed.stdout
    revoked = surveybot("roles", "revoke", "scrutineer", "slack:T0PARTNER:U0SCRUTINY")
    assert "no longer scrutineer" in revoked.stdout
    with sqlite3.connect(tmp_path / "data" / "surveybot.db") as database:
        dumped = "\n".join(database.iterdump())
    assert "123456789" not in dumped and "U0SCRUTINY" not in dumped


@pytest.mark.parametrize(("args", "message"), [
    (("status", "no-such-survey"), "SURVEY: no survey `no-such-survey`"),
    (("keys", "close", "you-said", "--on", "31/01/2026"), "--on `31/01/2026` should be a date like 2026-04-30"),
    (("keys", "destroy", "you-said"), "SURVEY: `you-said` has no rounds yet"),
    (("keys", "destroy", "you-said", "--wave", "0"), "--wave should be a whole number of at least 1"),
    (("roles", "grant", "boss", "slack:T1:U1"), "ROLE `boss` should be one of admin, scrutineer, safeguarding-lead"),
    (("roles", "grant", "admin", "telegram:123"), "set TELEGRAM_BOT_TOKEN"),
    (("audit", "verify", "--head", "abc"), "--head should be a chain hash"),
    (("status", "you-said"), "SURVEYBOT_MIN_GROUP should be a whole number of at least 3"),
])
def test_bad_arguments_get_one_clear_line(surveybot: Cli, args: tuple[str, ...], message: str) -> None:
    env = {"SURVEYBOT_MIN_GROUP": "2"} if "MIN_GROUP" in message else {}
    result = surveybot(*args, **env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("surveybot: ")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
