"""Plain SQL on the database driver's own cursor, inside a unit's transaction, with no ORM in sight.

The answer path's statements, the audit chain and the reads behind exports and reports run here: building and coercing
them through SQLAlchemy's ORM cost several times what SQLite or PostgreSQL take to run them. `SqlUnit` is the part of
a unit of work that does this; storage.unit_of_work.UnitOfWork adds the ORM session on top. `SqlStore` hands out bare
SqlUnits, so a command that only reads answers and appends to the audit chain (`surveybot export`, through
bot.reading) never imports SQLModel or the table models, which take about half a second to load.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from storage.database import DatabaseError, describe

GENESIS = "0" * 64
AUDIT_CHAIN_LOCK = 0x5355_5256  # "SURV": the advisory lock id that orders appends to the audit chain


class Sql:
    """A statement written once with :named parameters and kept in each driver's own style. Where the two databases
    spell something differently (SQLite's group_concat, PostgreSQL's string_agg), `postgresql` gives that text."""

    def __init__(self, sql: str, postgresql: str | None = None) -> None:
        self.sqlite = sql
        self.postgresql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", postgresql or sql)


# Both SQLite (3.35+) and PostgreSQL speak this SQL.
CHAIN_HEAD = Sql("SELECT hash FROM audit_record ORDER BY seq DESC LIMIT 1")
APPEND_AUDIT = Sql('INSERT INTO audit_record ("on", action, subject, prev_hash, hash) '
                   "VALUES (:today, :action, :subject, :prev, :hash)")
CHAIN_LOCK = Sql("SELECT pg_advisory_xact_lock(:key)")


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@functools.lru_cache(maxsize=64)
def _joined_text(statements: tuple[Sql, ...]) -> Sql:
    """PostgreSQL's text for `joined`: the writes as WITH clauses named w0, w1..., their parameters renamed to
    match, in front of the last statement (whose own WITH clauses, if any, follow theirs)."""
    clauses = []
    for number, statement in enumerate(statements[:-1]):
        assert not statement.postgresql.startswith("WITH "), "a deferred write cannot have WITH clauses of its own"
        renamed = _PLACEHOLDER.sub(f"%(w{number}_" + r"\1)s", statement.postgresql)
        clauses.append(f"w{number} AS ({renamed})")
    last = statements[-1].postgresql
    tail = f", {last[5:]}" if last.startswith("WITH ") else f" {last}"
    joined = Sql("")  # PostgreSQL's only: SQLite writes at once, and never joins statements
    joined.postgresql = "WITH " + ", ".join(clauses) + tail
    return joined


@functools.lru_cache(maxsize=64)
def _committing(statement: Sql) -> Sql:
    """PostgreSQL's text for `run_then_commit`: the statement, then COMMIT, as one simple query."""
    committing = Sql("")  # PostgreSQL's only: SQLite's commit costs no round trip
    committing.postgresql = f"{statement.postgresql}; COMMIT"
    return committing


def joined(runs: list[tuple[Sql, dict[str, Any]]]) -> tuple[Sql, dict[str, Any]]:
    """Several statements as one (see SqlUnit.together): the last statement's result is the one returned."""
    statements = tuple(statement for statement, _ in runs)
    parameters = dict(runs[-1][1])
    for number, (_, values) in enumerate(runs[:-1]):
        parameters.update({f"w{number}_{name}": value for name, value in values.items()})
    return _joined_text(statements), parameters


class Conflict(Exception):
    """Someone else wrote the same rows first, or PostgreSQL chose this transaction to undo a deadlock or a
    serialisation failure; either way the caller retries the whole unit from fresh state."""


# SQLSTATEs after which the same work, started again, succeeds: serialization_failure and deadlock_detected.
# Two processes behind a balancer can each hold one update's claim and want the other's (a batch claims several).
TRANSIENT = frozenset({"40001", "40P01"})


def transient(exc: BaseException) -> bool:
    """Whether a driver's (or SQLAlchemy's) operational error only means "start the transaction again"."""
    original = getattr(exc, "orig", None) or exc
    return getattr(original, "sqlstate", None) in TRANSIENT


def for_sqlite(value: Any) -> Any:
    """Dates and times as SQLAlchemy stores them in SQLite, so rows written either way read back alike."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def day(value: date | str | None) -> date | None:
    """A DATE column's value as a date: SQLite hands back the text it keeps, PostgreSQL a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def chain_hash(prev: str, on: date, action: str, subject: str) -> str:
    return hashlib.sha256(f"{prev}|{on.isoformat()}|{action}|{subject}".encode()).hexdigest()


def database_error(url: str, exc: BaseException) -> DatabaseError:
    """A driver's or SQLAlchemy's operational error as one line naming the database (never its password)."""
    original = getattr(exc, "orig", None) or exc
    reason = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return DatabaseError(f"database {describe(url)}: {reason}")


_cursor_names = itertools.count(1)


@dataclass
class Learnt:
    """What a transaction has learnt so far, which its later statements need not ask the database again. Each unit
    has its own; a batch's units share one, as they share the transaction (storage.unit_of_work.Store.batch)."""

    chain_locked: bool = False  # it holds the audit chain's lock (PostgreSQL)
    head: str | None = None  # the chain's head as this transaction last wrote it
    locked_rounds: set[tuple[str, int]] = field(default_factory=set)  # rounds whose thresholds it saw locked


class SqlUnit:
    """Runs Sql statements on the driver's cursor, in the transaction of `connection` (a SQLAlchemy connection
    whose transaction has begun; UnitOfWork takes its session's instead)."""

    def __init__(self, connection: Connection | None = None, cursor: Any = None, bind: Engine | None = None,
                 learnt: Learnt | None = None) -> None:
        """`cursor` (with its engine, `bind`) is given when the transaction is already open: a batch's unit
        (storage.unit_of_work.Store.batch), where looking the connection up again would cost more than the work.
        `learnt`: what the transaction knows already (a batch's), else a fresh one."""
        self._bound = connection
        self._cursor: Any = cursor
        self.learnt = learnt if learnt is not None else Learnt()
        self._deferred: list[tuple[Sql, dict[str, Any]]] | None = None  # writes waiting (see `together`)
        self._sqlite = False
        self._dbapi: Any = None
        self._url = ""
        if cursor is not None and bind is not None:
            self._sqlite, self._dbapi, self._url = bind.dialect.name == "sqlite", bind.dialect.dbapi, str(bind.url)

    def connection(self) -> Connection:
        assert self._bound is not None, "a SqlUnit needs a connection"
        return self._bound

    @property
    def dialect(self) -> str:
        return self.connection().dialect.name

    def run(self, statement: Sql, parameters: dict[str, Any] | None = None) -> Any:
        """Run one statement; returns the cursor, to fetch from.

        The driver's errors are told apart as SQLAlchemy's would be: a broken unique key means someone else wrote
        first (Conflict, and the unit starts again); anything else operational is a DatabaseError."""
        if self._cursor is None:
            self._cursor = self._driver().cursor()
        if self._deferred:
            waiting, self._deferred = self._deferred, []
            statement, parameters = joined([*waiting, (statement, parameters or {})])
        self._execute(self._cursor, statement, parameters or {})
        return self._cursor

    def run_then_commit(self, statement: Sql, parameters: dict[str, Any]) -> None:
        """A transaction's last write, and its commit: on PostgreSQL in one round trip instead of two (both sent as
        one simple query, so the values are bound in this process by psycopg's ClientCursor, quoting them itself).
        The transaction is then over on the server, and the caller's own commit (the session's) finds nothing left
        to do. If the write fails, the COMMIT in the same query is not run: the transaction is left failed, for the
        caller to roll back as after any failed statement. Elsewhere (SQLite), the write alone; the caller commits."""
        if self.on_sqlite():
            self.run(statement, parameters)
            return
        from psycopg import ClientCursor  # the PostgreSQL driver, there whenever this runs on PostgreSQL

        driver = self._cursor.connection if self._cursor is not None else self._driver()
        with ClientCursor(driver) as cursor:
            self._execute(cursor, _committing(statement), parameters)

    @contextmanager
    def together(self) -> Iterator[None]:
        """Writes made inside with `defer` go to PostgreSQL as one statement with the next statement run (or at the
        block's end): each deferred write becomes a data-modifying WITH clause in front of it. On the answer path
        that makes the answer, its audit link and the conversation's save one statement instead of three: on
        PostgreSQL each statement costs this process about 80 µs of driver work and system calls, far more than
        the server's own work. SQLite runs in this process, and writes at once.

        The statements joined this way run on one snapshot, in no set order, so a deferred write must not touch a
        row another statement inside touches or reads, and no statement may read what a deferred one wrote. The
        same statement deferred twice (two audit links, whose order matters) goes in two statements."""
        if self.on_sqlite() or self._deferred is not None:
            yield
            return
        self._deferred = []
        try:
            yield
            if self._deferred:
                last, parameters = self._deferred.pop()
                self.run(last, parameters)
        finally:
            self._deferred = None

    def defer(self, statement: Sql, parameters: dict[str, Any]) -> None:
        """A write whose result nobody reads: inside `together` on PostgreSQL it goes with the next statement."""
        waiting = self._deferred
        if waiting is None:
            self.run(statement, parameters)
            return
        if any(queued is statement for queued, _ in waiting):  # keep their order: send those waiting first
            last, earlier = waiting.pop()
            self.run(last, earlier)
        waiting.append((statement, parameters))

    def batches(self, statement: Sql, parameters: dict[str, Any], size: int) -> Iterator[list[tuple[Any, ...]]]:
        """A query's rows, `size` at a time, so memory stays flat however many there are: through a server-side
        (named) cursor on PostgreSQL, and SQLite's own cursor, which steps through the result lazily."""
        driver = self._driver()
        if self.dialect == "postgresql":
            cursor = driver.cursor(name=f"surveybot_rows_{next(_cursor_names)}")
            cursor.itersize = size
        else:
            cursor = driver.cursor()
        try:
            self._execute(cursor, statement, parameters)
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            cursor.close()

    def _driver(self) -> Any:
        connection = self.connection()  # begins the unit's transaction, if not begun yet
        self._sqlite = connection.dialect.name == "sqlite"
        self._dbapi = connection.dialect.dbapi
        self._url = str(connection.engine.url)
        return connection.connection.driver_connection

    def _execute(self, cursor: Any, statement: Sql, parameters: dict[str, Any]) -> None:
        try:
            if self._sqlite:
                cursor.execute(statement.sqlite, {k: for_sqlite(v) for k, v in parameters.items()})
            else:
                cursor.execute(statement.postgresql, parameters)
        except self._dbapi.IntegrityError:
            raise Conflict() from None
        except self._dbapi.OperationalError as exc:
            if transient(exc):
                raise Conflict() from None
            raise database_error(self._url, exc) from None

    def audit(self, action: str, subject: dict[str, Any], today: date) -> str:
        """Append one link to the chain. The caller passes ids and fingerprints only, never answer content.

        Appends queue on a transaction-level advisory lock (PostgreSQL) so concurrent writers extend the chain one
        after another instead of colliding on the same head; SQLite has one writer at a time anyway."""
        learnt = self.learnt
        if not learnt.chain_locked and not self.on_sqlite():
            self.run(CHAIN_LOCK, {"key": AUDIT_CHAIN_LOCK}).fetchone()
            learnt.chain_locked = True
        if learnt.head is not None:  # appended earlier in this transaction, under its lock: nobody else can have
            prev = learnt.head
        else:
            head = self.run(CHAIN_HEAD).fetchone()
            prev = head[0] if head is not None and head[0] is not None else GENESIS
        body = json.dumps(subject, sort_keys=True, separators=(",", ":"))
        digest = chain_hash(prev, today, action, body)
        self.defer(APPEND_AUDIT, {"today": today, "action": action, "subject": body, "prev": prev, "hash": digest})
        learnt.head = digest
        return digest

    def on_sqlite(self) -> bool:
        if self._dbapi is None:  # nothing run yet: ask the connection (and begin the transaction)
            self._driver()
        return self._sqlite


class Units(Protocol):
    """Anything that hands out units of work: storage.unit_of_work.Store, or SqlStore."""

    def unit(self) -> AbstractContextManager[SqlUnit]: ...


class SqlStore:
    """Hands out SqlUnits on an engine: each commits when its block ends normally, and rolls back on any exception."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def unit(self) -> Iterator[SqlUnit]:
        try:
            with self.engine.connect() as connection, connection.begin():
                yield SqlUnit(connection)
        except OperationalError as exc:
            raise database_error(str(self.engine.url), exc) from None
