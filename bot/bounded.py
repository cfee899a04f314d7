"""A map that keeps only its most recently used entries, so per-person state in a long-running process stays bounded.

Channels remember small things per person or chat (rate-limit levels, a lock, when the next send may go); a process
that runs for months meets millions of them. Forgetting the least recently used beyond a cap keeps memory flat, and
what is forgotten is only ever a courtesy (a fresh bucket, a fresh lock), never something stored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
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

    def _forget(self) -> None:
        """Drop the least recent entries beyond the cap, skipping those in use; never the one just touched."""
        excess = len(self._items) - self.cap
        if excess <= 0:
            return
        older = islice(self._items.items(), len(self._items) - 1)
        forgettable = (key for key, value in older if self.in_use is None or not self.in_use(value))
        for key in list(islice(forgettable, excess)):
            del self._items[key]
