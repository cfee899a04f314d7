"""Issue 19 item 3: every file surveybot writes for people to read, and the database itself, is created readable by
its owner only (0600), checked with os.stat under the most open umask there is, so the result is ours, not the
umask's."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import database

from . import dataset
from .conftest import PEPPER
from .test_privacy_cli import Cli
from .test_reporting_cli import SAMPLE_ONLY


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 000: left alone, every new file would be readable (and writable) by every account."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def test_a_new_sqlite_database_and_its_wal_files_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "data" / "surveybot.db"
    engine = database.connect(f"sqlite:///{path}")
    try:
        database.upgrade(engine)
        with engine.begin() as connection:  # a write, so the -wal and -shm files exist while it is open
            connection.execute(text("INSERT INTO processed_event (key, seen_on) VALUES ('k', '2026-03-02')"))
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM processed_event"))
            files = [path, path.with_name("surveybot.db-wal"), path.with_name("surveybot.db-shm")]
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        engine.dispose()


def test_exports_reports_boards_and_packs_are_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], open_umask: None) -> None:
    dataset.store_copy(tmp_path / "data").engine.dispose()
    surveybot = Cli(tmp_path, monkeypatch, capsys)
    (tmp_path / "stale.csv").write_text("made earlier, open to all")
    os.chmod(tmp_path / "stale.csv", 0o666)
    commands = [
        ("export", "sample", "--format", "csv", "--out", "stale.csv"),  # replacing an open file closes it
        ("export", "sample", "--format", "json", "--out", "all.json"),
        ("export", "sample", "--format", "xlsx", "--out", "all.xlsx"),
        ("report", "sample", "--out", "report.html"),
        ("yousaid", "board", "--out", "board.html"),
        ("evidence-pack", "sample", "--out", "pack.zip"),
    ]
    for command in commands:
        result = surveybot(*command, **SAMPLE_ONLY)
        assert result.returncode == 0, (command, result.stderr)
    written = ["stale.csv", "stale.csv.codebook.csv", "all.json", "all.json.codebook.json", "all.xlsx",
               "report.html", "board.html", "pack.zip"]
    assert {name: mode(tmp_path / name) for name in written} == {name: 0o600 for name in written}
    assert PEPPER.decode() not in "".join((tmp_path / name).read_text(errors="ignore") for name in written)
