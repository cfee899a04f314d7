"""Two processes behind a balancer can deadlock on PostgreSQL: each holds the claim of one platform update and wants
the other's (a batch of survey steps claims several, and a duplicated update reaches both). PostgreSQL undoes one of
the two transactions; that must read as Conflict, which every unit retries from fresh state, never as a database
failure that ends in an apology to the person (the scale-out test met exactly that on a loaded CI machine)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

import pytest
from sqlalchemy import text

from storage import conversations
from storage.database import connect, upgrade
from storage.sql import Conflict
from storage.unit_of_work import BatchSpoilt, Store

from .conftest import Clock, drop_postgres, postgres_url

TODAY = Clock().now.date()  # the injected clock's day


@pytest.fixture
def pg_stores() -> Iterator[tuple[Store, Store]]:
    """Two stores on one PostgreSQL database, as two processes have."""
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL server reachable: a deadlock needs two PostgreSQL transactions")
    engines = [connect(url), connect(url)]
    try:
        upgrade(engines[0])
        yield Store(engines[0]), Store(engines[1])
    finally:
        for engine in engines:
            engine.dispose()
        drop_postgres(url)


def crossed(store: Store, first: str, second: str, met: threading.Barrier,
            opening: Callable[[Store], AbstractContextManager[object]]) -> str:
    """Claim `first`, wait for the other side to claim its own, then claim `second`: one of the two must lose."""
    try:
        with opening(store), store.unit() as uow:
            assert conversations.claim_event(uow, first, TODAY)
            met.wait(10)
            conversations.claim_event(uow, second, TODAY)
    except (Conflict, BatchSpoilt) as exc:
        cause = exc.__cause__ if isinstance(exc, BatchSpoilt) else exc
        return type(cause).__name__
    return "committed"


class _Alone(AbstractContextManager[object]):
    def __exit__(self, *_: object) -> None:
        return None


@pytest.mark.parametrize("opening", [lambda store: _Alone(), Store.batch], ids=["unit", "batch"])
def test_a_deadlock_between_processes_is_a_conflict_to_retry(
        pg_stores: tuple[Store, Store], opening: Callable[[Store], AbstractContextManager[object]]) -> None:
    left, right = pg_stores
    met = threading.Barrier(2)
    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(crossed, left, "update-1", "update-2", met, opening)
        other = pool.submit(crossed, right, "update-2", "update-1", met, opening)
        outcomes = sorted([one.result(timeout=30), other.result(timeout=30)])
    assert outcomes == ["Conflict", "committed"]
    # the loser's claim was undone with its transaction: only the winner's two claims are stored
    with left.unit() as uow:
        assert uow.session.execute(text("SELECT count(*) FROM processed_event")).scalar_one() == 2
