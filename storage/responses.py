"""Responses and their answers: the answer path's writes, and the reads behind erasure, exports and counts.

Functions over an open UnitOfWork. The answer path's statements (a step's response row, its answers, the finish) run
as plain SQL on the driver's cursor (storage.sql), for speed (BENCHMARKS.md); the rarer reads use the ORM session.
A response row carries the round's pseudonym and dates only: nothing here knows a person.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select

from storage.models import Answer, Response
from storage.sql import Sql
from storage.unit_of_work import UnitOfWork

RESPONSES_REMEMBERED = 10_000  # open conversations whose response row is remembered (Store.responses)

# Both SQLite (3.35+) and PostgreSQL speak this SQL.
SELECT_RESPONSE = Sql(
    "SELECT id, completed FROM response "
    "WHERE respondent = :respondent AND survey_id = :survey_id AND version = :version AND wave = :wave")
INSERT_RESPONSE = Sql(
    "INSERT INTO response (respondent, survey_id, version, wave, channel, started_on, completed) "
    "VALUES (:respondent, :survey_id, :version, :wave, :channel, :today, false) RETURNING id")
HAS_COMPLETED = Sql(
    "SELECT 1 FROM response WHERE respondent = :respondent AND survey_id = :survey_id AND wave = :wave AND completed")
COMPLETE_RESPONSE = Sql("UPDATE response SET completed = true, completed_on = :today WHERE id = :id")
UPSERT_ANSWER = Sql(
    "INSERT INTO answer (response_id, question_id, value, answered_on) "
    "VALUES (:response_id, :question_id, :value, :today) "
    "ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value, answered_on = excluded.answered_on")
DROP_ANSWER = Sql("DELETE FROM answer WHERE response_id = :response_id AND question_id = :question_id")
ANSWERS_OF = Sql("SELECT question_id, value FROM answer WHERE response_id = :response_id")


@dataclass(frozen=True)
class ResponseRef:
    """The two facts the answer path needs about a response row, read without the ORM."""

    id: int
    completed: bool


# --- the answer path ------------------------------------------------------------------------------------------------

def has_completed(uow: UnitOfWork, respondent: str, survey_id: str, wave: int) -> bool:
    """Whether this pseudonym already finished this round (one person, one response)."""
    which = {"respondent": respondent, "survey_id": survey_id, "wave": wave}
    return uow.run(HAS_COMPLETED, which).fetchone() is not None


def open_response(uow: UnitOfWork, respondent: str, survey_id: str, version: int, wave: int, channel: str,
                  today: date) -> ResponseRef:
    """This person's response to this round, made on their first stored answer. Two first answers at once: the
    second INSERT breaks the unique key, and the unit retries (Conflict) and finds the first one's row."""
    known, uow.known = uow.known, None
    if known is not None and known[1][:4] == (respondent, survey_id, version, wave):  # read with the claim
        return ResponseRef(known[0], bool(known[1][4]))
    which = {"respondent": respondent, "survey_id": survey_id, "version": version, "wave": wave}
    found = uow.run(SELECT_RESPONSE, which).fetchone()
    if found is None:
        found = uow.run(INSERT_RESPONSE, {**which, "channel": channel, "today": today}).fetchone()
        found = (found[0], False)
    if uow.reading is not None:
        uow.responses[uow.reading] = int(found[0])
        if len(uow.responses) > RESPONSES_REMEMBERED:
            uow.responses.clear()
    return ResponseRef(int(found[0]), bool(found[1]))


def put_answer(uow: UnitOfWork, response: ResponseRef | Response, question_id: str, value: Any, today: date) -> str:
    """Store (or replace, after Back) one answer; returns the stored JSON text."""
    encoded = json.dumps(value, ensure_ascii=False)
    uow.defer(UPSERT_ANSWER, {"response_id": response.id, "question_id": question_id, "value": encoded,
                              "today": today})
    return encoded


def drop_answer(uow: UnitOfWork, response: ResponseRef | Response, question_id: str) -> bool:
    result = uow.run(DROP_ANSWER, {"response_id": response.id, "question_id": question_id})
    return bool(result.rowcount)


def complete(uow: UnitOfWork, response: ResponseRef | Response, today: date) -> None:
    uow.run(COMPLETE_RESPONSE, {"id": response.id, "today": today})


# --- erasure, exports and counts -------------------------------------------------------------------------------------

def find(uow: UnitOfWork, respondent: str, survey_id: str, version: int, wave: int) -> Response | None:
    return uow.session.exec(select(Response).where(
        Response.respondent == respondent, Response.survey_id == survey_id,
        Response.version == version, Response.wave == wave,
    )).first()


def responses_of(uow: UnitOfWork, respondent: str, survey_id: str, wave: int) -> list[Response]:
    return list(uow.session.exec(select(Response).where(
        Response.respondent == respondent, Response.survey_id == survey_id, Response.wave == wave)))


def erase(uow: UnitOfWork, response: Response) -> int:
    """Delete a response and its answers; returns how many answers went."""
    result = uow.session.execute(delete(Answer).where(col(Answer.response_id) == response.id))
    uow.session.delete(response)
    return int(result.rowcount)  # type: ignore[attr-defined]


def answers_of(uow: UnitOfWork, response: ResponseRef | Response) -> dict[str, Any]:
    """A response's answers by question, as stored (read on the answer path when a survey is completed)."""
    rows = uow.run(ANSWERS_OF, {"response_id": response.id}).fetchall()
    return {question_id: json.loads(value) for question_id, value in rows}


def completed_rows(uow: UnitOfWork, survey_id: str, batch: int = 1000) -> Iterator[tuple[Response, dict[str, Any]]]:
    """Completed responses with their answers, a batch at a time so memory does not grow with the survey."""
    last_id = 0
    while True:
        responses = list(uow.session.exec(
            select(Response).where(Response.survey_id == survey_id, col(Response.completed).is_(True),
                                   col(Response.id) > last_id)
            .order_by(col(Response.id)).limit(batch)))
        if not responses:
            return
        ids = [r.id for r in responses]
        answers: dict[int, dict[str, Any]] = {i: {} for i in ids if i is not None}
        for row in uow.session.exec(select(Answer).where(col(Answer.response_id).in_(ids))):
            answers[row.response_id][row.question_id] = json.loads(row.value)
        for response in responses:
            assert response.id is not None
            yield response, answers[response.id]
        last_id = ids[-1] or last_id


def count(uow: UnitOfWork, survey_id: str, completed: bool | None = None) -> int:
    query = select(func.count()).select_from(Response).where(Response.survey_id == survey_id)
    if completed is not None:
        query = query.where(col(Response.completed).is_(completed))
    return int(uow.session.exec(query).one())
