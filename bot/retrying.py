"""The one way we try something again a bounded number of times: a unit of work that collided with another writer
(storage.sql.Conflict), or a platform call that was asked to slow down (bot.domain.errors.RateLimited).

Callers give the number of attempts and a wait rule; the last attempt's error is theirs, so giving up is always
explicit. Two rules cover our cases: a random, growing pause that desynchronises writers that collided, and the pause
a platform asks for (its retry_after), capped so a bad header never stalls a sender for long.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
Wait = Callable[[int, Exception], float]  # (attempt that failed, from 0; its error) -> seconds before the next
Errors = type[Exception] | tuple[type[Exception], ...]


def jittered(base: float = 0.01) -> Wait:
    """A random pause up to base * 2**attempt: writers that collided retry at different moments."""
    return lambda attempt, error: random.uniform(0, base * 2**attempt)


def as_asked(cap: float, otherwise: float = 1.0) -> Wait:
    """The pause the platform asked for (an error's `retry_after`), at most `cap`; `otherwise` when it named none."""

    def wait(attempt: int, error: Exception) -> float:
        asked = getattr(error, "retry_after", None)
        return min(float(asked), cap) if isinstance(asked, int | float) else otherwise

    return wait


def retry(work: Callable[[], T], attempts: int, wait: Wait, on: Errors,
          sleep: Callable[[float], None] = time.sleep) -> T:
    """`work()`, run again after `wait` each time it raises `on`, at most `attempts` times in all; the last
    attempt's error is raised. For work on a thread (a unit of work); use `retry_async` on the event loop."""
    if attempts < 1:
        raise ValueError("retry needs at least one attempt")
    for attempt in range(attempts - 1):
        try:
            return work()
        except on as error:
            sleep(wait(attempt, error))
    return work()


async def retry_async(work: Callable[[], Awaitable[T]], attempts: int, wait: Wait, on: Errors,
                      sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> T:
    """`retry` for a coroutine (a platform call): `work` is called afresh for each attempt."""
    if attempts < 1:
        raise ValueError("retry needs at least one attempt")
    for attempt in range(attempts - 1):
        try:
            return await work()
        except on as error:
            await sleep(wait(attempt, error))
    return await work()
