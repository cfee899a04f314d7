"""Sign-in links and sessions of the web console (bot.services.console_access): functions over an open UnitOfWork.

A row holds a keyed hash of a token, never the token, so a database dump cannot be used to sign in. A `link` is
taken (deleted) by its first use, whether or not it is still fresh, so it can never be used twice, even by two
processes at once: only one of them deletes the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlmodel import col

from storage.models import ConsolePass
from storage.unit_of_work import UnitOfWork

LINK, SESSION = "link", "session"


def add(uow: UnitOfWork, digest: str, kind: str, lookup: str, sealed: str, now: datetime) -> None:
    uow.session.add(ConsolePass(digest=digest, kind=kind, lookup=lookup, address=sealed, made_at=now, seen_at=now))


def take(uow: UnitOfWork, digest: str, kind: str) -> ConsolePass | None:
    """Delete the pass and hand back what it was: a second taker (another request, another process) finds nothing."""
    found = uow.session.execute(
        delete(ConsolePass).where(col(ConsolePass.digest) == digest, col(ConsolePass.kind) == kind)
        .returning(col(ConsolePass.lookup), col(ConsolePass.address), col(ConsolePass.made_at),
                   col(ConsolePass.seen_at))).first()
    if found is None:
        return None
    lookup, address, made_at, seen_at = found
    return ConsolePass(digest=digest, kind=kind, lookup=lookup, address=address, made_at=made_at, seen_at=seen_at)


def find(uow: UnitOfWork, digest: str, kind: str) -> ConsolePass | None:
    found = uow.session.get(ConsolePass, digest)
    return found if found is not None and found.kind == kind else None


def touch(uow: UnitOfWork, digest: str, now: datetime) -> None:
    uow.session.execute(update(ConsolePass).where(col(ConsolePass.digest) == digest).values(seen_at=now))


def made_since(uow: UnitOfWork, lookup: str, kind: str, since: datetime) -> int:
    """How many passes of a kind this person was given since a moment (the sign-in links' rate limit)."""
    return int(uow.session.execute(select(func.count()).select_from(ConsolePass).where(
        col(ConsolePass.lookup) == lookup, col(ConsolePass.kind) == kind,
        col(ConsolePass.made_at) >= since)).scalar_one())


def purge(uow: UnitOfWork, links_before: datetime, sessions_idle_before: datetime) -> int:
    """Forget links no longer usable and sessions idle too long; returns how many went."""
    gone = uow.session.execute(delete(ConsolePass).where(
        ((col(ConsolePass.kind) == LINK) & (col(ConsolePass.made_at) < links_before))
        | ((col(ConsolePass.kind) == SESSION) & (col(ConsolePass.seen_at) < sessions_idle_before))))
    return int(gone.rowcount)  # type: ignore[attr-defined]


def end_all(uow: UnitOfWork, lookup: str) -> int:
    """Every pass of one person (their role was taken away, or they signed out everywhere)."""
    gone = uow.session.execute(delete(ConsolePass).where(col(ConsolePass.lookup) == lookup))
    return int(gone.rowcount)  # type: ignore[attr-defined]
