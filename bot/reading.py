"""The composition for commands that only read answers and audit what they read (`surveybot export`): settings ->
survey files, database, clock, without the survey service, the ORM or the channels.

Those take most of a second to import, and a C tool dumping the same rows takes about a second in all
(bench/reports_bench.py). The start is still the one every command makes (bot.app.build, handed in as `publish`):
the survey files are checked, the pepper is read (made on first run), the schema is brought up to date when
SURVEYBOT_AUTO_MIGRATE says so, and every loaded survey version is published. The last two cost one query each when
there is nothing to do; when there is something, Alembic and the service do it, exactly as for the other commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Engine

from bot.config import Settings, SettingsError
from bot.engine.survey import Survey
from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir, parse_survey
from storage import database, results
from storage.sql import SqlStore, Units


def survey_dirs(settings: Settings) -> tuple[Path, ...]:
    """The folders survey files are read from: SURVEYBOT_SURVEYS_DIR when it is set; otherwise the built-in surveys,
    and the data folder's surveys/ once the web console has published a survey there (bot.console.surveys)."""
    if settings.surveys_dirs:
        return settings.surveys_dirs
    own = own_survey_dir(settings)
    return (builtin_survey_dir(), own) if own.is_dir() else (builtin_survey_dir(),)


def own_survey_dir(settings: Settings) -> Path:
    """Where the web console publishes survey files when SURVEYBOT_SURVEYS_DIR is not set."""
    return settings.data_dir / "surveys"


def make_clock(settings: Settings) -> Callable[[], datetime]:
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"SURVEYBOT_TIMEZONE `{settings.timezone}` is not a known time zone") from None
    return lambda: datetime.now(zone)


def published_versions(store: Units, survey_id: str) -> list[Survey]:
    """Every version of a survey that was ever published, parsed from the exact stored text."""
    with store.unit() as uow:
        stored = results.published(uow, survey_id)
    return [parse_survey(source, f"{survey_id} v{version} (as published)") for version, source in stored]


@dataclass
class Reader:
    settings: Settings
    engine: Engine
    store: SqlStore
    catalogue: SurveyCatalogue
    clock: Callable[[], datetime]
    notes: list[str] = field(default_factory=list)

    def published_versions(self, survey_id: str) -> list[Survey]:
        return published_versions(self.store, survey_id)


def open_reader(settings: Settings, publish: Callable[[Settings], None]) -> Reader:
    """What `export` needs, checked as bot.app.build checks it: invalid surveys, a bad pepper or time zone, or an
    unreachable database stop here. `publish` (the CLI hands it bot.app's build) is called only when a survey file
    is new or changed, so this light start never imports the service, and bot.app, which builds on this module, is
    never imported from here."""
    catalogue = SurveyCatalogue.from_dirs(survey_dirs(settings))
    _, note = settings.pepper_bytes()
    clock = make_clock(settings)
    engine = database.connect(settings.database_url)
    if settings.auto_migrate:
        database.upgrade(engine)
    store = SqlStore(engine)
    with store.unit() as uow:
        stored = results.published_digests(uow)
    if any(stored.get((s.id, s.version)) != results.digest(s.source) for s in catalogue.all()):
        publish(settings)  # a survey file is new or changed: the service publishes it, audited and checked
    return Reader(settings, engine, store, catalogue, clock, [note] if note else [])
