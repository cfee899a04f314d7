"""Campaign rules, pure: waves, invitations, reminders, quiet hours, closing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.campaigns import (
    Rules,
    add_months,
    current_wave,
    due_steps,
    next_steps,
    out_of_quiet_hours,
    steps,
    window,
)

UK = ZoneInfo("Europe/London")


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UK)


RULES = Rules(at("2026-03-02 09:00"), at("2026-03-23 17:00"), reminders=(3, 7), max_reminders=2, every_months=12)


def test_a_wave_invites_at_opening_reminds_after_days_and_closes() -> None:
    assert [(s.name, s.due) for s in steps(RULES, 1)] == [
        ("invite", at("2026-03-02 09:00")), ("remind-1", at("2026-03-05 09:00")),
        ("remind-2", at("2026-03-09 09:00")), ("close", at("2026-03-23 17:00"))]


def test_quiet_hours_move_sends_to_the_morning_and_nothing_is_sent_after_closing() -> None:
    evening = Rules(at("2026-03-02 21:30"), at("2026-03-06 07:00"), reminders=(1, 3))
    planned = [(s.name, s.due) for s in steps(evening, 1)]
    assert planned == [("invite", at("2026-03-03 08:00")), ("remind-1", at("2026-03-04 08:00")),
                       ("close", at("2026-03-06 07:00"))]  # the 3-day reminder would be at 08:00 on the 6th: too late
    assert out_of_quiet_hours(at("2026-03-02 19:59"), evening) == at("2026-03-02 19:59")
    assert out_of_quiet_hours(at("2026-03-02 20:00"), evening) == at("2026-03-03 08:00")
    assert out_of_quiet_hours(at("2026-03-03 07:59"), evening) == at("2026-03-03 08:00")


def test_at_most_the_allowed_number_of_reminders() -> None:
    many = Rules(at("2026-03-02 09:00"), at("2026-04-02 09:00"), reminders=(2, 4, 6, 8), max_reminders=2)
    assert [s.name for s in steps(many, 1)] == ["invite", "remind-1", "remind-2", "close"]


def test_waves_repeat_at_the_same_wall_clock_time_across_summer_time() -> None:
    assert window(RULES, 2) == (at("2027-03-02 09:00"), at("2027-03-23 17:00"))
    summer = Rules(at("2026-01-15 09:00"), at("2026-01-30 09:00"), every_months=6)
    opens, _ = window(summer, 2)
    assert opens == at("2026-07-15 09:00") and opens.utcoffset() == timedelta(hours=1)
    assert current_wave(RULES, at("2026-03-01 09:00")) is None
    assert current_wave(RULES, at("2027-03-02 09:00")) == 2
    with pytest.raises(ValueError):
        window(Rules(at("2026-03-02 09:00"), at("2026-03-23 17:00")), 2)  # no recurrence, no wave 2


def test_due_and_next_steps() -> None:
    assert [s.name for s in due_steps(RULES, at("2026-03-06 12:00"))] == ["invite", "remind-1"]
    upcoming = next_steps(RULES, at("2026-03-06 12:00"), horizon=timedelta(days=400))
    assert [(s.wave, s.name) for s in upcoming][:2] == [(1, "remind-2"), (1, "close")]
    assert (2, "invite") in [(s.wave, s.name) for s in upcoming]


def test_add_months_keeps_the_day_or_the_month_end() -> None:
    assert add_months(at("2026-01-31 09:00"), 1) == at("2026-02-28 09:00")
    assert add_months(at("2026-11-30 09:00"), 3) == at("2027-02-28 09:00")


@given(st.integers(0, 23), st.integers(0, 59), st.integers(1, 28), st.integers(1, 12))
def test_nothing_is_ever_planned_in_quiet_hours_or_after_closing(hour: int, minute: int, day: int, month: int) -> None:
    opens = datetime(2026, month, day, hour, minute, tzinfo=UK)
    rules = Rules(opens, opens + timedelta(days=10), reminders=(1, 2, 5, 9), max_reminders=4)
    for step in steps(rules, 1):
        if step.name != "close":
            assert 8 <= step.due.hour < 20 and step.due < rules.closes_at and step.due >= opens
