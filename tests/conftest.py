"""Shared fixtures: a fixed clock, the sample survey, a service on SQLite or on the PostgreSQL server."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.engine.survey import Survey
from bot.services.privacy import Keys
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir, load_survey_file
from storage import database
from storage.unit_of_work import Store

HERE = Path(__file__).parent
SAMPLE = HERE / "surveys" / "sample.yaml"
LONDON = ZoneInfo("Europe/London")
PEPPER = b"test-pepper-" + b"x" * 40
PG_ADMIN_URL = os.environ.get("SURVEYBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

# Hypothesis: "ci" (the default) keeps hypothesis's own example counts, and tests that set their own keep them modest;
# HYPOTHESIS_PROFILE=long runs twenty times as many examples, for a deeper fuzz before a release.
hypothesis_settings.register_profile("ci", deadline=None, print_blob=True)
hypothesis_settings.register_profile("long", deadline=None, print_blob=True, max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 3, 2, 9, 30, tzinfo=LONDON)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def sample() -> Survey:
    return load_survey_file(SAMPLE)


@pytest.fixture(scope="session")
def catalogue(sample: Survey) -> SurveyCatalogue:
    builtin = SurveyCatalogue.from_dirs([builtin_survey_dir()]).all()
    return SurveyCatalogue([sample, *builtin])


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """A `surveybot` command run in this process (bot.cli.main, bot.logs.configure) puts its handler on the root
    logger, bound to that test's standard error. Left there, a later test's background thread logging through it
    writes to a capture that is closed by then ("--- Logging error ---" in the run's output). Each test leaves the
    root logger with the handlers of ours and the level it found."""
    root = logging.getLogger()
    before, level = [h for h in root.handlers if getattr(h, "surveybot", False)], root.level
    yield
    for handler in list(root.handlers):
        if getattr(handler, "surveybot", False) and handler not in before:
            root.removeHandler(handler)
    for handler in before:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def postgres_url() -> str | None:
    """A fresh, empty database on the local PostgreSQL server, or None when no server is reachable."""
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"surveybot_test_{os.getpid()}_{secrets.token_hex(4)}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except OperationalError:
        return None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def bench_database(kind: str, folder: Path) -> tuple[str, str | None]:
    """For the bench scripts: the database URL of `kind` ("sqlite" in `folder`, or a fresh PostgreSQL database), and
    the URL to drop afterwards (None for SQLite). Exits with a one-line reason when PostgreSQL is unreachable."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'surveybot.db'}", None
    url = postgres_url()
    if url is None:
        sys.exit("no PostgreSQL server reachable (set SURVEYBOT_TEST_PG_URL)")
    return url, url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'surveybot.db'}"
        return
    url = postgres_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server reachable at {database.describe(PG_ADMIN_URL)} "
                    "(set SURVEYBOT_TEST_PG_URL to use another)")
    try:
        yield url
    finally:
        drop_postgres(url)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = database.connect(database_url)
    database.upgrade(engine)
    yield Store(engine)
    engine.dispose()


@pytest.fixture
def service(store: Store, catalogue: SurveyCatalogue, clock: Clock) -> SurveyService:
    svc = SurveyService(store, catalogue, Keys(PEPPER), clock)
    svc.publish_all()
    return svc
