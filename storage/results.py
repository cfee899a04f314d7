"""Reading results for exports and reports: completed responses streamed with their answers, and round facts.

Functions over an open UnitOfWork, read-only. They use plain Core queries returning tuples, not ORM objects: an export
of a million answers spends its time writing, not building objects it throws away. Responses come a batch at a time
by keyset (primary key) pagination, so memory stays flat however many there are, on SQLite and PostgreSQL alike.
Answer values are handed back as the stored JSON text; decoding is the reader's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import col, select

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


def completed(uow: UnitOfWork, survey_id: str, wave: int | None = None,
              batch: int = BATCH) -> Iterator[tuple[CompletedResponse, dict[str, str]]]:
    """Completed responses in id order, each with {question id: stored JSON text}, optionally of one wave."""
    last = 0
    while True:
        query = (select(Response.id, Response.survey_id, Response.version, Response.wave, Response.completed_on)
                 .where(Response.survey_id == survey_id, col(Response.completed).is_(True), col(Response.id) > last))
        if wave is not None:
            query = query.where(Response.wave == wave)
        heads = [CompletedResponse(*row) for row in uow.session.exec(query.order_by(col(Response.id)).limit(batch))]
        if not heads:
            return
        answers: dict[int, dict[str, str]] = {head.id: {} for head in heads}
        rows = uow.session.exec(select(Answer.response_id, Answer.question_id, Answer.value)
                                .where(col(Answer.response_id).in_(list(answers))))
        for response_id, question_id, value in rows:
            answers[response_id][question_id] = value
        for head in heads:
            yield head, answers[head.id]
        last = heads[-1].id


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
