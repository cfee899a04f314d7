"""A survey round's report, gathered: which wave, which versions, the round's thresholds, its figures and a comparison.

`make_report` reads the store (one streamed pass per wave) and returns a `Report`, which bot.reporting.html renders
as one self-contained HTML file and bot.reporting.method as the evidence pack's method note. It takes the survey's
published versions (bot.reading.published_versions: the exact text as stored) rather than the files on disk, so a
report always describes what was really asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.engine.survey import Audience, Survey
from bot.reporting.compare import Comparison, compare
from bot.reporting.figures import WaveResult, build_wave
from bot.reporting.progress import Progress, Terminal
from bot.reporting.tally import RoundTally, count_round
from bot.services.policy import Policy, round_thresholds
from bot.services.yousaid import Board, read_board
from storage import results, rounds
from storage.unit_of_work import Store


class ReportRequestError(Exception):
    """The survey, wave or comparison asked for does not exist; the message names the option."""


@dataclass(frozen=True)
class Report:
    current: WaveResult
    made_on: date
    waves: tuple[int, ...]  # every wave the survey has
    comparison: Comparison | None = None
    we_did: Board | None = None  # young people's surveys: "you said, we did" replies and their reactions


def pick_waves(store: Store, survey_id: str, wave: int | None, other: int | None) -> tuple[int, int | None]:
    """The report's wave (default: the latest) and the one to compare it with, checked against the survey's waves."""
    with store.unit() as uow:
        known = results.waves(uow, survey_id)
    if not known:
        raise ReportRequestError(f"SURVEY: `{survey_id}` has no rounds yet (nobody has started it)")
    listed = ", ".join(map(str, known))
    if wave is not None and wave not in known:
        raise ReportRequestError(f"--wave: `{survey_id}` has no wave {wave} (it has {listed})")
    chosen = wave if wave is not None else known[-1]
    if other is not None:
        if other not in known:
            raise ReportRequestError(f"--compare: `{survey_id}` has no wave {other} (it has {listed})")
        if other == chosen:
            raise ReportRequestError(f"--compare: wave {other} is the report's own wave; name another one")
    return chosen, other


def read_wave(store: Store, policy: Policy, published: list[Survey], survey_id: str, wave: int, key: bytes,
              stream: Terminal | None = None) -> tuple[WaveResult, RoundTally]:
    """Count and suppress one round, described by the versions that collected its answers."""
    with store.unit() as uow:
        answered = set(results.versions_answered(uow, survey_id, wave))
        facts = results.round_facts(uow, survey_id, wave)
        round_key = rounds.get(uow, survey_id, wave)
    versions = [s for s in published if s.version in answered] or [max(published, key=lambda s: s.version)]
    newest = max(versions, key=lambda s: s.version)
    thresholds = round_thresholds(policy, newest.audience, round_key.min_group if round_key else None,
                                  round_key.min_group_text if round_key else None, newest.min_group)
    locked = round_key is not None and round_key.min_group is not None
    progress = Progress(f"counting wave {wave}", facts.completed, stream)
    tally = count_round(store, survey_id, wave, versions, key + f"|{survey_id}|{wave}".encode(), progress)
    progress.finish()
    return build_wave(tally, newest, facts, thresholds, locked), tally


def make_report(store: Store, policy: Policy, published: list[Survey], survey_id: str, wave: int | None,
                other: int | None, key: bytes, today: date, stream: Terminal | None = None) -> Report:
    """The whole report. `key` (a secret derived from the pepper) orders the comment samples; `today` dates it."""
    if not published:
        raise ReportRequestError(f"SURVEY: no survey `{survey_id}` has been published")
    chosen, other = pick_waves(store, survey_id, wave, other)
    with store.unit() as uow:
        known = tuple(results.waves(uow, survey_id))
    current, tally = read_wave(store, policy, published, survey_id, chosen, key, stream)
    comparison = None
    if other is not None:
        earlier, earlier_tally = read_wave(store, policy, published, survey_id, other, key, stream)
        comparison = compare(earlier, current, earlier_tally, tally)
    newest = max(published, key=lambda s: s.version)
    we_did = (read_board(store, policy, survey_id, chosen, today, newest.title, newest.audience)
              if newest.audience is Audience.YOUNG_PEOPLE else None)
    return Report(current, today, known, comparison, we_did)
