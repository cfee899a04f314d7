"""Survey rounds and what is deleted from them over time: close dates, locked thresholds, key destruction, purges.

Functions over an open UnitOfWork, so they share its transaction (and the audit record the caller writes with them).
A round is one (survey, wave) and lives in survey_key, beside the salt it governs. Nothing here decides *when*
something is due: bot.retention does that from the settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from storage.models import Answer, Contact, Conversation, Participation, ProcessedEvent, Response, SurveyKey
from storage.unit_of_work import UnitOfWork

NULL = json.dumps(None)
"""How a blanked (or skipped) answer is stored: JSON null, so every reader already understands it."""


def get(uow: UnitOfWork, survey_id: str, wave: int) -> SurveyKey | None:
    return uow.session.get(SurveyKey, (survey_id, wave))


def all_rounds(uow: UnitOfWork, survey_id: str | None = None) -> list[SurveyKey]:
    query = select(SurveyKey).order_by(col(SurveyKey.survey_id), col(SurveyKey.wave))
    if survey_id is not None:
        query = query.where(SurveyKey.survey_id == survey_id)
    return list(uow.session.exec(query))


def set_closes_on(uow: UnitOfWork, survey_id: str, wave: int, closes_on: date, today: date) -> SurveyKey:
    """Set a round's last day of answers, making the round (and its key) if it has none yet."""
    uow.salt(survey_id, wave, today)
    row = get(uow, survey_id, wave)
    assert row is not None
    row.closes_on = closes_on
    uow.session.add(row)
    uow.session.flush()
    return row


def destroy_key(uow: UnitOfWork, survey_id: str, wave: int, today: date) -> int | None:
    """Delete the round's salt, so its pseudonyms can never be computed again, and the round's open conversations,
    which are found by a per-person key and would otherwise still tie someone to their partial answers.

    Returns how many conversations went, or None when the key was already destroyed (or never existed).
    """
    row = get(uow, survey_id, wave)
    if row is None or row.salt is None:
        return None
    row.salt, row.destroyed_on = None, today
    uow.session.add(row)
    result = uow.session.execute(delete(Conversation).where(
        col(Conversation.survey_id) == survey_id, col(Conversation.wave) == wave))
    uow.session.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]


def destroyed_rounds_of(uow: UnitOfWork, contact_lookup: str) -> list[tuple[str, int]]:
    """Rounds this contact took part in whose keys are gone: their answers, if any, are anonymous now."""
    query = (
        select(Participation.survey_id, Participation.wave)
        .join(Contact, col(Contact.id) == col(Participation.contact_id))
        .join(SurveyKey, (col(SurveyKey.survey_id) == col(Participation.survey_id))
              & (col(SurveyKey.wave) == col(Participation.wave)))
        .where(Contact.lookup == contact_lookup, col(SurveyKey.salt).is_(None))
        .order_by(col(Participation.survey_id), col(Participation.wave))
    )
    return [(survey_id, wave) for survey_id, wave in uow.session.exec(query)]


# --- purges ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdleConversation:
    session: str
    survey_id: str
    wave: int
    touched: datetime


def conversations(uow: UnitOfWork) -> list[IdleConversation]:
    """Every open conversation's round and last-touched hour (no state), for the purge to judge."""
    rows = uow.session.exec(select(Conversation.session, Conversation.survey_id, Conversation.wave,
                                   Conversation.touched))
    return [IdleConversation(*row) for row in rows]


def delete_conversations(uow: UnitOfWork, sessions: Iterable[str]) -> int:
    keys = list(sessions)
    if not keys:
        return 0
    result = uow.session.execute(delete(Conversation).where(col(Conversation.session).in_(keys)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def blank_answers(uow: UnitOfWork, survey_id: str, wave: int, question_ids: Iterable[str]) -> int:
    """Replace the stored value of these questions' answers in one round with null; returns how many changed."""
    questions = sorted(set(question_ids))
    if not questions:
        return 0
    responses = select(Response.id).where(Response.survey_id == survey_id, Response.wave == wave)
    result = uow.session.execute(
        update(Answer)
        .where(col(Answer.response_id).in_(responses), col(Answer.question_id).in_(questions),
               col(Answer.value) != NULL)
        .values(value=NULL)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def forget_events(uow: UnitOfWork, before: date) -> int:
    result = uow.session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.seen_on) < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- counts for the status output ------------------------------------------------------------------------------------

def count_round(uow: UnitOfWork, survey_id: str, wave: int, completed: bool) -> int:
    query = select(func.count()).select_from(Response).where(
        Response.survey_id == survey_id, Response.wave == wave, col(Response.completed).is_(completed))
    return int(uow.session.exec(query).one())


def answer_counts(uow: UnitOfWork, survey_id: str, wave: int, question_id: str) -> dict[str, int]:
    """How many completed responses of a round gave each answer to one question (decoded; skipped is absent)."""
    query = (
        select(Answer.value, func.count())
        .join(Response, col(Response.id) == col(Answer.response_id))
        .where(Response.survey_id == survey_id, Response.wave == wave, col(Response.completed).is_(True),
               Answer.question_id == question_id, col(Answer.value) != NULL)
        .group_by(col(Answer.value))
    )
    counts: dict[str, int] = {}
    for value, count in uow.session.exec(query):
        decoded = json.loads(value)
        label = "; ".join(map(str, decoded)) if isinstance(decoded, list) else str(decoded)
        counts[label] = counts.get(label, 0) + int(count)
    return counts
