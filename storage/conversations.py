"""Open conversations and the claim of each platform event: the first statements of every survey step.

Functions over an open UnitOfWork, on the driver's cursor (storage.sql): the answer path runs them on every step, and
plain SQL there costs a fraction of the ORM (BENCHMARKS.md). A conversation row is saved with optimistic locking
(its `revision`), so two updates from one person at once cannot both win: the loser's unit raises Conflict and starts
again from fresh state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from storage.sql import AUDIT_CHAIN_LOCK, Conflict, Sql
from storage.unit_of_work import Ahead, ConversationRow, UnitOfWork

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
_LOCK = ", (SELECT count(*) FROM (SELECT pg_advisory_xact_lock(:chain)) AS locked)"
CLAIM_AND_READ = Sql(_CLAIM_AND_READ.format(lock=""))
CLAIM_READ_AND_LOCK = Sql(_CLAIM_AND_READ.format(lock=_LOCK))
# PostgreSQL only: the same for every step of a batch at once (`claim_all`), one row a step in the steps' order, and
# the audit chain's lock (an uncorrelated subquery: taken once). The arrays keep the text the same however many steps
# there are, so the server plans it once.
CLAIM_AND_READ_ALL = Sql(
    "WITH wanted AS (SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:sessions AS text[]), "
    "CAST(:responses AS bigint[])) WITH ORDINALITY AS w(key, session, response_id, n)), "
    "claimed AS (INSERT INTO processed_event (key, seen_on) SELECT DISTINCT key, :today FROM wanted "
    "ON CONFLICT (key) DO NOTHING RETURNING key) "
    "SELECT w.key IN (SELECT key FROM claimed), c.survey_id, c.version, c.wave, c.state, c.revision, "
    "r.respondent, r.survey_id, r.version, r.wave, r.completed, "
    f"k.survey_id IS NOT NULL, k.salt, k.closes_on, k.min_group IS NOT NULL{_LOCK} "
    "FROM wanted w LEFT JOIN conversation c ON c.session = w.session "
    "LEFT JOIN response r ON r.id = w.response_id "
    "LEFT JOIN survey_key k ON k.survey_id = c.survey_id AND k.wave = c.wave ORDER BY w.n")


class Claim(NamedTuple):
    """A survey step's claim, known before the step runs: its event's key, the session key of the conversation it
    reads first, and the day (see `claim_all`)."""

    key: str
    session: str
    today: date
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
        learnt = uow.learnt
        ahead = learnt.ahead.pop(key, None) if learnt.ahead else None
        if ahead is not None and ahead.session == reading:  # claimed with the batch's other steps (`claim_all`)
            if ahead.row is not None:
                _take(uow, reading, ahead.hint, ahead.row)
            else:  # an earlier step of the batch had this conversation: what the claim read may be out of date
                uow.reading = reading
            return ahead.claimed
        hint = uow.responses.get(reading)
        parameters: dict[str, Any] = {"key": key, "today": today, "session": reading, "response_id": hint}
        if learnt.chain_locked:
            found = uow.run(CLAIM_AND_READ, parameters).fetchone()
        else:
            found = uow.run(CLAIM_READ_AND_LOCK, {**parameters, "chain": AUDIT_CHAIN_LOCK}).fetchone()
            learnt.chain_locked = True
        _take(uow, reading, hint, found[1:15])
        return bool(found[0])
    return uow.run(CLAIM_EVENT, {"key": key, "today": today}).fetchone() is not None


def claim_all(uow: UnitOfWork, claims: Sequence[Claim]) -> None:
    """PostgreSQL: claim the events of a batch's survey steps in one statement at the batch's start, reading what
    each claim reads (`claim_event`), and take the audit chain's lock; each step's `claim_event` then costs no round
    trip. Runs in the batch's transaction, before its steps (bot.services.group_commit). A conversation is read
    ahead only for the first step that has it: a later step of the same person reads it again after the first
    saved it. Of two steps with one event key, the first claims it, and the second, finding nothing kept, claims
    it the usual way and finds it taken."""
    responses = uow.responses
    hints = [responses.get(claim.session) for claim in claims]
    found = uow.run(CLAIM_AND_READ_ALL, {
        "keys": [claim.key for claim in claims], "sessions": [claim.session for claim in claims],
        "responses": hints, "today": max(claim.today for claim in claims), "chain": AUDIT_CHAIN_LOCK}).fetchall()
    learnt = uow.learnt
    learnt.chain_locked = True
    sessions: set[str] = set()
    for claim, hint, row in zip(claims, hints, found, strict=True):
        fresh = claim.session not in sessions
        sessions.add(claim.session)
        learnt.ahead.setdefault(claim.key, Ahead(claim.session, bool(row[0]), hint, row[1:15] if fresh else None))


def _take(uow: UnitOfWork, reading: str, hint: int | None, found: Sequence[Any]) -> None:
    """What a claim read with it (`claim_event`): the conversation, for `read`; the response row its answers
    last went to, for storage.responses.open_response; the round's key row, for storage.rounds.salt."""
    conversation = _conversation(found[0:5])
    uow.read_ahead = (reading, conversation)
    uow.reading, uow.known = reading, (hint, tuple(found[5:10])) if hint is not None else None
    if conversation is not None and found[10]:  # the round's key row, as storage.rounds.salt reads it
        uow.learnt.salts.setdefault((conversation.survey_id, conversation.wave), tuple(found[11:14]))


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
