"""`surveybot yousaid` on the command line, as the business unit types it: who is acting comes from `--as`, roles
are checked, and every mistake is one line naming the argument with a non-zero exit. The board is written as
self-contained HTML and as Markdown."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> object:
    """`surveybot ...` in this process (the real entry point), on a fresh data folder."""
    for name in list(os.environ):
        if name.startswith(("SURVEYBOT_", "DATABASE_URL", "TELEGRAM_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SURVEYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SURVEYBOT_PEPPER", "a-test-pepper-that-is-long-enough-to-use-0123456789")

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def ok(cli: object, *args: str, stdin: str = "") -> str:
    status, out, err = cli(*args, stdin=stdin)  # type: ignore[operator]
    assert status == 0, err
    return str(out)


def refused(cli: object, *args: str) -> str:
    """The one line a mistake gets, after checking the exit status."""
    status, out, err = cli(*args)  # type: ignore[operator]
    lines = err.strip().splitlines()
    assert status != 0 and out == "" and len(lines) == 1 and "Traceback" not in err, err
    return str(lines[0])


def test_review_theme_reply_approve_and_board_from_the_command_line(cli: object, tmp_path: Path) -> None:
    ok(cli, "chat", "you-said", "--respondent", "sam",
       stdin="yes\n3\n3\n1\n1\nBuses please, ring 07700 900123\nyes\n")
    ok(cli, "roles", "grant", "admin", "console:alice")
    ok(cli, "roles", "grant", "youth-participation-lead", "console:lee")
    ok(cli, "roles", "grant", "youth-participation-lead", "console:alice")  # both roles: still not her own
    listing = ok(cli, "yousaid", "list")
    assert re.search(r"^\s+1\s.*you-said wave 1\s+survey\s+Buses please, ring \[phone\]", listing, re.M), listing
    assert "Theme 1 “Getting around” now has 1 item(s)." in ok(
        cli, "yousaid", "theme", "Getting around", "1", "--as", "console:alice")
    assert ok(cli, "yousaid", "list").strip() == "No new feedback."
    assert "Reply 1 written" in ok(cli, "yousaid", "reply", "1", "--status", "in progress", "--text",
                                   "We are talking to the bus company.", "--as", "console:alice")

    assert refused(cli, "yousaid", "approve", "1", "--as", "console:alice").startswith(
        "surveybot: --as: a reply must be approved by someone other than the person who wrote it")
    assert "youth-participation-lead role" in refused(cli, "yousaid", "approve", "1", "--as", "console:bob")
    assert "--as: WHO `bob`" in refused(cli, "yousaid", "approve", "1", "--as", "bob")
    assert "REPLY: `x`" in refused(cli, "yousaid", "approve", "x", "--as", "console:lee")
    assert "ITEMS: `abc`" in refused(cli, "yousaid", "theme", "Other", "abc", "--as", "console:alice")
    assert "ITEMS: there is no item 99" in refused(cli, "yousaid", "theme", "Other", "99", "--as",
                                                    "console:alice")
    assert "STATUS: `maybe`" in refused(cli, "yousaid", "reply", "1", "--status", "maybe", "--text", "x",
                                        "--as", "console:alice")
    assert "Reply 1 approved" in ok(cli, "yousaid", "approve", "1", "--as", "console:lee")
    assert "has no campaign" in refused(cli, "yousaid", "send", "1", "--as", "console:alice")
    assert "--wave: `two`" in refused(cli, "yousaid", "board", "--wave", "two", "--out", "b.html")
    assert "--survey: no survey `nope`" in refused(cli, "yousaid", "board", "--survey", "nope", "--out", "b.md")

    themes = ok(cli, "yousaid", "themes")
    assert "theme 1: Getting around" in themes and "reply 1 [in-progress, approved;" in themes
    ok(cli, "yousaid", "board", "--out", str(tmp_path / "board.md"))
    ok(cli, "yousaid", "board", "--survey", "you-said", "--wave", "1", "--out", str(tmp_path / "board.html"))
    md = (tmp_path / "board.md").read_text()
    assert "## Getting around" in md and "We did (in progress):** We are talking to the bus company." in md
    assert "fewer than 10 things were said" in md and "Buses please" not in md  # 1 < k = 10: no quotes
    page = (tmp_path / "board.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "In progress" in page and "Buses please" not in page
    assert not re.search(r"(src|href)=|<script|@import|url\(", page)  # nothing to fetch
