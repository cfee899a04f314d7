"""A small least-recently-used map, so what the Slack channel remembers in memory stays bounded.

On its own so it is easy to replace with the project's one shared bounded map (issue 20: bot.bounded.BoundedMap)
once that lands; nothing else in the channel depends on it being an OrderedDict.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(OrderedDict[K, V]):
    """A map that forgets its least recently used entries beyond `limit`, so memory stays bounded."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > self.limit:
            self.popitem(last=False)
        return value
