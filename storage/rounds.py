"""Survey rounds and what is deleted from them over time: salts, close dates, locked thresholds, key destruction,
purges.

Functions over an open UnitOfWork, so they share its transaction (and the audit record the caller writes with them).
A round is one (survey, wave) and lives in survey_key, beside the salt it governs. The answer path's reads and writes
of it (`salt`, `lock_thresholds`, `rules`) are plain SQL on the driver's cursor (storage.sql), for speed. Nothing here
decides *when* something is due: bot.services.retention does that from the settings.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlmodel import col, select

from storage.campaigns import REPLY_STEP
from storage.models import (
    Answer,
    Campaign,
    Contact,
    Conversation,
    Outbox,
    Participation,
    ProcessedEvent,
    Response,
    SurveyKey,
)
from storage.sql import Sql, day
from storage.unit_of_work import UnitOfWork

NULL = json.dumps(None)
"""How a blanked (or skipped) answer is stored: JSON null, so every reader already understands it."""

# Both SQLite (3.35+) and PostgreSQL speak this SQL.
SELECT_SALT = Sql("SELECT salt, closes_on, min_group IS NOT NULL FROM survey_key "
                  "WHERE survey_id = :survey_id AND wave = :wave")
MAKE_SALT = Sql(
    "INSERT INTO survey_key (survey_id, wave, salt, created_on) VALUES (:survey_id, :wave, :salt, :today) "
    "ON CONFLICT (survey_id, wave) DO NOTHING")
SELECT_ROUND = Sql("SELECT min_group, min_group_text, closes_on FROM survey_key WHERE survey_id = :survey_id "
                   "AND wave = :wave")
LOCK_THRESHOLDS = Sql(
    "UPDATE survey_key SET min_group = :group, min_group_text = :text "
    "WHERE survey_id = :survey_id AND wave = :wave AND min_group IS NULL")


def salt(uow: UnitOfWork, survey_id: str, wave: int, today: date) -> bytes | None:
    """The round's key salt, made on first use; None once the key has been destroyed or the round has closed
    (after `closes_on` no answers are taken; /delete still finds them through `live_salts`)."""
    learnt = uow.learnt
    found = learnt.salts.get((survey_id, wave))
    if found is None:  # read once a transaction (a batch's units share what it learnt: Store.batch)
        which = {"survey_id": survey_id, "wave": wave}
        found = uow.run(SELECT_SALT, which).fetchone()
        if found is None:  # made on first use; if another process makes it at the same moment, theirs is used
            uow.run(MAKE_SALT, {**which, "salt": os.urandom(32), "today": today})
            found = uow.run(SELECT_SALT, which).fetchone()
            assert found is not None
        learnt.salts[(survey_id, wave)] = found
    key, closes_on, locked = found
    if locked:  # thresholds are locked once and for good (see lock_thresholds)
        learnt.locked_rounds.add((survey_id, wave))
    if isinstance(closes_on, str):  # SQLite keeps dates as text
        closes_on = date.fromisoformat(closes_on)
    if closes_on is not None and today > closes_on:
        return None
    return bytes(key) if key is not None else None


def live_salts(uow: UnitOfWork) -> list[tuple[str, int, bytes]]:
    rows = uow.session.exec(select(SurveyKey).where(col(SurveyKey.salt).is_not(None)))
    return [(r.survey_id, r.wave, r.salt) for r in rows if r.salt is not None]


def lock_thresholds(uow: UnitOfWork, survey_id: str, wave: int, group: int, text: int) -> None:
    """Record the round's thresholds the first time it stores an answer; later calls change nothing, and once the
    round's key row has been read as locked (`salt`) they are not even sent."""
    locked = uow.learnt.locked_rounds
    if (survey_id, wave) in locked:
        return
    uow.defer(LOCK_THRESHOLDS, {"group": group, "text": text, "survey_id": survey_id, "wave": wave})
    locked.add((survey_id, wave))


def rules(uow: UnitOfWork, survey_id: str, wave: int) -> tuple[int | None, int | None, date | None]:
    """A round's locked thresholds (group, free text) and its last day: what its privacy notice states."""
    found = uow.run(SELECT_ROUND, {"survey_id": survey_id, "wave": wave}).fetchone()
    if found is None:
        return None, None, None
    group, text_group, closes_on = found
    return group, text_group, day(closes_on)


def get(uow: UnitOfWork, survey_id: str, wave: int) -> SurveyKey | None:
    return uow.session.get(SurveyKey, (survey_id, wave))


def all_rounds(uow: UnitOfWork, survey_id: str | None = None) -> list[SurveyKey]:
    query = select(SurveyKey).order_by(col(SurveyKey.survey_id), col(SurveyKey.wave))
    if survey_id is not None:
        query = query.where(SurveyKey.survey_id == survey_id)
    return list(uow.session.exec(query))


def set_closes_on(uow: UnitOfWork, survey_id: str, wave: int, closes_on: date, today: date) -> SurveyKey:
    """Set a round's last day of answers, making the round (and its key) if it has none yet."""
    salt(uow, survey_id, wave, today)
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
    scramble_contact_side(uow, survey_id, wave)
    return int(result.rowcount)  # type: ignore[attr-defined]


def scramble_contact_side(uow: UnitOfWork, survey_id: str, wave: int) -> None:
    """Leave nothing on the contact side of a round that lines up with its responses once the key is gone.

    Responses keep their ids, dates and order for good: the audit chain quotes them, and must still verify. So the
    other side gives way. Contacts were made (and numbered) as people started, in the order their responses began,
    and their participation rows were written and updated in that order too. Every contact of the round is written
    again, in a random order, under a new id, with one joined date (the round's earliest); the round's participation
    rows likewise, with no per-person reminder count (it told who finished before which reminder), and the
    reminders delivered are forgotten for the same reason. Rewriting the
    rows in a random order also leaves a random physical order (SQLite's rowid is the id; PostgreSQL's ctid follows
    the order of writing). The contact's other rounds and outbox rows follow the new id.
    """
    shuffle = secrets.SystemRandom().sample
    in_round = (col(Participation.survey_id) == survey_id) & (col(Participation.wave) == wave)
    people = list(uow.session.exec(select(Participation).where(in_round)))
    if not people:
        return
    contacts = list(uow.session.exec(
        select(Contact).where(col(Contact.id).in_(sorted({p.contact_id for p in people})))))
    joined = min(c.joined_on for c in contacts)
    kept: list[dict[str, Any]] = [
        {"contact_id": p.contact_id, "survey_id": survey_id, "wave": wave, "invited": p.invited,
         "started": p.started, "completed": p.completed, "reminders": 0} for p in people]
    for stale in (*people, *contacts):  # read: from here on their rows change under them
        uow.session.expunge(stale)
    moved: dict[int, int] = {}
    for contact in shuffle(contacts, len(contacts)):
        assert contact.id is not None
        made = uow.session.execute(insert(Contact).values(
            channel=contact.channel, lookup=f"moving:{secrets.token_hex(16)}", address=contact.address,
            tags=contact.tags, opted_out=contact.opted_out, unreachable=contact.unreachable, joined_on=joined,
        ).returning(col(Contact.id))).scalar_one()
        moved[contact.id] = int(made)
    for old, new in moved.items():
        uow.session.execute(update(Participation).where(col(Participation.contact_id) == old).values(contact_id=new))
        uow.session.execute(update(Outbox).where(col(Outbox.contact_id) == old).values(contact_id=new))
    uow.session.execute(delete(Contact).where(col(Contact.id).in_(list(moved))))
    for contact in shuffle(contacts, len(contacts)):
        assert contact.id is not None
        uow.session.execute(update(Contact).where(col(Contact.id) == moved[contact.id]).values(lookup=contact.lookup))
    rows = [{**values, "contact_id": moved[values["contact_id"]]} for values in kept]
    uow.session.execute(delete(Participation).where(in_round))
    for values in shuffle(rows, len(rows)):
        uow.session.execute(insert(Participation).values(**values))
    # A reminder went only to those who had not finished by its day, which responses' completion dates mirror: the
    # round's delivered reminders are forgotten (`campaign show` keeps the invitations; campaign_step how many were
    # planned). A "we did" reply goes to every completer alike and tells nothing more, so it stays.
    campaigns = select(Campaign.id).where(Campaign.survey_id == survey_id)
    uow.session.execute(delete(Outbox).where(
        col(Outbox.campaign_id).in_(campaigns), col(Outbox.wave) == wave, col(Outbox.step) != "invite",
        col(Outbox.step).not_like(f"{REPLY_STEP}%"), col(Outbox.status) != "pending"))


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
