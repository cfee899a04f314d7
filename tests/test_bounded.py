"""bot.bounded: the one LRU map the channels keep per-person state in, and the locks kept only while in use."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.bounded import BoundedMap, KeyedLocks
from bot.channels.email.links import Misses
from bot.channels.pacing import Pacer
from bot.throttle import Buckets

# A run of operations: ("put", key) or ("get", key), keys from a small alphabet so that they repeat.
OPERATIONS = st.lists(st.tuples(st.sampled_from(["put", "get", "make"]), st.integers(0, 12)), max_size=80)


@given(st.integers(1, 6), OPERATIONS)
def test_it_is_never_over_its_cap_and_keeps_the_most_recently_used(cap: int, operations: list[tuple[str, int]]) -> None:
    kept: BoundedMap[int, str] = BoundedMap(cap)
    recent: list[int] = []  # the model: keys from least to most recently used, unbounded
    for what, key in operations:
        if what == "put":
            kept.put(key, f"v{key}")
        elif what == "make":
            assert kept.get_or_make(key, lambda key=key: f"v{key}") == f"v{key}"  # type: ignore[misc]
        elif kept.get(key) is None:
            assert key not in recent[-cap:]  # only what fell off the end is ever missing
            continue
        if key in recent:
            recent.remove(key)
        recent.append(key)
        recent = recent[-cap:]  # what the map may have forgotten, the model forgets too
        assert len(kept) <= cap
        assert list(kept) == recent


def test_a_value_in_use_is_never_forgotten_nor_the_one_just_touched() -> None:
    async def run() -> None:
        locks: BoundedMap[str, asyncio.Lock] = BoundedMap(2, in_use=asyncio.Lock.locked)
        held = locks.get_or_make("a", asyncio.Lock)
        await held.acquire()
        locks.get_or_make("b", asyncio.Lock)
        locks.get_or_make("c", asyncio.Lock)  # over the cap: "b" goes, the held "a" stays
        assert list(locks) == ["a", "c"]
        await locks.get_or_make("c", asyncio.Lock).acquire()
        fresh = locks.get_or_make("d", asyncio.Lock)  # everything older is held: over the cap rather than lose one
        assert list(locks) == ["a", "c", "d"] and locks.get("d") is fresh
        held.release()
        locks.get_or_make("e", asyncio.Lock)  # "a" is free now, so it goes (and "d" too, to get back to the cap)
        assert list(locks) == ["c", "e"]

    asyncio.run(run())


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedMap(0)


@given(st.lists(st.integers(0, 100), max_size=60), st.integers(0, 100))
def test_drop_oldest_while_forgets_the_stale_old_end_and_stops_at_the_first_that_matters(values: list[int],
                                                                                          line: int) -> None:
    kept: BoundedMap[int, int] = BoundedMap(1000)
    for key, value in enumerate(values):
        kept.put(key, value)
    kept.drop_oldest_while(lambda value: value < line)
    first_kept = next((i for i, value in enumerate(values) if value >= line), len(values))
    assert list(kept) == list(range(first_kept, len(values)))
    assert kept.pop(first_kept) == (values[first_kept] if first_kept < len(values) else None)


def test_keyed_locks_run_one_at_a_time_per_key_and_keep_nothing_once_nobody_holds_them() -> None:
    async def run() -> None:
        locks: KeyedLocks[str] = KeyedLocks()
        timeline: list[str] = []

        async def act(key: str, name: str) -> None:
            async with locks.hold(key):
                timeline.append(f"in {name}")
                await asyncio.sleep(0.01)
                timeline.append(f"out {name}")

        first = asyncio.create_task(act("sam", "first"))
        await asyncio.sleep(0)
        assert "sam" in locks and len(locks) == 1
        await asyncio.gather(first, act("sam", "second"), act("alex", "other"))
        mine = [step for step in timeline if not step.endswith("other")]
        assert mine == ["in first", "out first", "in second", "out second"]
        assert timeline.index("in other") < timeline.index("out first")  # another key is never held up
        assert len(locks) == 0 and "sam" not in locks  # memory follows who is acting, not who came by

        with pytest.raises(RuntimeError):  # a failure inside still lets the lock go
            async with locks.hold("sam"):
                raise RuntimeError("boom")
        assert len(locks) == 0

    asyncio.run(run())


def test_rate_limits_and_send_slots_forget_what_no_longer_matters() -> None:
    """A full bucket, a send slot in the past and a client whose misses are all forgiven say nothing, so none is
    kept: a stream of new people leaves the maps at the size of those active in the last moments."""
    now = [0.0]
    buckets = Buckets(rate=2.0, burst=4.0, clock=lambda: now[0])
    pacer = Pacer(overall=100, per_chat=1, clock=lambda: now[0])
    misses = Misses(allowed=5, forgiven=1.0, clock=lambda: now[0])
    for person in range(1000):
        now[0] += 0.1
        assert buckets.take(f"person-{person}") == 0.0
        pacer.reserve(f"chat-{person}")
        misses.missed(f"client-{person}")
    assert len(buckets._levels) <= 6  # refilled after 0.5 s: five people back at most
    assert len(pacer._next_chat) <= 11  # free to send again after a second
    assert len(misses._counts) <= 11  # forgiven after a second
    assert buckets.take("person-999") == 0.0 and buckets.take("person-999") == 0.0  # the recent still count
    assert pacer.reserve("chat-999") > 0
    assert misses.blocked("client-999") == 0.0
