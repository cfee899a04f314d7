"""Open conversations and the claim of each platform event: the first statements of every survey step.

Functions over an open UnitOfWork, on the driver's cursor (storage.sql): the answer path runs them on every step, and
plain SQL there costs a fraction of the ORM (BENCHMARKS.md). A conversation row is saved with optimistic locking
(its `revision`), so two updates from one person at once cannot both win: the loser's unit raises Conflict and starts
again from fresh state.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from storage.sql import AUDIT_CHAIN_LOCK, Conflict, Sql
from storage.unit_of_work import ConversationRow, UnitOfWork

# Both SQLite (3.35+) and PostgreSQL speak this SQL.
CLAIM_EVENT = Sql(
    "INSERT INTO processed_event (key, seen_on) VALUES (:key, :today) ON CONFLICT (key) DO NOTHING RETURNING key")
# PostgreSQL only (SQLite has no INSERT inside WITH): claim the event and read the conversation in one round trip,
# with the response row this conversation's answers went to last (Store.responses), to check it still is that one, and
# the key row of the conversation's round (storage.rounds.salt), which the step would otherwise ask for next.
# `{lock}`: when the transaction does not hold the audit chain's lock yet, it is taken here (storage.sql.SqlUnit.audit):
# the step's next statement then reads the chain's head with a snapshot taken after the lock was granted, as it must,
# and the lock costs no round trip of its own.
_CLAIM_AND_READ = (
    "WITH claimed AS (INSERT INTO processed_event (key, seen_on) VALUES (:key, :today) "
    "ON CONFLICT (key) DO NOTHING RETURNING key) "
    "SELECT (SELECT count(*) FROM claimed), c.survey_id, c.version, c.wave, c.state, c.revision, "
    "r.respondent, r.survey_id, r.version, r.wave, r.completed, "
    "k.survey_id IS NOT NULL, k.salt, k.closes_on, k.min_group IS NOT NULL{lock} "
    "FROM (SELECT 1) AS one LEFT JOIN conversation c ON c.session = :session "
    "LEFT JOIN response r ON r.id = :response_id "
    "LEFT JOIN survey_key k ON k.survey_id = c.survey_id AND k.wave = c.wave")
CLAIM_AND_READ = Sql(_CLAIM_AND_READ.format(lock=""))
CLAIM_READ_AND_LOCK = Sql(_CLAIM_AND_READ.format(
    lock=", (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(:chain)) AS locked)"))
SELECT_CONVERSATION = Sql("SELECT survey_id, version, wave, state, revision FROM conversation WHERE session = :session")
UPDATE_CONVERSATION = Sql(
    "UPDATE conversation SET survey_id = :survey_id, version = :version, wave = :wave, state = :state, "
    "revision = :revision + 1, touched = :touched WHERE session = :session AND revision = :revision")
INSERT_CONVERSATION = Sql(
    "INSERT INTO conversation (session, survey_id, version, wave, state, revision, touched) "
    "VALUES (:session, :survey_id, :version, :wave, :state, 0, :touched)")
END_CONVERSATION = Sql("DELETE FROM conversation WHERE session = :session")
END_CONVERSATION_AT = Sql("DELETE FROM conversation WHERE session = :session AND revision = :revision")


def _conversation(row: Any) -> ConversationRow | None:
    if row is None or row[0] is None:  # no row, or the claim's outer join found none
        return None
    survey_id, version, wave, state, revision = row
    return ConversationRow(survey_id, version, wave, json.loads(state), revision)


def claim_event(uow: UnitOfWork, key: str, today: date, reading: str | None = None) -> bool:
    """True the first time an event key is seen; False for a redelivery. A concurrent claim of the same key waits for
    the first to commit and then claims nothing.

    `reading`: a conversation's session key the unit will read next. On PostgreSQL the claim reads it in the same
    statement (one round trip fewer on every answer), and `read` hands that row back; with it the response row that
    conversation's answers last went to, which storage.responses.open_response then need not look up, and its round's
    key row, which storage.rounds.salt then need not read; and the audit chain's lock, if the transaction has not
    taken it yet (an answer appends to the chain: four round trips of a step become one)."""
    if reading is not None and not uow.on_sqlite():
        hint = uow.responses.get(reading)
        parameters: dict[str, Any] = {"key": key, "today": today, "session": reading, "response_id": hint}
        learnt = uow.learnt
        if learnt.chain_locked:
            found = uow.run(CLAIM_AND_READ, parameters).fetchone()
        else:
            found = uow.run(CLAIM_READ_AND_LOCK, {**parameters, "chain": AUDIT_CHAIN_LOCK}).fetchone()
            learnt.chain_locked = True
        conversation = _conversation(found[1:6])
        uow.read_ahead = (reading, conversation)
        uow.reading, uow.known = reading, (hint, found[6:11]) if hint is not None else None
        if conversation is not None and found[11]:  # the round's key row, as storage.rounds.salt reads it
            learnt.salts.setdefault((conversation.survey_id, conversation.wave), tuple(found[12:15]))
        return bool(found[0])
    return uow.run(CLAIM_EVENT, {"key": key, "today": today}).fetchone() is not None


def read(uow: UnitOfWork, session_key: str) -> ConversationRow | None:
    """The person's open conversation, if any."""
    ahead, uow.read_ahead = uow.read_ahead, None
    if ahead is not None and ahead[0] == session_key:  # read with the claim, in this transaction
        return ahead[1]
    return _conversation(uow.run(SELECT_CONVERSATION, {"session": session_key}).fetchone())


def save(uow: UnitOfWork, session_key: str, survey_id: str, version: int, wave: int, state: dict[str, Any],
         expected_revision: int | None, now: datetime) -> None:
    """Insert, or update only if nobody else saved since we read it (optimistic locking)."""
    touched = now.replace(minute=0, second=0, microsecond=0)
    encoded = json.dumps(state, ensure_ascii=False)
    if expected_revision is None:  # two first events at once: the second breaks the key, and retries
        uow.run(INSERT_CONVERSATION, {"session": session_key, "survey_id": survey_id, "version": version,
                                      "wave": wave, "state": encoded, "touched": touched})
        return
    result = uow.run(UPDATE_CONVERSATION, {
        "survey_id": survey_id, "version": version, "wave": wave, "state": encoded, "touched": touched,
        "session": session_key, "revision": expected_revision})
    if result.rowcount != 1:
        raise Conflict()


def end(uow: UnitOfWork, session_key: str, expected_revision: int | None = None) -> None:
    """Delete the conversation; with `expected_revision`, only if nobody else saved or ended it since we read it
    (optimistic locking, as in `save`: two final answers at once must not both finish)."""
    if expected_revision is None:
        uow.run(END_CONVERSATION, {"session": session_key})
        return
    result = uow.run(END_CONVERSATION_AT, {"session": session_key, "revision": expected_revision})
    if result.rowcount != 1:
        raise Conflict()
