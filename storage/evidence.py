"""Reading the evidence back: the audit chain in order, and the answer and response rows it vouches for.

Streamed in batches (keyset pagination on the primary key), so verifying a large log needs no more memory than the
replayed state. Read-only; bot.services.audit does the checking.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import col, select

from storage.models import Answer, AuditRecord, Response
from storage.sql import GENESIS
from storage.unit_of_work import UnitOfWork

T = TypeVar("T")

BATCH = 2000


@dataclass(frozen=True)
class ChainHead:
    """The newest link of the chain: quote `hash` (e.g. in an evidence pack) and any later rewrite shows."""

    seq: int
    hash: str
    records: int


def chain_head(uow: UnitOfWork) -> ChainHead:
    last = uow.session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc()).limit(1)).first()
    count = int(uow.session.exec(select(func.count()).select_from(AuditRecord)).one())
    if last is None or last.seq is None:
        return ChainHead(0, GENESIS, 0)
    return ChainHead(last.seq, last.hash, count)


def _in_key_order(uow: UnitOfWork, model: type[T], key: Any) -> Iterator[T]:
    """Every row of a table in key order, a batch at a time, so memory does not grow with the table."""
    last = -1
    while True:
        batch = list(uow.session.exec(select(model).where(key > last).order_by(key).limit(BATCH)))
        if not batch:
            return
        yield from batch
        last = getattr(batch[-1], key.key)


def audit_records(uow: UnitOfWork) -> Iterator[AuditRecord]:
    return _in_key_order(uow, AuditRecord, col(AuditRecord.seq))


@dataclass(frozen=True)
class AnswerRow:
    id: int
    response_id: int
    question_id: str
    value: str
    answered_on: date
    survey_id: str
    wave: int


def answer_rows(uow: UnitOfWork) -> Iterator[AnswerRow]:
    """Every answer with its response's round. An answer whose response row is gone comes with survey_id ""."""
    last = -1
    while True:
        rows = list(uow.session.exec(
            select(Answer, Response.survey_id, Response.wave)
            .join(Response, col(Response.id) == col(Answer.response_id), isouter=True)
            .where(col(Answer.id) > last).order_by(col(Answer.id)).limit(BATCH)))
        if not rows:
            return
        for answer, survey_id, wave in rows:
            assert answer.id is not None
            yield AnswerRow(answer.id, answer.response_id, answer.question_id, answer.value, answer.answered_on,
                            survey_id or "", wave or 0)
        last = rows[-1][0].id or last


def responses(uow: UnitOfWork) -> Iterator[Response]:
    return _in_key_order(uow, Response, col(Response.id))


def audit_subjects(uow: UnitOfWork, action: str, containing: str) -> list[str]:
    """The subjects of the audit records of one action whose subject text contains `containing` (for example a
    safeguarding alert's reference), oldest first. Few rows: alerts are rare."""
    query = (select(AuditRecord.subject).where(AuditRecord.action == action)
             .where(col(AuditRecord.subject).contains(containing)).order_by(col(AuditRecord.seq)))
    return list(uow.session.exec(query))


def audited_today(uow: UnitOfWork, action: str, today: date) -> list[dict[str, Any]]:
    """The subjects of one action's audit records of one day (for example today's refusals of strangers, which are
    few: at most one per kind)."""
    query = (select(AuditRecord.subject).where(AuditRecord.action == action, AuditRecord.on == today)
             .order_by(col(AuditRecord.seq)))
    return [json.loads(subject) for subject in uow.session.exec(query)]


@dataclass(frozen=True)
class Record:
    """One audit record as stored: its place in the chain, day, action and subject (JSON text, as hashed)."""

    seq: int
    on: date
    action: str
    subject: str


def _records(query: Any, uow: UnitOfWork) -> list[Record]:
    return [Record(row.seq or 0, row.on, row.action, row.subject) for row in uow.session.exec(query)]


def latest_records(uow: UnitOfWork, limit: int, before: int | None = None) -> list[Record]:
    """The newest `limit` records (before record `before`, when given), newest first: a page of the log."""
    query = select(AuditRecord).order_by(col(AuditRecord.seq).desc()).limit(limit)
    if before is not None:
        query = query.where(col(AuditRecord.seq) < before)
    return _records(query, uow)


def records_of(uow: UnitOfWork, actions: Sequence[str]) -> list[Record]:
    """Every record of these actions, oldest first (for example the safeguarding alerts and their
    acknowledgements, which are few)."""
    return _records(select(AuditRecord).where(col(AuditRecord.action).in_(list(actions)))
                    .order_by(col(AuditRecord.seq)), uow)
