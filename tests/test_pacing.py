"""The pacer keeps every chat to one message a second and all chats to the overall limit, however sends arrive."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.pacing import Pacer


class Tick:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_message_a_second_per_chat_and_debt_accumulates() -> None:
    clock = Tick()
    pacer = Pacer(overall=30, per_chat=1, clock=clock)
    assert [pacer.reserve("a") for _ in range(3)] == [0.0, 1.0, 2.0]
    assert 0 < pacer.reserve("b") < 0.2  # another chat waits only for the overall spacing
    assert 0 < pacer.reserve(None) < 0.2  # an edit: overall spacing only
    clock.now += 10
    assert pacer.reserve("a") == 0.0


@given(st.lists(st.tuples(st.sampled_from("abcdefghij"), st.floats(0, 0.2)), min_size=1, max_size=120))
def test_scheduled_sends_never_break_the_limits(sends: list[tuple[str, float]]) -> None:
    clock = Tick()
    pacer = Pacer(overall=5, per_chat=1, clock=clock)
    scheduled: list[tuple[str, float]] = []
    for chat, gap in sends:
        clock.now += gap
        scheduled.append((chat, clock.now + pacer.reserve(chat if chat != "j" else None)))
    for chat in "abcdefghi":
        times = sorted(t for c, t in scheduled if c == chat)
        assert all(later - earlier >= 1 - 1e-9 for earlier, later in itertools.pairwise(times))
    everything = sorted(t for _, t in scheduled)
    for i, start in enumerate(everything):
        assert sum(1 for t in everything[i:] if t < start + 1 - 1e-9) <= 5


@given(st.lists(st.floats(0, 3), min_size=1, max_size=60), st.sampled_from([0.8, 0.5, 50 / 60]))
def test_a_rate_under_one_a_second_is_kept_too(gaps: list[float], overall: float) -> None:
    """conversations.open (Tier 3) is paced at under one a second: no two calls closer than 1/overall seconds."""
    clock = Tick()
    pacer = Pacer(overall=overall, clock=clock)
    scheduled = []
    for gap in gaps:
        clock.now += gap
        scheduled.append(clock.now + pacer.reserve(None))
    assert all(later - earlier >= 1 / overall - 1e-9 for earlier, later in itertools.pairwise(sorted(scheduled)))
