"""The service's database thread(s), and group commit: survey steps that arrive together share one transaction.

Every use case runs off the event loop, on a thread shared by every channel (`DatabaseThread.run`). A use case marked
`@joins_group_commit` (a survey step) runs with whatever other steps are waiting, in one transaction (Store.batch):
on SQLite that is one commit for everyone who answered meanwhile, and on PostgreSQL one turn on the audit chain's
lock. The choice is explicit, on the use case itself; everything else commits alone. A step whose claim is known
before it runs (`claims_ahead`: its event key and the conversation it reads) has it made, on PostgreSQL, with the
other steps' claims in one statement at the batch's start (storage.conversations.claim_all).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from storage import conversations
from storage.conversations import Claim
from storage.database import DatabaseError
from storage.sql import Conflict
from storage.unit_of_work import BATCH_LIMIT, BatchSpoilt, Store

POSTGRES_THREADS = 4
T = TypeVar("T")
U = TypeVar("U", bound=Callable[..., Any])

Settled = tuple[asyncio.Future[Any], Any, BaseException | None]  # a step's caller, and its result or error


def joins_group_commit(use_case: U) -> U:
    """Mark a use case as a survey step: DatabaseThread.run runs it with the other steps waiting, in one commit
    (Store.batch). Only short steps whose caller waits for the commit belong here; everything else commits alone."""
    use_case.group_commit = True  # type: ignore[attr-defined]
    return use_case


def claims_ahead(claim: Callable[..., Claim | None]) -> Callable[[U], U]:
    """Say how to know a survey step's claim before it runs: `claim` takes the use case's own arguments (`self`
    first) and returns the Claim its unit will make, or None. In a batch of several such steps on PostgreSQL, their
    claims are made together in one statement at the batch's start, each step's unit then finding its own ready
    (a round trip a step fewer); the step itself is unchanged."""

    def mark(use_case: U) -> U:
        use_case.claim_ahead = claim  # type: ignore[attr-defined]
        return use_case

    return mark


def _alone(job: Callable[[], Any], future: asyncio.Future[Any]) -> Settled:
    """A step run in a transaction of its own (retried on Conflict like any unit), after its batch was spoilt."""
    try:
        return future, job(), None
    except Exception as exc:
        return future, None, exc


def _settle(done: list[Settled]) -> None:
    """Hand each caller of a committed batch its result (on the event loop; a caller may have gone meanwhile)."""
    for future, result, error in done:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class DatabaseThread:
    """The thread(s) every use case runs on, shared by every channel, and the batch of survey steps waiting.

    SQLite has one writer, so one thread (no contention, fewer GIL hand-offs). PostgreSQL runs transactions side by
    side, so a few threads overlap their round trips; only the audit append is taken in turn."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._executor: ThreadPoolExecutor | None = None  # started by the first `run`
        # steps waiting for a group commit, each with how to know its claim ahead (claims_ahead), if it can
        self._batch: list[tuple[Callable[[], Any], asyncio.Future[Any], Callable[[], Claim | None] | None]] = []
        self._batch_lock = threading.Lock()  # guards _batch and _draining between the event loop and the thread
        self._draining = False

    @property
    def started(self) -> bool:
        return self._executor is not None

    async def run(self, use_case: Callable[..., T], *args: Any) -> T:
        """Run a use case from the event loop on the database thread(s): a survey step (joins_group_commit) with
        the others waiting, committed together; anything else on its own."""
        if self._executor is None:
            threads = 1 if self.store.engine.dialect.name == "sqlite" else POSTGRES_THREADS
            self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="surveybot-database")
        loop = asyncio.get_running_loop()
        if getattr(use_case, "group_commit", False):
            claim = getattr(use_case, "claim_ahead", None)
            owner = getattr(use_case, "__self__", None)  # the service, when the use case is its bound method
            ahead = partial(claim, owner, *args) if claim is not None and owner is not None else None
            return await self._grouped(loop, partial(use_case, *args), ahead)
        return await loop.run_in_executor(self._executor, partial(use_case, *args))

    def submit(self, job: Callable[[], Any]) -> None:
        """Queue work on the thread (behind any other), without waiting for it. RuntimeError once closing."""
        assert self._executor is not None
        self._executor.submit(job)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _grouped(self, loop: asyncio.AbstractEventLoop, job: Callable[[], T],
                       ahead: Callable[[], Claim | None] | None = None) -> T:
        """Run a survey step with whatever other steps are waiting, committed together (Store.batch): on SQLite,
        one commit for the answers of everyone who answered meanwhile. The caller hears back only once the batch is
        committed, so nothing is acknowledged before it is stored."""
        future: asyncio.Future[T] = loop.create_future()
        with self._batch_lock:
            self._batch.append((job, future, ahead))
            start, self._draining = not self._draining, True
        if start:
            assert self._executor is not None
            self._executor.submit(self._drain, loop)
        return await future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the database thread: commit one batch of the steps waiting, then queue again behind any other work
        handed to the thread meanwhile (on SQLite there is one thread, and a steady stream of answers must not keep
        an erase or an admin command waiting)."""
        with self._batch_lock:
            jobs, self._batch = self._batch[:BATCH_LIMIT], self._batch[BATCH_LIMIT:]
        done: list[Settled] = []
        try:
            with self.store.batch():
                try:
                    self._claim_ahead(jobs)
                    done = [(future, job(), None) for job, future, _ in jobs]
                except Exception as exc:  # whatever the step had written shares the batch's transaction
                    raise BatchSpoilt() from exc
        except (BatchSpoilt, Conflict):  # a step failed and took the batch with it, or PostgreSQL undid the batch
            # to break a deadlock with another process: each step again, on its own (retried on Conflict)
            done = [_alone(job, future) for job, future, _ in jobs]
        except Exception as exc:  # the commit failed: nothing of this batch was stored
            done = [(future, None, exc) for _, future, _ in jobs]
        finally:
            with self._batch_lock:
                again = self._draining = bool(self._batch)
            if again:
                assert self._executor is not None
                try:
                    self._executor.submit(self._drain, loop)
                except RuntimeError:  # the service is closing: those still waiting hear so
                    with self._batch_lock:
                        left, self._batch, self._draining = self._batch, [], False
                    done += [(future, None, DatabaseError("the service is shutting down")) for _, future, _ in left]
        loop.call_soon_threadsafe(_settle, done)

    def _claim_ahead(self, jobs: list[tuple[Callable[[], Any], asyncio.Future[Any], Any]]) -> None:
        """On PostgreSQL, the claims of the batch's steps that know theirs, in one statement (claims_ahead). SQLite
        claims in this process at no round trip's cost, and one step alone gains nothing."""
        if len(jobs) < 2 or self.store.engine.dialect.name == "sqlite":
            return
        claims = [claim for _, _, ahead in jobs if ahead is not None and (claim := ahead()) is not None]
        if len(claims) > 1:
            with self.store.unit() as uow:  # inside the batch: its transaction
                conversations.claim_all(uow, claims)
