"""One transaction of work, and the reads and writes the service makes inside it.

The service opens a unit, does everything one event needs (claim the event, load state, store answers, save state,
write the audit record) and commits once: either all of it is stored or none. Messages go out only after the commit,
so a crash can repeat a question but never lose an answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel, col, select

from storage import results
from storage.models import (
    Answer,
    Contact,
    Response,
    SurveyKey,
    SurveyVersion,
)
from storage.replies import Owed, Replies
from storage.sql import Conflict, Sql, SqlUnit, database_error, day

BATCH_LIMIT = 24  # survey steps committed together at most (see Store.batch)
RESPONSES_REMEMBERED = 10_000  # open conversations whose response row is remembered (Store.responses)


class BatchSpoilt(Exception):
    """A unit inside a batch failed part-way (the cause is chained). A batch has no savepoints, so its other units'
    work cannot be kept apart from the failed one's: the batch is rolled back whole, and its steps run again alone."""


# The answer path's statements, run on the driver's cursor (storage.sql). Both SQLite (3.35+) and PostgreSQL speak
# this SQL.
CLAIM_EVENT = Sql(
    "INSERT INTO processed_event (key, seen_on) VALUES (:key, :today) ON CONFLICT (key) DO NOTHING RETURNING key")
SELECT_SALT = Sql("SELECT salt, closes_on, min_group IS NOT NULL FROM survey_key "
                  "WHERE survey_id = :survey_id AND wave = :wave")
MAKE_SALT = Sql(
    "INSERT INTO survey_key (survey_id, wave, salt, created_on) VALUES (:survey_id, :wave, :salt, :today) "
    "ON CONFLICT (survey_id, wave) DO NOTHING")
# PostgreSQL only (SQLite has no INSERT inside WITH): claim the event and read the conversation in one round trip,
# and the response row this conversation's answers went to last (Store.responses), to check it still is that one.
CLAIM_AND_READ = Sql(
    "WITH claimed AS (INSERT INTO processed_event (key, seen_on) VALUES (:key, :today) "
    "ON CONFLICT (key) DO NOTHING RETURNING key) "
    "SELECT (SELECT count(*) FROM claimed), c.survey_id, c.version, c.wave, c.state, c.revision, "
    "r.respondent, r.survey_id, r.version, r.wave, r.completed "
    "FROM (SELECT 1) AS one LEFT JOIN conversation c ON c.session = :session "
    "LEFT JOIN response r ON r.id = :response_id")
SELECT_CONVERSATION = Sql("SELECT survey_id, version, wave, state, revision FROM conversation WHERE session = :session")
UPSERT_ANSWER = Sql(
    "INSERT INTO answer (response_id, question_id, value, answered_on) "
    "VALUES (:response_id, :question_id, :value, :today) "
    "ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value, answered_on = excluded.answered_on")
SELECT_RESPONSE = Sql(
    "SELECT id, completed FROM response "
    "WHERE respondent = :respondent AND survey_id = :survey_id AND version = :version AND wave = :wave")
INSERT_RESPONSE = Sql(
    "INSERT INTO response (respondent, survey_id, version, wave, channel, started_on, completed) "
    "VALUES (:respondent, :survey_id, :version, :wave, :channel, :today, false) RETURNING id")
COMPLETE_RESPONSE = Sql("UPDATE response SET completed = true, completed_on = :today WHERE id = :id")
DROP_ANSWER = Sql("DELETE FROM answer WHERE response_id = :response_id AND question_id = :question_id")
UPDATE_CONVERSATION = Sql(
    "UPDATE conversation SET survey_id = :survey_id, version = :version, wave = :wave, state = :state, "
    "revision = :revision + 1, touched = :touched WHERE session = :session AND revision = :revision")
HAS_COMPLETED = Sql(
    "SELECT 1 FROM response WHERE respondent = :respondent AND survey_id = :survey_id AND wave = :wave AND completed")
INSERT_CONVERSATION = Sql(
    "INSERT INTO conversation (session, survey_id, version, wave, state, revision, touched) "
    "VALUES (:session, :survey_id, :version, :wave, :state, 0, :touched)")
END_CONVERSATION = Sql("DELETE FROM conversation WHERE session = :session")
END_CONVERSATION_AT = Sql("DELETE FROM conversation WHERE session = :session AND revision = :revision")
SELECT_CONTACT = Sql("SELECT id FROM contact WHERE lookup = :lookup")
INSERT_CONTACT = Sql(
    "INSERT INTO contact (channel, lookup, address, tags, opted_out, unreachable, joined_on) "
    "VALUES (:channel, :lookup, :address, '[]', false, false, :today) RETURNING id")
MARK_PARTICIPATION = Sql(
    "INSERT INTO participation (contact_id, survey_id, wave, invited, started, completed, reminders) "
    "VALUES (:contact_id, :survey_id, :wave, false, true, :completed, 0) "
    "ON CONFLICT (contact_id, survey_id, wave) DO UPDATE SET started = true, "
    "completed = participation.completed OR excluded.completed")
MARK_SENT = Sql(
    "INSERT INTO participation (contact_id, survey_id, wave, invited, started, completed, reminders) "
    "VALUES (:contact_id, :survey_id, :wave, :invited, false, false, :reminders) "
    "ON CONFLICT (contact_id, survey_id, wave) DO UPDATE SET invited = participation.invited OR excluded.invited, "
    "reminders = participation.reminders + excluded.reminders")
SELECT_ROUND = Sql("SELECT min_group, min_group_text, closes_on FROM survey_key WHERE survey_id = :survey_id "
                   "AND wave = :wave")
LOCK_THRESHOLDS = Sql(
    "UPDATE survey_key SET min_group = :group, min_group_text = :text "
    "WHERE survey_id = :survey_id AND wave = :wave AND min_group IS NULL")


@dataclass(frozen=True)
class ConversationRow:
    survey_id: str
    version: int
    wave: int
    state: dict[str, Any]
    revision: int


def _conversation(row: Any) -> ConversationRow | None:
    if row is None or row[0] is None:  # no row, or the claim's outer join found none
        return None
    survey_id, version, wave, state, revision = row
    return ConversationRow(survey_id, version, wave, json.loads(state), revision)


@dataclass(frozen=True)
class ResponseRef:
    """The two facts the answer path needs about a response row, read without the ORM."""

    id: int
    completed: bool


class UnitOfWork(SqlUnit):
    """One transaction on an ORM session; the hot statements run on the session's own connection (storage.sql)."""

    def __init__(self, session: Session, cursor: Any = None, responses: dict[str, int] | None = None) -> None:
        super().__init__(cursor=cursor, bind=session.get_bind().engine if cursor is not None else None)
        self.session = session
        self._salts: dict[tuple[str, int], tuple[Any, Any, bool]] = {}  # key rows read in this transaction (salt)
        self._read_ahead: tuple[str, ConversationRow | None] | None = None  # see claim_event
        self._responses = responses if responses is not None else {}  # see Store.responses
        self._reading: str | None = None  # the session key the claim read for
        self._known: tuple[int, tuple[Any, ...]] | None = None  # a response row the claim read, and its key columns
        self._owed: list[Owed] = []  # pending replies, written just before the commit (storage.replies)
        self.flush_sent = False  # delete the pending rows already sent, even with none to write (Store.flush_replies)

    def connection(self) -> Connection:
        return self.session.connection()  # begins the unit's transaction, if not begun yet

    def _insert(self, table: type[SQLModel]) -> Any:
        """An INSERT that can say ON CONFLICT (both SQLite and PostgreSQL speak it)."""
        dialect = self.session.get_bind().dialect.name
        return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)

    def claim_event(self, key: str, today: date, reading: str | None = None) -> bool:
        """True the first time an event key is seen; False for a redelivery. A concurrent claim of the same key
        waits for the first to commit and then claims nothing.

        `reading`: a conversation's session key the unit will read next. On PostgreSQL the claim reads it in the
        same statement (one round trip fewer on every answer), and `conversation` hands that row back; with it the
        response row that conversation's answers last went to, which `open_response` then need not look up."""
        if reading is not None and not self._on_sqlite():
            hint = self._responses.get(reading)
            found = self.run(CLAIM_AND_READ, {"key": key, "today": today, "session": reading,
                                              "response_id": hint}).fetchone()
            self._read_ahead = (reading, _conversation(found[1:6]))
            self._reading, self._known = reading, (hint, found[6:]) if hint is not None else None
            return bool(found[0])
        return self.run(CLAIM_EVENT, {"key": key, "today": today}).fetchone() is not None

    def owe(self, row: Owed) -> None:
        """What this step must still send, stored with it: written by the Store just before the commit (one
        statement for a whole batch), so it costs the step no statement of its own."""
        self._owed.append(row)

    # --- surveys -------------------------------------------------------------------------------------------------
    def published(self, survey_id: str, version: int) -> SurveyVersion | None:
        return self.session.exec(
            select(SurveyVersion).where(SurveyVersion.survey_id == survey_id, SurveyVersion.version == version)
        ).first()

    def publish(self, survey_id: str, version: int, title: str, audience: str, source: str, today: date) -> str:
        """Store a survey version's exact text. Returns "new", "same", "updated" or "frozen" (changed after answers)."""
        digest = results.digest(source)
        row = self.published(survey_id, version)
        if row is None:
            self.session.add(SurveyVersion(survey_id=survey_id, version=version, title=title, audience=audience,
                                           source=source, digest=digest, published_on=today))
            return "new"
        if row.digest == digest:
            return "same"
        if self.has_answers(survey_id, version):
            return "frozen"
        row.source, row.digest, row.title, row.audience = source, digest, title, audience
        self.session.add(row)
        return "updated"

    def published_versions(self, survey_id: str) -> list[SurveyVersion]:
        return list(self.session.exec(
            select(SurveyVersion).where(SurveyVersion.survey_id == survey_id).order_by(col(SurveyVersion.version))
        ))

    def has_answers(self, survey_id: str, version: int) -> bool:
        found = self.session.exec(
            select(Response.id).where(Response.survey_id == survey_id, Response.version == version).limit(1)
        ).first()
        return found is not None

    # --- keys ----------------------------------------------------------------------------------------------------
    def salt(self, survey_id: str, wave: int, today: date) -> bytes | None:
        """The round's key salt, made on first use; None once the key has been destroyed or the round has closed
        (after `closes_on` no answers are taken; /delete still finds them through `live_salts`)."""
        found = self._salts.get((survey_id, wave))
        if found is None:  # read once a transaction (a batch's units share it: Store._in_batch)
            which = {"survey_id": survey_id, "wave": wave}
            found = self.run(SELECT_SALT, which).fetchone()
            if found is None:  # made on first use; if another process makes it at the same moment, theirs is used
                self.run(MAKE_SALT, {**which, "salt": os.urandom(32), "today": today})
                found = self.run(SELECT_SALT, which).fetchone()
                assert found is not None
            self._salts[(survey_id, wave)] = found
        salt, closes_on, locked = found
        if locked:  # thresholds are locked once and for good (see lock_thresholds)
            self._locked_rounds.add((survey_id, wave))
        if isinstance(closes_on, str):  # SQLite keeps dates as text
            closes_on = date.fromisoformat(closes_on)
        if closes_on is not None and today > closes_on:
            return None
        return bytes(salt) if salt is not None else None

    def live_salts(self) -> list[tuple[str, int, bytes]]:
        rows = self.session.exec(select(SurveyKey).where(col(SurveyKey.salt).is_not(None)))
        return [(r.survey_id, r.wave, r.salt) for r in rows if r.salt is not None]

    # --- responses and answers -----------------------------------------------------------------------------------
    def response(self, respondent: str, survey_id: str, version: int, wave: int) -> Response | None:
        return self.session.exec(select(Response).where(
            Response.respondent == respondent, Response.survey_id == survey_id,
            Response.version == version, Response.wave == wave,
        )).first()

    def has_completed(self, respondent: str, survey_id: str, wave: int) -> bool:
        """Whether this pseudonym already finished this round (one person, one response)."""
        which = {"respondent": respondent, "survey_id": survey_id, "wave": wave}
        return self.run(HAS_COMPLETED, which).fetchone() is not None

    def responses_of(self, respondent: str, survey_id: str, wave: int) -> list[Response]:
        return list(self.session.exec(select(Response).where(
            Response.respondent == respondent, Response.survey_id == survey_id, Response.wave == wave)))

    def open_response(self, respondent: str, survey_id: str, version: int, wave: int, channel: str,
                      today: date) -> ResponseRef:
        """This person's response to this round, made on their first stored answer. Two first answers at once: the
        second INSERT breaks the unique key, and the unit retries (Conflict) and finds the first one's row."""
        known, self._known = self._known, None
        if known is not None and known[1][:4] == (respondent, survey_id, version, wave):  # read with the claim
            return ResponseRef(known[0], bool(known[1][4]))
        which = {"respondent": respondent, "survey_id": survey_id, "version": version, "wave": wave}
        found = self.run(SELECT_RESPONSE, which).fetchone()
        if found is None:
            found = self.run(INSERT_RESPONSE, {**which, "channel": channel, "today": today}).fetchone()
            found = (found[0], False)
        if self._reading is not None:
            self._responses[self._reading] = int(found[0])
            if len(self._responses) > RESPONSES_REMEMBERED:
                self._responses.clear()
        return ResponseRef(int(found[0]), bool(found[1]))

    def lock_thresholds(self, survey_id: str, wave: int, group: int, text: int) -> None:
        """Record the round's thresholds the first time it stores an answer; later calls change nothing, and once
        the round's key row has been read as locked (salt) they are not even sent."""
        if (survey_id, wave) in self._locked_rounds:
            return
        self.defer(LOCK_THRESHOLDS, {"group": group, "text": text, "survey_id": survey_id, "wave": wave})
        self._locked_rounds.add((survey_id, wave))

    def put_answer(self, response: ResponseRef | Response, question_id: str, value: Any, today: date) -> str:
        """Store (or replace, after Back) one answer; returns the stored JSON text."""
        encoded = json.dumps(value, ensure_ascii=False)
        self.defer(UPSERT_ANSWER, {"response_id": response.id, "question_id": question_id, "value": encoded,
                                   "today": today})
        return encoded

    def drop_answer(self, response: ResponseRef | Response, question_id: str) -> bool:
        result = self.run(DROP_ANSWER, {"response_id": response.id, "question_id": question_id})
        return bool(result.rowcount)

    def complete(self, response: ResponseRef | Response, today: date) -> None:
        self.run(COMPLETE_RESPONSE, {"id": response.id, "today": today})

    def erase_response(self, response: Response) -> int:
        """Delete a response and its answers; returns how many answers went."""
        result = self.session.execute(delete(Answer).where(col(Answer.response_id) == response.id))
        self.session.delete(response)
        return int(result.rowcount)  # type: ignore[attr-defined]

    def answers_of(self, response: ResponseRef | Response) -> dict[str, Any]:
        rows = self.session.exec(select(Answer).where(Answer.response_id == response.id))
        return {row.question_id: json.loads(row.value) for row in rows}

    def completed_rows(self, survey_id: str, batch: int = 1000) -> Iterator[tuple[Response, dict[str, Any]]]:
        """Completed responses with their answers, a batch at a time so memory does not grow with the survey."""
        last_id = 0
        while True:
            responses = list(self.session.exec(
                select(Response).where(Response.survey_id == survey_id, col(Response.completed).is_(True),
                                       col(Response.id) > last_id)
                .order_by(col(Response.id)).limit(batch)))
            if not responses:
                return
            ids = [r.id for r in responses]
            answers: dict[int, dict[str, Any]] = {i: {} for i in ids if i is not None}
            for row in self.session.exec(select(Answer).where(col(Answer.response_id).in_(ids))):
                answers[row.response_id][row.question_id] = json.loads(row.value)
            for response in responses:
                assert response.id is not None
                yield response, answers[response.id]
            last_id = ids[-1] or last_id

    def count_responses(self, survey_id: str, completed: bool | None = None) -> int:
        query = select(func.count()).select_from(Response).where(Response.survey_id == survey_id)
        if completed is not None:
            query = query.where(col(Response.completed).is_(completed))
        return int(self.session.exec(query).one())

    # --- conversations -------------------------------------------------------------------------------------------
    def conversation(self, session_key: str) -> ConversationRow | None:
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is not None and ahead[0] == session_key:  # read with the claim, in this transaction
            return ahead[1]
        return _conversation(self.run(SELECT_CONVERSATION, {"session": session_key}).fetchone())

    def save_conversation(self, session_key: str, survey_id: str, version: int, wave: int, state: dict[str, Any],
                          expected_revision: int | None, now: datetime) -> None:
        """Insert, or update only if nobody else saved since we read it (optimistic locking)."""
        touched = now.replace(minute=0, second=0, microsecond=0)
        encoded = json.dumps(state, ensure_ascii=False)
        if expected_revision is None:  # two first events at once: the second breaks the key, and retries
            self.run(INSERT_CONVERSATION, {"session": session_key, "survey_id": survey_id, "version": version,
                                            "wave": wave, "state": encoded, "touched": touched})
            return
        result = self.run(UPDATE_CONVERSATION, {
            "survey_id": survey_id, "version": version, "wave": wave, "state": encoded, "touched": touched,
            "session": session_key, "revision": expected_revision})
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict()

    def end_conversation(self, session_key: str, expected_revision: int | None = None) -> None:
        """Delete the conversation; with `expected_revision`, only if nobody else saved or ended it since we read
        it (optimistic locking, as in save_conversation: two final answers at once must not both finish)."""
        if expected_revision is None:
            self.run(END_CONVERSATION, {"session": session_key})
            return
        result = self.run(END_CONVERSATION_AT, {"session": session_key, "revision": expected_revision})
        if result.rowcount != 1:
            raise Conflict()

    # --- contacts and participation ------------------------------------------------------------------------------
    def contact(self, lookup: str) -> Contact | None:
        return self.session.exec(select(Contact).where(Contact.lookup == lookup)).first()

    def ensure_contact(self, lookup: str, channel: str, sealed_address: str, today: date) -> int:
        """The contact's id, adding the contact (with no tags) the first time they are seen."""
        found = self.run(SELECT_CONTACT, {"lookup": lookup}).fetchone()
        if found is not None:
            return int(found[0])
        made = self.run(INSERT_CONTACT, {"channel": channel, "lookup": lookup, "address": sealed_address,
                                          "today": today}).fetchone()
        return int(made[0])

    def mark_unreachable(self, lookup: str) -> None:
        self.session.execute(update(Contact).where(col(Contact.lookup) == lookup).values(unreachable=True))

    def mark_participation(self, contact_id: int, survey_id: str, wave: int, completed: bool) -> None:
        """Started (and perhaps finished) this round: for reminders only, never linked to the answers."""
        self.run(MARK_PARTICIPATION, {"contact_id": contact_id, "survey_id": survey_id, "wave": wave,
                                       "completed": completed})

    def mark_sent(self, contact_id: int, survey_id: str, wave: int, reminder: bool) -> None:
        """An invitation (or a reminder) went to this contact for this round. An upsert, like mark_participation,
        because the person may be starting the survey at the same moment in another transaction."""
        self.run(MARK_SENT, {"contact_id": contact_id, "survey_id": survey_id, "wave": wave,
                              "invited": not reminder, "reminders": 1 if reminder else 0})

    def round_rules(self, survey_id: str, wave: int) -> tuple[int | None, int | None, date | None]:
        """A round's locked thresholds (group, free text) and its last day: what its privacy notice states."""
        found = self.run(SELECT_ROUND, {"survey_id": survey_id, "wave": wave}).fetchone()
        if found is None:
            return None, None, None
        group, text_group, closes_on = found
        return group, text_group, day(closes_on)


class Store:
    """Hands out units of work on one engine. On SQLite, units run one at a time in this process: SQLite has a
    single writer, and queueing here is cheaper than retrying busy or conflicting transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._serial = threading.RLock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        self._shared = threading.local()  # the batch's session, on the thread running a batch
        # PostgreSQL's answer path: an open conversation's session key -> the response row its answers went to
        # last. Only a hint, so the next answer need not look the row up: the claim reads that row back in the same
        # statement and it is used only if it is still this person's response to this round (UnitOfWork.claim_event,
        # open_response). It lives in this process's memory only, and links nothing the database does not:
        # the open conversation's own row holds its answers so far.
        self.responses: dict[str, int] = {}
        self.replies = Replies()  # pending replies this process wrote or sent (storage.replies)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: the units opened inside (on this thread) share one transaction, committed when the block
        ends. Nothing in the batch is stored until then, so callers must not report success before.

        SQLite writes every page a transaction touched at each commit; answers arriving together touch the same
        pages (the answer and audit tables' last pages, their indexes), so committing them as one writes those
        pages once. On PostgreSQL each transaction would wait its turn on the audit chain's lock from its first
        append to its commit; a batch takes the lock once.

        The units share the transaction without savepoints: on PostgreSQL a savepoint is a round trip of its own,
        and round trips are most of the answer path's time. So a unit that fails spoils the whole batch: the unit
        raises BatchSpoilt, the block rolls everything back, and the caller runs the steps again one at a time
        (SurveyService._drain). Failures are rare (two writers on one conversation at the same moment)."""
        try:
            with self._serial, Session(self.engine, expire_on_commit=False) as session:
                raw = session.connection().connection.driver_connection
                assert raw is not None
                if self.engine.dialect.name == "sqlite":
                    # pysqlite starts a transaction only at the first write; begun here, the batch's reads belong
                    # to it too. psycopg begins one by itself before the first statement.
                    raw.execute("BEGIN")
                self._shared.session, self._shared.raw = session, raw
                self._shared.chain_locked, self._shared.head = False, None
                self._shared.salts, self._shared.locked_rounds = {}, set()
                self._shared.spoilt = False
                owed: list[Owed] = []
                self._shared.owed = owed
                taken: dict[str, str] = {}
                try:
                    yield
                    if self._shared.spoilt:  # a unit failed and its caller carried on: commit none of it
                        raise BatchSpoilt()
                    if owed or self.replies.waiting:
                        taken = self.replies.write(UnitOfWork(session, raw.cursor()), owed)
                    session.commit()
                    self.replies.committed(owed)
                except BaseException:
                    session.rollback()
                    self.replies.undo(taken)
                    raise
                finally:
                    self._shared.session = None
        except OperationalError as exc:
            raise database_error(str(self.engine.url), exc) from None

    def flush_replies(self) -> None:
        """Delete the pending rows already sent that no batch has taken along (SurveyService.delivered)."""
        if self.replies.waiting:
            with self.unit() as uow:
                uow.flush_sent = True

    @contextmanager
    def _in_batch(self, session: Session) -> Iterator[UnitOfWork]:
        """One unit inside a batch, on the batch's transaction. What the transaction has learnt passes from unit to
        unit: it holds the chain's lock, knows the head it wrote last, and the key rows it read (a round's salt is
        read once a batch, not once an answer)."""
        shared = self._shared
        work = UnitOfWork(session, shared.raw.cursor(), self.responses)
        work._chain_locked, work._head = shared.chain_locked, shared.head
        work._salts, work._locked_rounds = shared.salts, shared.locked_rounds
        work._owed = shared.owed
        try:
            yield work
            session.flush()
        except Exception as exc:
            shared.spoilt = True
            raise BatchSpoilt() from exc
        shared.chain_locked, shared.head = work._chain_locked, work._head

    @contextmanager
    def unit(self) -> Iterator[UnitOfWork]:
        """Commit when the block ends normally; roll back everything on any exception. Inside a batch (on its
        thread), the unit is part of the batch's transaction instead, committed with the batch (see `batch`)."""
        shared = getattr(self._shared, "session", None)
        if shared is not None:
            with self._in_batch(shared) as work:
                yield work
            return
        try:
            with self._serial, Session(self.engine, expire_on_commit=False) as session:
                work = UnitOfWork(session, responses=self.responses)
                taken: dict[str, str] = {}
                try:
                    yield work
                    if work._owed or work.flush_sent:
                        taken = self.replies.write(work, work._owed)
                    session.commit()
                    self.replies.committed(work._owed)
                except IntegrityError:
                    # another writer created the same row first (a response, an answer, the next audit link):
                    # the caller starts again from fresh state
                    session.rollback()
                    self.replies.undo(taken)
                    raise Conflict() from None
                except BaseException:
                    session.rollback()
                    self.replies.undo(taken)
                    raise
        except OperationalError as exc:
            raise database_error(str(self.engine.url), exc) from None
