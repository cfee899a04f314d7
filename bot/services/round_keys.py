"""Survey rounds as the operator manages them: which survey and wave a command means, each round's status, its last
day of answers, and destroying its key.

The use cases behind `surveybot status` and `surveybot keys ...` (bot/cli/admin.py parses and prints). Every bad
argument ends in one `AdminError` line naming the field, and every change is audited.
"""

from __future__ import annotations

from datetime import date

from bot.engine.survey import Survey
from bot.services.core import Core
from bot.services.retention import RoundNotFound, destroy_key
from bot.services.round_status import render, round_status
from storage import rounds
from storage.models import SurveyKey


class AdminError(Exception):
    """A command was given something it cannot use; the message names the field."""


def survey_of(core: Core, survey_id: str) -> Survey:
    """The newest definition of a survey: the loaded file, or the text as published when the file has gone."""
    if core.catalogue.has(survey_id):
        return core.catalogue.latest(survey_id)
    versions = core.published_versions(survey_id)
    if not versions:
        raise AdminError(f"SURVEY: no survey `{survey_id}`; known surveys: {', '.join(core.catalogue.ids())}")
    return max(versions, key=lambda s: s.version)


def pick_wave(core: Core, survey_id: str, wave: int | None, *, may_be_new: bool = False) -> int:
    """The wave a command means: the one named, or the only one there is (or 1 for a round not yet started, when
    `may_be_new`)."""
    survey_of(core, survey_id)
    with core.store.unit() as uow:
        waves = [row.wave for row in rounds.all_rounds(uow, survey_id)]
    if wave is not None:
        if wave < 1:
            raise AdminError("--wave should be a whole number of at least 1")
        if wave not in waves and not may_be_new:
            raise AdminError(f"--wave: `{survey_id}` has no wave {wave} (it has {_list(waves)})")
        return wave
    if len(waves) == 1:
        return waves[0]
    if not waves:
        if may_be_new:
            return 1
        raise AdminError(f"SURVEY: `{survey_id}` has no rounds yet (nobody has started it)")
    raise AdminError(f"--wave: `{survey_id}` has waves {_list(waves)}; name one with --wave")


def status(core: Core, survey_id: str, wave: int | None) -> list[list[str]]:
    """Each round's status (of `wave` only, when given) as the lines to show, small counts suppressed; [] when
    nobody has started the survey."""
    survey = survey_of(core, survey_id)
    chosen = pick_wave(core, survey_id, wave) if wave is not None else None
    with core.store.unit() as uow:
        keys = [row for row in rounds.all_rounds(uow, survey_id) if chosen is None or row.wave == chosen]
    shown = []
    for key in keys:
        header, counts = round_status(core.store, core.policy, survey, key)
        shown.append([*header, *render(counts)])
    return shown


def all_rounds(core: Core) -> list[SurveyKey]:
    """Every round of every survey, with its close date and key state (`surveybot keys list`)."""
    with core.store.unit() as uow:
        return rounds.all_rounds(uow)


def close_round(core: Core, survey_id: str, wave: int | None, closes_on_text: str) -> tuple[int, date]:
    """Set a round's last day of answers (retention counts from it), audited: (the wave, the day)."""
    try:
        closes_on = date.fromisoformat(closes_on_text)
    except ValueError:
        raise AdminError(f"--on `{closes_on_text}` should be a date like 2026-04-30") from None
    chosen = pick_wave(core, survey_id, wave, may_be_new=True)
    today = core.service.clock().date()
    with core.store.unit() as uow:
        row = rounds.set_closes_on(uow, survey_id, chosen, closes_on, today)
        if row.salt is None:
            raise AdminError(f"SURVEY: the key of `{survey_id}` wave {chosen} is already destroyed")
        uow.audit("round.closes", {"survey": survey_id, "wave": chosen, "closes_on": closes_on.isoformat()}, today)
    return chosen, closes_on


def destroy(core: Core, survey_id: str, wave: int | None) -> tuple[int, int]:
    """Destroy a round's key now: (the wave, how many of its open conversations were ended)."""
    chosen = pick_wave(core, survey_id, wave)
    try:
        return chosen, destroy_key(core.store, survey_id, chosen, core.service.clock().date())
    except RoundNotFound as exc:
        raise AdminError(f"SURVEY: {exc}") from None


def _list(waves: list[int]) -> str:
    return ", ".join(map(str, waves)) if waves else "none"
