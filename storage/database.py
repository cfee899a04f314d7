"""Connecting to the database and keeping its schema current.

SQLite is the embedded default (a file in the local data folder, WAL, a busy timeout so a second writer waits rather
than fails); PostgreSQL through a `postgresql+psycopg://` URL, with psycopg from the optional `postgresql` extra (a
default install, for SQLite, does not carry it). Migrations are Alembic's, configured here in code so
no alembic.ini has to be found at run time.
"""

from __future__ import annotations

import select
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, SQLAlchemyError

from storage.files import create_owner_only

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision. Every command starts by making sure the schema is current; when the database already
# says it is at HEAD, that costs one query instead of loading Alembic and every migration script. A test keeps this
# equal to Alembic's own head, so a new migration cannot be forgotten here.
HEAD = "0008_team_ref"
MIGRATION_LOCK = 0x5355_524D  # "SURM": processes starting together on PostgreSQL migrate one at a time
# A PostgreSQL connection back from the pool is pinged (a round trip) only when it sat idle longer than this, or when
# its socket says the server has spoken or hung up meanwhile (see _check_out).
IDLE_PING_SECONDS = 10.0


class DatabaseError(Exception):
    """The database cannot be reached, opened or written; the message says which and why, without secrets."""


def normalise_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def describe(url: str) -> str:
    """The URL as it may be shown: never with its password."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def connect(url: str) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError("DATABASE_URL is not a database URL (e.g. sqlite:///data/surveybot.db)") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).expanduser().resolve().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the data folder {folder}: {exc.strerror}") from None
            _create_database_file(Path(database).expanduser())
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        # hide_parameters: an error's text never carries the values of a statement (answers, keys) into a log
        engine = create_engine(url, pool_size=10, max_overflow=10, hide_parameters=True,
                               connect_args={"connect_timeout": 10})
    except ImportError as exc:
        if parsed.get_backend_name() == "postgresql" and (exc.name or "").startswith("psycopg"):
            raise DatabaseError(f"DATABASE_URL {describe(url)} needs psycopg, which is not installed: "
                                f"pip install 'surveybot[postgresql]'") from None
        raise DatabaseError(f"cannot use {describe(url)}: {exc}") from None
    except ArgumentError as exc:
        raise DatabaseError(f"cannot use {describe(url)}: {exc}") from None
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _check_out(engine))
    return engine


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _check_out(engine: Engine) -> Any:
    """A connection is checked before use, as SQLAlchemy's pool_pre_ping would, but without its round trip on every
    transaction (a fifth of an answer's on PostgreSQL; BENCHMARKS.md, "6 December, night: the answer path on
    PostgreSQL"). A connection the server dropped while it sat in the pool (a restart, pg_terminate_backend, an idle
    timeout) has its socket readable: the server's last word and the hang-up are waiting there. Only then, or after
    IDLE_PING_SECONDS idle (a network that failed silently says nothing), is it pinged; a failed ping makes the pool
    replace it (DisconnectionError)."""

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < IDLE_PING_SECONDS and not _has_news(dbapi_connection):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception:
            alive = False
        if not alive:
            raise DisconnectionError("the database connection was closed")

    return check


def _has_news(dbapi_connection: Any) -> bool:
    """Whether an idle connection has anything to read (it should have nothing) or is known to be closed: no round
    trip, one poll of its socket."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    try:
        watch = select.poll()
        watch.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(watch.poll(0))
    except (OSError, ValueError):
        return True


def _create_database_file(path: Path) -> None:
    """A new database file is made readable by its owner only, whatever the umask; SQLite then gives its -wal and
    -shm files the same mode. An existing file is left as the operator set it."""
    try:
        create_owner_only(path, exclusive=True)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseError(f"cannot create the database file {path}: {exc.strerror}") from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # destroyed keys and erased answers are overwritten, not left behind
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to date; safe to run on every start, and from several processes at once (on PostgreSQL
    they take turns on an advisory lock, and the later ones find nothing left to do)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            if revision == "head" and current_revision(connection) == HEAD:
                return
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()
            try:
                from alembic import command

                command.upgrade(alembic_config(engine), revision)
            finally:
                if postgres:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                    connection.commit()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot open or update the database {describe(str(engine.url))}: "
                            f"{_first_line(exc)}") from None


def current_revision(connection: Connection) -> str | None:
    """The revision the database says it is at, or None for a new database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    try:
        command.downgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot downgrade {describe(str(engine.url))}: {_first_line(exc)}") from None


def revisions(engine: Engine) -> tuple[str | None, str]:
    """(the database's migration revision, or None when it has none; the newest revision this code knows)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read the schema version of {describe(str(engine.url))}: "
                            f"{_first_line(exc)}") from None
    return current, head or ""


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query (for /healthz)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False


def tables(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


def _first_line(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
