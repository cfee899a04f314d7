"""The backup and restore that README: Production documents, done with the real tools on a populated database:
pg_dump / pg_restore for PostgreSQL, SQLite's online `.backup`. The copy verifies with the same pepper, holds every
row, and cannot be verified (nor any pseudonym recomputed) without it: the pepper is backed up apart, but needed."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.services.audit import verify
from bot.services.privacy import Keys
from bot.services.service import SurveyService
from storage import database
from storage.unit_of_work import Store

from . import dataset
from .conftest import Clock, drop_postgres, postgres_url
from .test_migrations import rows


def libpq_url(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (libpq knows no `+psycopg`)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def back_up_and_restore(database_url: str, folder: Path) -> tuple[str, str | None]:
    """(the restored copy's URL, a database to drop afterwards), by the README's commands."""
    if database_url.startswith("sqlite"):
        source, copy = database_url.removeprefix("sqlite:///"), folder / "backup.db"
        if shutil.which("sqlite3"):
            subprocess.run(["sqlite3", source, f".backup '{copy}'"], check=True, timeout=60)
        else:  # the same online backup, through Python's module
            with sqlite3.connect(source) as live, sqlite3.connect(copy) as target:
                live.backup(target)
        return f"sqlite:///{copy}", None
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed here")
    dump = folder / "surveybot.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", libpq_url(database_url)], check=True,
                   timeout=120)
    target = postgres_url()
    assert target is not None
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq_url(target)}", str(dump)],
                   check=True, timeout=120)
    return target, target


def test_a_backup_restores_whole_and_verifies_only_with_the_same_pepper(service: SurveyService, clock: Clock,
                                                                       store: Store, database_url: str,
                                                                       tmp_path: Path) -> None:
    dataset.build(service, clock)
    before = rows(store)
    restored_url, to_drop = back_up_and_restore(database_url, tmp_path)
    restored = Store(database.connect(restored_url))
    try:
        assert rows(restored) == before
        current, head = database.revisions(restored.engine)
        assert current == head, "the copy is at the same migration"
        assert verify(restored, service.keys).ok
        with restored.engine.connect() as connection:
            salts = connection.execute(text("SELECT count(*) FROM survey_key WHERE salt IS NOT NULL")).scalar()
        assert salts, "the salts behind the pseudonyms are in the database, so in every backup of it"
        stranger = Keys(b"another-pepper-entirely-" + b"z" * 40)
        assert not verify(restored, stranger).ok, "without the pepper the evidence cannot be checked"
    finally:
        restored.engine.dispose()
        if to_drop is not None:
            drop_postgres(to_drop)
