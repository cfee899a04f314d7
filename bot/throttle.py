"""Rate limits shared by every page the bot serves (the web chat, an email's personal links, the console's sign-in):
a token bucket per key, and the client a request is charged to.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.bounded import BoundedMap

KEPT = 50_000  # keys (people, clients) whose buckets are remembered; the longest idle are forgotten first


@dataclass
class Buckets:
    """One token bucket per key, forgetting the longest-idle keys beyond `kept`."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    kept: int = KEPT
    _levels: BoundedMap[str, tuple[float, float]] = field(init=False)

    def __post_init__(self) -> None:
        self._levels = BoundedMap(self.kept)

    def take(self, key: str) -> float:
        """Take one token: 0 when there was one, else the seconds until there will be."""
        now = self.clock()
        self._levels.drop_oldest_while(lambda kept: kept[0] + (now - kept[1]) * self.rate >= self.burst)  # full again
        level, since = self._levels.get(key) or (self.burst, now)
        level = min(self.burst, level + (now - since) * self.rate)
        wait = 0.0
        if level >= 1:
            level -= 1
        else:
            wait = (1 - level) / self.rate
        self._levels.put(key, (level, now))
        return wait


def client_of(remote: str | None, forwarded: str | None = None) -> str:
    """The client a request's rate limit is charged to: the address that connected, or, behind a trusted proxy
    (pass its X-Forwarded-For only then), the address the proxy saw, which it added last. Earlier entries are
    whatever the client claimed, so they are never used. An IPv6 client counts by its /64, which one household
    or phone holds whole. Anything unreadable falls back to the connecting address."""
    for text in (forwarded.rsplit(",", 1)[-1] if forwarded else None, remote):
        try:
            address = ipaddress.ip_address((text or "").strip())
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.IPv6Network((address, 64), strict=False))
        return str(address)
    return "unknown"
