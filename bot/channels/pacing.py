"""Keeping within a platform's sending limits: at most `overall` messages a second, and `per_chat` a second per chat.

Telegram allows about 30 messages a second overall and 1 a second per chat; Slack about 1 a second per channel, and
some of its methods far fewer (conversations.open, Tier 3: about 50 a minute, so `overall` below 1).
Short bursts are tolerated by the platforms but not promised, so sends are spaced: each is booked at the first moment
that is a second after its chat's previous send and 1/overall s away from every other booked send. When one
answer produces two messages (an explanation, then the next question), the second follows a second later.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.bounded import BoundedMap


@dataclass
class Pacer:
    overall: float = 30.0
    per_chat: float = 1.0
    clock: Callable[[], float] = time.monotonic
    max_chats: int = 50_000
    _booked: list[float] = field(default_factory=list, init=False)
    _next_chat: BoundedMap[str, float] = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        self._next_chat = BoundedMap(self.max_chats)  # the chats quiet for longest are forgotten

    def reserve(self, chat: str | None) -> float:
        """Book the earliest slot free for `chat` (one a second) and overall (1/overall s from any other send), and
        return how long to wait for it. `chat=None` (an edit, a button answer) counts only against the overall limit.
        A busy chat never holds up the others: slots between its sends are given to other chats."""
        now = self.clock()
        gap = 1.0 / self.overall
        del self._booked[:bisect.bisect_left(self._booked, now - max(1.0, gap))]  # older ones can bar no new slot
        self._next_chat.drop_oldest_while(lambda next_send: next_send <= now)  # chats free to send again
        at = now if chat is None else max(now, self._next_chat.get(chat, now))
        index = bisect.bisect_left(self._booked, at - gap)
        while index < len(self._booked) and self._booked[index] < at + gap:
            at = self._booked[index] + gap
            index += 1
        bisect.insort(self._booked, at)
        if chat is not None:
            self._next_chat.put(chat, at + 1.0 / self.per_chat)
        return at - now

    async def wait(self, chat: str | None) -> None:
        async with self._lock:
            delay = self.reserve(chat)
        if delay > 0:
            await asyncio.sleep(delay)
