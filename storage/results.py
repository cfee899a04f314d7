"""Reading results for exports and reports: completed responses streamed with their answers, and round facts.

Functions over an open UnitOfWork, read-only. The streaming read (`completed`) is built for volume: the database
strings each response's answers together, and the rows come straight from the driver's cursor, so an export of a
million answers spends its time writing rather than building objects it throws away (bench/reports_bench.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, literal_column
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from storage.models import Answer, Participation, Response, SurveyKey
from storage.unit_of_work import UnitOfWork

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


def completed(uow: UnitOfWork, survey_id: str, wave: int | None = None,
              batch: int = BATCH) -> Iterator[tuple[CompletedResponse, list[str]]]:
    """Completed responses in id order, optionally of one wave, each with its answers as "question id, UNIT, stored
    JSON text" strings (`pairs` reads them as pairs; an export can memoise each whole string at once).

    The database strings each response's answers together (SQLite's group_concat, PostgreSQL's string_agg,
    separated by the ASCII unit and record separators, which JSON text escapes and question ids never hold), so a
    million answers arrive as a hundred thousand rows and are split in C. Decoding is left to the reader, which can
    memoise it: choice answers repeat endlessly. Rows are read `batch` at a time, so memory stays flat however many
    responses there are."""
    if uow.session.get_bind().dialect.name == "postgresql":
        unit, record = literal_column("chr(31)"), literal_column("chr(30)")
        grouped = func.string_agg(col(Answer.question_id) + unit + col(Answer.value), record)
    else:
        unit, record = literal_column("char(31)"), literal_column("char(30)")
        grouped = func.group_concat(col(Answer.question_id) + unit + col(Answer.value), record)
    query = (
        select(Response.id, Response.survey_id, Response.version, Response.wave, Response.completed_on, grouped)
        .select_from(Response)
        .join(Answer, col(Answer.response_id) == col(Response.id), isouter=True)
        .where(Response.survey_id == survey_id, col(Response.completed).is_(True))
        .group_by(col(Response.id))
        .order_by(col(Response.id))
    )
    if wave is not None:
        query = query.where(Response.wave == wave)
    for response_id, survey, version, round_, completed_on, joined in _stream(uow, query, batch):
        if isinstance(completed_on, str):  # SQLite keeps dates as text
            completed_on = date.fromisoformat(completed_on)
        answers = joined.split(RECORD) if joined else []  # one split in C: no Python-level step per answer here
        yield CompletedResponse(response_id, survey, version, round_, completed_on), answers


def pairs(answers: list[str]) -> Iterator[tuple[str, str]]:
    """A response's answers (as `completed` gives them) as (question id, stored JSON text) pairs."""
    for answer in answers:
        question_id, _, raw = answer.partition(UNIT)
        yield question_id, raw


def _stream(uow: UnitOfWork, query: Select[Any], batch: int) -> Iterator[tuple[Any, ...]]:
    """The query's rows straight from the database driver, on the unit's own connection and transaction.

    This is the one read hot enough for SQLAlchemy's per-row result handling to matter (it roughly doubled the
    time of an export), so the compiled statement runs on a plain DBAPI cursor: a server-side (named) cursor on
    PostgreSQL, so rows arrive `batch` at a time, and SQLite's own cursor, which steps through the result lazily."""
    connection = uow.session.connection()
    compiled = query.compile(dialect=connection.dialect)
    raw = connection.connection.dbapi_connection
    assert raw is not None
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"surveybot_results_{id(query):x}")
        cursor.itersize = batch
        parameters: Any = compiled.params
    else:
        cursor = raw.cursor()
        parameters = [compiled.params[name] for name in compiled.positiontup or ()]
    try:
        cursor.execute(str(compiled), parameters)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def count_completed(uow: UnitOfWork, survey_id: str, wave: int | None = None) -> int:
    query = select(func.count()).select_from(Response).where(Response.survey_id == survey_id,
                                                             col(Response.completed).is_(True))
    if wave is not None:
        query = query.where(Response.wave == wave)
    return int(uow.session.exec(query).one())


def waves(uow: UnitOfWork, survey_id: str) -> list[int]:
    """Every wave of a survey that has a round (a key) or a response, in order."""
    keyed = set(uow.session.exec(select(SurveyKey.wave).where(SurveyKey.survey_id == survey_id)))
    answered = set(uow.session.exec(select(Response.wave).where(Response.survey_id == survey_id).distinct()))
    return sorted(keyed | answered)


def versions_answered(uow: UnitOfWork, survey_id: str, wave: int | None = None) -> list[int]:
    """The survey versions that collected completed responses (in one wave, or in any)."""
    query = select(Response.version).where(Response.survey_id == survey_id, col(Response.completed).is_(True))
    if wave is not None:
        query = query.where(Response.wave == wave)
    return sorted(set(uow.session.exec(query.distinct())))


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


def round_facts(uow: UnitOfWork, survey_id: str, wave: int) -> RoundFacts:
    key = uow.session.get(SurveyKey, (survey_id, wave))
    in_round = (Response.survey_id == survey_id, Response.wave == wave)
    first, last = uow.session.exec(
        select(func.min(Response.completed_on), func.max(Response.completed_on))
        .where(*in_round, col(Response.completed).is_(True))).one()
    started = int(uow.session.exec(select(func.count()).select_from(Response).where(*in_round)).one())
    invited_rows = (Participation.survey_id == survey_id, Participation.wave == wave,
                    col(Participation.invited).is_(True))
    invited = int(uow.session.exec(select(func.count()).select_from(Participation).where(*invited_rows)).one())
    invited_completed = int(uow.session.exec(
        select(func.count()).select_from(Participation)
        .where(*invited_rows, col(Participation.completed).is_(True))).one())
    return RoundFacts(
        opened_on=key.created_on if key else None, closes_on=key.closes_on if key else None,
        first_completed=first, last_completed=last, started=started,
        completed=count_completed(uow, survey_id, wave), invited=invited, invited_completed=invited_completed)
