"""bot.retrying: bounded retries with an explicit wait rule, the platform's retry_after honoured."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import RateLimited, Unreachable
from bot.retrying import as_asked, jittered, retry, retry_async
from storage.sql import Conflict


class Flaky:
    """Raises `error` for its first `failures` calls, then answers "done"; counts the calls."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


@given(st.integers(1, 8), st.integers(0, 10))
def test_it_tries_at_most_the_attempts_given_and_then_the_last_error_is_the_callers(attempts: int,
                                                                                    failures: int) -> None:
    work, waited = Flaky(failures, Conflict()), []
    if failures < attempts:
        assert retry(work, attempts, lambda attempt, error: attempt, on=Conflict, sleep=waited.append) == "done"
    else:
        with pytest.raises(Conflict):
            retry(work, attempts, lambda attempt, error: attempt, on=Conflict, sleep=waited.append)
    assert work.calls == min(failures + 1, attempts)
    assert waited == list(range(work.calls - 1))  # a wait between attempts, none after the last


def test_an_error_it_was_not_asked_to_retry_goes_straight_to_the_caller() -> None:
    work, waited = Flaky(1, Unreachable("blocked")), []
    with pytest.raises(Unreachable):
        retry(work, 5, jittered(), on=Conflict, sleep=waited.append)
    assert work.calls == 1 and waited == []


@given(st.integers(0, 12), st.floats(0.001, 1.0))
def test_jittered_waits_grow_but_stay_within_their_bound(attempt: int, base: float) -> None:
    assert 0 <= jittered(base)(attempt, Conflict()) <= base * 2**attempt


def test_a_platforms_retry_after_is_waited_for_capped_and_a_default_when_it_named_none() -> None:
    wait = as_asked(cap=60.0, otherwise=1.0)
    assert wait(0, RateLimited(3.5)) == 3.5
    assert wait(0, RateLimited(3600)) == 60.0
    assert wait(0, ConnectionError()) == 1.0


def test_a_coroutine_is_retried_as_the_platform_asks() -> None:
    asked = iter([2.0, 90.0])
    calls, waited = 0, []

    async def send() -> str:
        nonlocal calls
        calls += 1
        retry_after = next(asked, None)
        if retry_after is not None:
            raise RateLimited(retry_after)
        return "sent"

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    assert asyncio.run(retry_async(send, 3, as_asked(cap=60.0), on=RateLimited, sleep=sleep)) == "sent"
    assert calls == 3 and waited == [2.0, 60.0]
    asked, calls = iter([1.0, 1.0, 1.0]), 0
    with pytest.raises(RateLimited):
        asyncio.run(retry_async(send, 3, as_asked(cap=60.0), on=RateLimited, sleep=sleep))
    assert calls == 3


def test_no_attempts_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        retry(lambda: None, 0, jittered(), on=Conflict)
