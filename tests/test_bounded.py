"""bot.bounded.BoundedMap: the one LRU map the channels keep per-person state in."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.bounded import BoundedMap

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
