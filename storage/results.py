"""Reading results for exports and reports: completed responses streamed with their answers, round facts, and the
survey text as published.

Functions over an open unit (storage.sql.SqlUnit: a UnitOfWork, or a bare unit from SqlStore), read-only, in plain
SQL on the driver's cursor, so `surveybot export` can run them without loading the ORM. The streaming read
(`completed_batches`) is built for volume: the database strings each response's answers together, and the rows come
straight from the driver, so an export of a million answers spends its time writing rather than building objects it
throws away (bench/reports_bench.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from storage.sql import Sql, SqlUnit, day

BATCH = 2000


@dataclass(frozen=True)
class CompletedResponse:
    """One completed response, with no identifier beyond its row id (which never leaves the process)."""

    id: int
    survey_id: str
    version: int
    wave: int
    completed_on: date | None


UNIT, RECORD = "\x1f", "\x1e"  # the ASCII unit and record separators: never in a question id or in JSON text


def _completed(wave: str) -> Sql:
    """Completed responses in id order, each with its answers strung together. SQLite runs a correlated subquery per
    response (group_concat) about a fifth faster than a join grouped by response; PostgreSQL runs the grouped join
    (string_agg) about a tenth faster than the subquery. So each has its own."""
    columns = "SELECT r.id, r.survey_id, r.version, r.wave, r.completed_on"
    where = f"WHERE r.survey_id = :survey_id AND r.completed{wave}"
    return Sql(f"{columns}, (SELECT group_concat(a.question_id || char(31) || a.value, char(30)) FROM answer a "
               f"WHERE a.response_id = r.id) FROM response r {where} ORDER BY r.id",
               postgresql=f"{columns}, string_agg(a.question_id || chr(31) || a.value, chr(30)) FROM response r "
                          f"LEFT OUTER JOIN answer a ON a.response_id = r.id {where} GROUP BY r.id ORDER BY r.id")


COMPLETED, COMPLETED_IN_WAVE = _completed(""), _completed(" AND r.wave = :wave")
COUNT_COMPLETED = Sql("SELECT count(*) FROM response WHERE survey_id = :survey_id AND completed")
COUNT_COMPLETED_IN_WAVE = Sql("SELECT count(*) FROM response WHERE survey_id = :survey_id AND completed "
                              "AND wave = :wave")
WAVES = Sql("SELECT wave FROM survey_key WHERE survey_id = :survey_id "
            "UNION SELECT wave FROM response WHERE survey_id = :survey_id")
VERSIONS_ANSWERED = Sql("SELECT DISTINCT version FROM response WHERE survey_id = :survey_id AND completed")
VERSIONS_ANSWERED_IN_WAVE = Sql("SELECT DISTINCT version FROM response WHERE survey_id = :survey_id AND completed "
                                "AND wave = :wave")
ROUND_KEY = Sql("SELECT created_on, closes_on FROM survey_key WHERE survey_id = :survey_id AND wave = :wave")
ROUND_COMPLETED_ON = Sql("SELECT min(completed_on), max(completed_on) FROM response "
                         "WHERE survey_id = :survey_id AND wave = :wave AND completed")
ROUND_STARTED = Sql("SELECT count(*) FROM response WHERE survey_id = :survey_id AND wave = :wave")
ROUND_INVITED = Sql("SELECT count(*) FROM participation WHERE survey_id = :survey_id AND wave = :wave AND invited")
ROUND_INVITED_COMPLETED = Sql("SELECT count(*) FROM participation WHERE survey_id = :survey_id AND wave = :wave "
                              "AND invited AND completed")
PUBLISHED = Sql("SELECT version, source FROM survey_version WHERE survey_id = :survey_id ORDER BY version")
PUBLISHED_ONE = Sql("SELECT source FROM survey_version WHERE survey_id = :survey_id AND version = :version")
DIGESTS = Sql("SELECT survey_id, version, digest FROM survey_version")


def completed_batches(uow: SqlUnit, survey_id: str, wave: int | None = None,
                      batch: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    """Completed responses in id order, optionally of one wave, `batch` at a time, as the driver gives them:
    (row id, survey id, version, wave, completed on, answers). `completed_on` is a date, or its ISO text on SQLite
    (`day` reads either). The answers are one string, or None for none: each answer is "question id, UNIT, stored
    JSON text", and they are separated by RECORD (JSON text escapes both separators, and question ids never hold
    them), so a million answers arrive as a hundred thousand rows and are split in C. Decoding is left to the
    reader, which can memoise it: choice answers repeat endlessly."""
    which: dict[str, Any] = {"survey_id": survey_id}
    if wave is not None:
        which["wave"] = wave
    yield from uow.batches(COMPLETED if wave is None else COMPLETED_IN_WAVE, which, batch)


def completed(uow: SqlUnit, survey_id: str, wave: int | None = None,
              batch: int = BATCH) -> Iterator[tuple[CompletedResponse, list[str]]]:
    """Completed responses in id order, optionally of one wave, each with its answers as "question id, UNIT, stored
    JSON text" strings (`pairs` reads them as pairs; an export can memoise each whole string at once)."""
    for rows in completed_batches(uow, survey_id, wave, batch):
        for response_id, survey, version, round_, completed_on, joined in rows:
            answers = joined.split(RECORD) if joined else []  # one split in C: no Python-level step per answer here
            yield CompletedResponse(response_id, survey, version, round_, day(completed_on)), answers


def pairs(answers: list[str]) -> Iterator[tuple[str, str]]:
    """A response's answers (as `completed` gives them) as (question id, stored JSON text) pairs."""
    for answer in answers:
        question_id, _, raw = answer.partition(UNIT)
        yield question_id, raw


class Decoded(dict[str, Any]):
    """A stored answer as `completed` gives it (question id and JSON text in one string) -> what `make(question id,
    decoded value)` makes of it, made the first time the answer is seen. An export or a report of a million answers
    meets a few hundred different choice answers, so most answers cost one dictionary look-up, done in C when the
    reader maps `__getitem__` over a response's answers. Emptied when it holds 50,000 (free text does not repeat).
    A decoded list may be shared by many responses, so the maker must not change it."""

    LIMIT = 50_000

    def __init__(self, make: Callable[[str, Any], Any]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, answer: str) -> Any:
        if len(self) >= self.LIMIT:
            self.clear()
        question_id, _, raw = answer.partition(UNIT)
        made = self[answer] = self.make(question_id, json.loads(raw))
        return made


def _in(wave: int | None, survey_id: str) -> dict[str, Any]:
    return {"survey_id": survey_id} if wave is None else {"survey_id": survey_id, "wave": wave}


def count_completed(uow: SqlUnit, survey_id: str, wave: int | None = None) -> int:
    query = COUNT_COMPLETED if wave is None else COUNT_COMPLETED_IN_WAVE
    return int(uow.run(query, _in(wave, survey_id)).fetchone()[0])


def waves(uow: SqlUnit, survey_id: str) -> list[int]:
    """Every wave of a survey that has a round (a key) or a response, in order."""
    return sorted(int(wave) for (wave,) in uow.run(WAVES, {"survey_id": survey_id}).fetchall())


def versions_answered(uow: SqlUnit, survey_id: str, wave: int | None = None) -> list[int]:
    """The survey versions that collected completed responses (in one wave, or in any)."""
    query = VERSIONS_ANSWERED if wave is None else VERSIONS_ANSWERED_IN_WAVE
    return sorted(int(version) for (version,) in uow.run(query, _in(wave, survey_id)).fetchall())


@dataclass(frozen=True)
class RoundFacts:
    """What the method section says about a round: its dates, and who was invited when campaigns recorded it."""

    opened_on: date | None
    closes_on: date | None
    first_completed: date | None
    last_completed: date | None
    started: int
    completed: int
    invited: int  # participation rows marked invited (0: nobody's invitation was recorded)
    invited_completed: int  # of those, how many finished


def round_facts(uow: SqlUnit, survey_id: str, wave: int) -> RoundFacts:
    which = {"survey_id": survey_id, "wave": wave}
    key = uow.run(ROUND_KEY, which).fetchone()
    first, last = uow.run(ROUND_COMPLETED_ON, which).fetchone()

    def count(query: Sql) -> int:
        return int(uow.run(query, which).fetchone()[0])

    return RoundFacts(
        opened_on=day(key[0]) if key else None, closes_on=day(key[1]) if key else None,
        first_completed=day(first), last_completed=day(last), started=count(ROUND_STARTED),
        completed=count_completed(uow, survey_id, wave), invited=count(ROUND_INVITED),
        invited_completed=count(ROUND_INVITED_COMPLETED))


def digest(source: str) -> str:
    """The fingerprint a published survey version is stored with (storage.survey_versions.publish), to tell whether a
    survey file still matches what was published without reading the text back."""
    return hashlib.sha256(source.encode()).hexdigest()


def published(uow: SqlUnit, survey_id: str) -> list[tuple[int, str]]:
    """Every published version of a survey, oldest first, with its exact text: (version, source)."""
    return [(int(version), source) for version, source in uow.run(PUBLISHED, {"survey_id": survey_id}).fetchall()]


def published_source(uow: SqlUnit, survey_id: str, version: int) -> str | None:
    """The exact text one survey version was published with, or None if it never was (one row, by its unique key)."""
    found = uow.run(PUBLISHED_ONE, {"survey_id": survey_id, "version": version}).fetchone()
    return None if found is None else str(found[0])


def published_digests(uow: SqlUnit) -> dict[tuple[str, int], str]:
    """{(survey id, version): digest} of every published survey version."""
    return {(survey_id, int(version)): found for survey_id, version, found in uow.run(DIGESTS).fetchall()}
