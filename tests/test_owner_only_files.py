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

from bot.config import Settings
from bot.reporting.signing import KEY_FILE, signing_key
from storage import database
from storage.files import create_owner_only

from . import dataset
from .conftest import PEPPER
from .test_privacy_cli import Cli
from .test_reporting_cli import SAMPLE_ONLY


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The umask given by the test's parameter, for the length of the test."""
    before = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(before)


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


# 000 leaves every file open to all; 022 is the usual one; 277 would take the owner's own write away; 777 takes all.
UMASKS = [0o000, 0o022, 0o077, 0o277, 0o777]


@pytest.mark.parametrize("umask", UMASKS, indirect=True, ids=oct)
def test_the_one_function_makes_a_file_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    new, written = tmp_path / "new", tmp_path / "written"
    create_owner_only(new)
    create_owner_only(written, b"secret\n" * 10_000, exclusive=True)
    assert (mode(new), mode(written)) == (0o600, 0o600)
    assert new.read_bytes() == b"" and written.read_bytes() == b"secret\n" * 10_000


@pytest.mark.parametrize("umask", UMASKS, indirect=True, ids=oct)
def test_a_file_already_there_is_replaced_as_0600_or_left_alone_when_exclusive(tmp_path: Path, umask: int) -> None:
    replaced, kept = tmp_path / "replaced", tmp_path / "kept"
    for path in (replaced, kept):
        path.write_bytes(b"made earlier, open to all")
        os.chmod(path, 0o666)
    create_owner_only(replaced, b"new")
    with pytest.raises(FileExistsError):
        create_owner_only(kept, b"new", exclusive=True)
    assert (mode(replaced), replaced.read_bytes()) == (0o600, b"new")
    assert (mode(kept), kept.read_bytes()) == (0o666, b"made earlier, open to all")


@pytest.mark.parametrize("umask", [0o000, 0o277], indirect=True, ids=oct)
def test_the_development_pepper_and_signing_key_are_made_0600(tmp_path: Path, umask: int) -> None:
    settings = Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path / "data")})
    pepper, note = settings.pepper_bytes()
    assert note is not None and len(pepper) >= 32
    assert settings.pepper_bytes() == (pepper, None)  # read back from the file made the first time
    key, note = signing_key(settings)
    assert note is not None and signing_key(settings)[0].public_key() == key.public_key()
    assert (mode(tmp_path / "data" / "pepper"), mode(tmp_path / "data" / KEY_FILE)) == (0o600, 0o600)
