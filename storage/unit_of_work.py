"""One transaction of work: the unit the service opens for each event, and the Store that hands units out.

The service opens a unit, does everything one event needs (claim the event, load state, store answers, save state,
write the audit record) and commits once: either all of it is stored or none. Messages go out only after the commit,
so a crash can repeat a question but never lose an answer.

A unit is the transaction and what it has learnt, nothing more: the reads and writes of each table are functions over
it, in the module named for the table (storage.conversations, storage.responses, storage.rounds, storage.contacts, ...;
see storage/__init__.py for why).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from storage.replies import Owed, Replies
from storage.sql import Conflict, Learnt, SqlUnit, database_error, transient

BATCH_LIMIT = 24  # survey steps committed together at most (see Store.batch)


class BatchSpoilt(Exception):
    """A unit inside a batch failed part-way (the cause is chained). A batch has no savepoints, so its other units'
    work cannot be kept apart from the failed one's: the batch is rolled back whole, and its steps run again alone."""


@dataclass(frozen=True)
class ConversationRow:
    """A conversation as stored (storage.conversations reads and writes it). Defined here because a unit may hold
    one its event's claim read ahead (UnitOfWork.read_ahead), and the table's module builds on the unit."""

    survey_id: str
    version: int
    wave: int
    state: dict[str, Any]
    revision: int


class Ahead(NamedTuple):
    """A survey step's claim made at its batch's start (storage.conversations.claim_all), waiting for the step: the
    session key it read for, whether the event was claimed, the response id it was read with, and the row read
    (None when an earlier step of the batch has the same conversation, so the row may be out of date)."""

    session: str
    claimed: bool
    hint: int | None
    row: tuple[Any, ...] | None


@dataclass
class Transaction(Learnt):
    """What a transaction has learnt (storage.sql.Learnt), and what it must still write before its commit. A batch's
    units share one (Store.batch)."""

    salts: dict[tuple[str, int], tuple[Any, Any, bool]] = field(default_factory=dict)  # key rows read (rounds.salt)
    owed: list[Owed] = field(default_factory=list)  # pending replies, written just before the commit (storage.replies)
    ahead: dict[str, Ahead] = field(default_factory=dict)  # a batch's claims made at its start, by event key
    # run once the transaction has committed, never if it rolls back (a batch spoilt and run again step by step
    # would otherwise count its steps twice): UnitOfWork.after_commit
    committed: list[Callable[[], None]] = field(default_factory=list)


class UnitOfWork(SqlUnit):
    """One transaction on an ORM session; the hot statements run on the session's own connection (storage.sql)."""

    learnt: Transaction

    def __init__(self, session: Session, cursor: Any = None, responses: dict[str, int] | None = None,
                 transaction: Transaction | None = None) -> None:
        super().__init__(cursor=cursor, bind=session.get_bind().engine if cursor is not None else None,
                         learnt=transaction if transaction is not None else Transaction())
        self.session = session
        self.responses = responses if responses is not None else {}  # see Store.responses
        # what the event's claim read ahead (storage.conversations.claim_event), each handed back once:
        self.read_ahead: tuple[str, ConversationRow | None] | None = None  # a conversation, by its session key
        self.reading: str | None = None  # the session key the claim read for
        self.known: tuple[int, tuple[Any, ...]] | None = None  # a response row, and its key columns
        self.flush_sent = False  # delete the pending rows already sent, even with none to write (Store.flush_replies)

    def connection(self) -> Connection:
        return self.session.connection()  # begins the unit's transaction, if not begun yet

    def owe(self, row: Owed) -> None:
        """What this step must still send, stored with it: written by the Store just before the commit (one
        statement for a whole batch), so it costs the step no statement of its own."""
        self.learnt.owed.append(row)

    def after_commit(self, call: Callable[[], None]) -> None:
        """Run `call` once this unit's transaction (a batch's, inside one) has committed; dropped on a rollback."""
        self.learnt.committed.append(call)


class Store:
    """Hands out units of work on one engine. On SQLite, units run one at a time in this process: SQLite has a
    single writer, and queueing here is cheaper than retrying busy or conflicting transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._serial = threading.RLock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        self._shared = threading.local()  # the batch's session, on the thread running a batch
        # PostgreSQL's answer path: an open conversation's session key -> the response row its answers went to
        # last. Only a hint, so the next answer need not look the row up: the claim reads that row back in the same
        # statement and it is used only if it is still this person's response to this round
        # (storage.conversations.claim_event, storage.responses.open_response). It lives in this process's memory
        # only, and links nothing the database does not: the open conversation's own row holds its answers so far.
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
        (DatabaseThread._drain in bot.services.group_commit). Failures are rare (two writers on one conversation at
        the same moment)."""
        try:
            with self._serial, Session(self.engine, expire_on_commit=False) as session:
                raw = session.connection().connection.driver_connection
                assert raw is not None
                if self.engine.dialect.name == "sqlite":
                    # pysqlite starts a transaction only at the first write; begun here, the batch's reads belong
                    # to it too. psycopg begins one by itself before the first statement.
                    raw.execute("BEGIN")
                transaction = Transaction()
                self._shared.session, self._shared.raw = session, raw
                self._shared.transaction, self._shared.spoilt = transaction, False
                owed = transaction.owed
                taken: dict[str, str] = {}
                try:
                    yield
                    if self._shared.spoilt:  # a unit failed and its caller carried on: commit none of it
                        raise BatchSpoilt()
                    if owed or self.replies.waiting:
                        taken = self.replies.write(UnitOfWork(session, raw.cursor()), owed, commit=True)
                    session.commit()  # on PostgreSQL, after the replies' write, already done (run_then_commit)
                    self.replies.committed(owed)
                except BaseException:
                    session.rollback()
                    self.replies.undo(taken)
                    raise
                finally:
                    self._shared.session = None
                _run_all(transaction.committed)
        except OperationalError as exc:
            if transient(exc):  # PostgreSQL undid this transaction to break a deadlock: start it again
                raise Conflict() from None
            raise database_error(str(self.engine.url), exc) from None

    def flush_replies(self) -> None:
        """Delete the pending rows already sent that no batch has taken along (SurveyService.delivered)."""
        if self.replies.waiting:
            with self.unit() as uow:
                uow.flush_sent = True

    @contextmanager
    def _in_batch(self, session: Session) -> Iterator[UnitOfWork]:
        """One unit inside a batch, on the batch's transaction. What the transaction has learnt passes from unit to
        unit (Transaction): it holds the chain's lock, knows the head it wrote last, and the key rows it read (a
        round's salt is read once a batch, not once an answer). A unit that fails spoils the batch, so what it
        taught the transaction is never kept without its writes."""
        shared = self._shared
        work = UnitOfWork(session, shared.raw.cursor(), self.responses, shared.transaction)
        try:
            yield work
            session.flush()
        except Exception as exc:
            shared.spoilt = True
            raise BatchSpoilt() from exc

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
                    owed = work.learnt.owed
                    if owed or work.flush_sent:
                        taken = self.replies.write(work, owed, commit=True)
                    session.commit()  # on PostgreSQL, after the replies' write, already done (run_then_commit)
                    self.replies.committed(owed)
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
            if transient(exc):  # PostgreSQL undid this transaction to break a deadlock: start it again
                raise Conflict() from None
            raise database_error(str(self.engine.url), exc) from None
        _run_all(work.learnt.committed)


def _run_all(calls: list[Callable[[], None]]) -> None:
    """The after-commit calls, in order; the transaction is already committed, so none of them may undo it."""
    for call in calls:
        call()
