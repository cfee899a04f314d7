"""A map that keeps only its most recently used entries, so per-person state in a long-running process stays bounded.

Channels remember small things per person or chat (rate-limit levels, a lock, when the next send may go); a process
that runs for months meets millions of them. Forgetting the least recently used beyond a cap keeps memory flat, and
what is forgotten is only ever a courtesy (a fresh bucket, a fresh lock), never something stored.

A cap alone still lets memory grow until the cap is reached, which at a few hundred new people a minute takes an hour
or more. So what no longer says anything is dropped as soon as it stops mattering: `drop_oldest_while` forgets the
least recent entries that are stale (a full rate-limit bucket, a send slot in the past), and `KeyedLocks` keeps a
person's lock only while someone holds it or waits for it. Memory then follows how many people are active, not how
many have come by.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextlib import asynccontextmanager
from itertools import islice
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")


class BoundedMap(Generic[K, V]):
    """An LRU map holding at most `cap` entries. Reading or writing an entry makes it the most recent.

    `in_use`, when given, marks values that must not be forgotten yet (a lock someone holds): they are skipped, and
    the map may then hold more than `cap` until they are free."""

    def __init__(self, cap: int, in_use: Callable[[V], bool] | None = None) -> None:
        if cap < 1:
            raise ValueError("a bounded map needs room for at least one entry")
        self.cap = cap
        self.in_use = in_use
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        """Keys from the least to the most recently used."""
        return iter(self._items)

    def get(self, key: K, default: D = None) -> V | D:  # type: ignore[assignment]
        """The value for `key` (now the most recent), or `default`."""
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: K, value: V) -> None:
        """Set `key` as the most recent entry, forgetting the least recent beyond the cap."""
        self._items[key] = value
        self._items.move_to_end(key)
        self._forget()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value for `key`, made (and kept) when there is none; either way now the most recent."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = make()
        self.put(key, value)
        return value

    def pop(self, key: K) -> V | None:
        """Forget `key` (its value, or None when there was none)."""
        return self._items.pop(key, None)

    def drop_oldest_while(self, stale: Callable[[V], bool]) -> None:
        """Forget the least recently used entries for as long as they are `stale`; stop at the first that is not.
        Entries are touched in time order, so the stale ones gather at the old end: called on each use, this keeps
        only what still matters, at a cost of one look at the oldest entry when nothing is stale."""
        while self._items:
            key, value = next(iter(self._items.items()))
            if not stale(value):
                return
            del self._items[key]

    def _forget(self) -> None:
        """Drop the least recent entries beyond the cap, skipping those in use; never the one just touched."""
        excess = len(self._items) - self.cap
        if excess <= 0:
            return
        older = islice(self._items.items(), len(self._items) - 1)
        forgettable = (key for key, value in older if self.in_use is None or not self.in_use(value))
        for key in list(islice(forgettable, excess)):
            del self._items[key]


H = TypeVar("H", bound=Hashable)


class KeyedLocks(Generic[H]):
    """One asyncio.Lock per key (a person, a chat), kept only while someone holds it or waits for it: so it needs no
    cap, and memory follows the people acting at this moment. `async with locks.hold(key):`."""

    def __init__(self) -> None:
        self._locks: dict[H, tuple[asyncio.Lock, int]] = {}  # the lock, and how many hold it or wait for it

    def __len__(self) -> int:
        return len(self._locks)

    def __contains__(self, key: object) -> bool:
        return key in self._locks

    @asynccontextmanager
    async def hold(self, key: H) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users > 1:
                self._locks[key] = (lock, users - 1)
            else:
                del self._locks[key]
