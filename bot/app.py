"""The composition root: settings -> database, surveys, keys, service (and, as they land, channels and scheduler).

Nothing is wired on import; the CLI calls `build` once.
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
from bot.privacy import Keys
from bot.service import SurveyService
from bot.surveyfiles import SurveyCatalogue, builtin_survey_dir, parse_survey
from storage import database
from storage.unit_of_work import Store


@dataclass
class App:
    settings: Settings
    engine: Engine
    store: Store
    catalogue: SurveyCatalogue
    service: SurveyService
    keys: Keys
    notes: list[str] = field(default_factory=list)

    def published_versions(self, survey_id: str) -> list[Survey]:
        """Every version of a survey that was ever published, parsed from the exact stored text."""
        with self.store.unit() as uow:
            stored = uow.published_versions(survey_id)
        return [parse_survey(row.source, f"{survey_id} v{row.version} (as published)") for row in stored]


def survey_dirs(settings: Settings) -> tuple[Path, ...]:
    return settings.surveys_dirs or (builtin_survey_dir(),)


def make_clock(settings: Settings) -> Callable[[], datetime]:
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"SURVEYBOT_TIMEZONE `{settings.timezone}` is not a known time zone") from None
    return lambda: datetime.now(zone)


def build(settings: Settings, clock: Callable[[], datetime] | None = None, migrate: bool | None = None) -> App:
    """Everything the commands need, checked: invalid surveys, a bad pepper or an unreachable database stop here."""
    catalogue = SurveyCatalogue.from_dirs(survey_dirs(settings))
    pepper, note = settings.pepper_bytes()
    keys = Keys(pepper)
    engine = database.connect(settings.database_url)
    if settings.auto_migrate if migrate is None else migrate:
        database.upgrade(engine)
    store = Store(engine)
    service = SurveyService(store, catalogue, keys, clock or make_clock(settings))
    service.publish_all()
    return App(settings, engine, store, catalogue, service, keys, [note] if note else [])
