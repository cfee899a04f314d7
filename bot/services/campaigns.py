"""Campaign rules: when each wave opens, when invitations and reminders go, and when it closes. Pure: no I/O, no clock.

A campaign is one survey version sent to an audience. Wave 1 runs from `opens_at` to `closes_at`; with `every_months`
the same window repeats as wave 2, 3, … so waves share question ids and can be compared. Within a wave: the invitation
goes at opening, each reminder the given number of days later, and nothing is ever sent in quiet hours (20:00 to
08:00 UK time by default: a send that falls there waits for the morning) or at or after closing.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Protocol

INVITE, CLOSE = "invite", "close"


def reminder(number: int) -> str:
    return f"remind-{number}"


@dataclass(frozen=True)
class Rules:
    opens_at: datetime
    closes_at: datetime
    reminders: tuple[int, ...] = (3, 7)
    max_reminders: int = 2
    every_months: int | None = None
    quiet_from: int = 20
    quiet_until: int = 8

    def __post_init__(self) -> None:
        if self.opens_at.tzinfo is None or self.closes_at.tzinfo is None:
            raise ValueError("campaign times must carry a time zone")
        if self.closes_at <= self.opens_at:
            raise ValueError("a campaign must close after it opens")


@dataclass(frozen=True, order=True)
class Step:
    due: datetime
    wave: int
    name: str


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock time `months` later (the 31st becomes the month's last day), in the same time zone."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def window(rules: Rules, wave: int) -> tuple[datetime, datetime]:
    if wave < 1 or (wave > 1 and not rules.every_months):
        raise ValueError(f"this campaign has no wave {wave}")
    shift = (wave - 1) * (rules.every_months or 0)
    return add_months(rules.opens_at, shift), add_months(rules.closes_at, shift)


def current_wave(rules: Rules, now: datetime) -> int | None:
    """The latest wave that has opened by `now`, or None before the first."""
    if now < rules.opens_at:
        return None
    if not rules.every_months:
        return 1
    wave = 1
    while window(rules, wave + 1)[0] <= now:
        wave += 1
    return wave


def out_of_quiet_hours(moment: datetime, rules: Rules) -> datetime:
    """The first moment at or after `moment` outside quiet hours, in the moment's own (UK) time zone."""
    hour = moment.hour
    quiet_overnight = rules.quiet_from > rules.quiet_until
    in_quiet = (hour >= rules.quiet_from or hour < rules.quiet_until) if quiet_overnight else (
        rules.quiet_from <= hour < rules.quiet_until)
    if not in_quiet:
        return moment
    morning = moment.date() if hour < rules.quiet_until else moment.date() + timedelta(days=1)
    return datetime.combine(morning, time(rules.quiet_until), tzinfo=moment.tzinfo)


def steps(rules: Rules, wave: int) -> list[Step]:
    """Everything wave `wave` does, in time order. Reminders that would fall at or after closing are dropped."""
    opens, closes = window(rules, wave)
    invite_at = out_of_quiet_hours(opens, rules)
    planned = [Step(invite_at, wave, INVITE)] if invite_at < closes else []
    for number, days in enumerate(sorted(rules.reminders)[: rules.max_reminders], start=1):
        due = out_of_quiet_hours(opens + timedelta(days=days), rules)
        if due < closes:
            planned.append(Step(due, wave, reminder(number)))
    planned.append(Step(closes, wave, CLOSE))
    return sorted(planned)


def due_steps(rules: Rules, now: datetime) -> list[Step]:
    """Steps due by `now` in the current and the previous wave (a step is run once; the store remembers which)."""
    wave = current_wave(rules, now)
    if wave is None:
        return []
    waves = [w for w in (wave - 1, wave) if w >= 1]
    return [step for w in waves for step in steps(rules, w) if step.due <= now]


def next_steps(rules: Rules, now: datetime, horizon: timedelta = timedelta(days=400)) -> list[Step]:
    """Steps still to come within `horizon`, for the scheduler's timed jobs."""
    wave = current_wave(rules, now) or 1
    upcoming: list[Step] = []
    while True:
        try:
            planned = steps(rules, wave)
        except ValueError:
            break
        if planned[0].due > now + horizon:
            break
        upcoming.extend(step for step in planned if now < step.due <= now + horizon)
        wave += 1
    return upcoming


class CampaignRow(Protocol):
    """What the rules need of a stored campaign (storage.models.Campaign), without importing storage here."""

    opens_at: datetime
    closes_at: datetime
    reminders: str
    max_reminders: int
    every_months: int | None
    quiet_from: int
    quiet_until: int


def as_zone(moment: datetime, zone: tzinfo) -> datetime:
    """A stored time in the partnership's zone. Stored times are UTC; SQLite hands them back without a zone."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def rules_of(campaign: CampaignRow, zone: tzinfo) -> Rules:
    """The rules of a stored campaign, in the partnership's time zone (quiet hours and "same time next year" are
    wall-clock times)."""
    return Rules(opens_at=as_zone(campaign.opens_at, zone), closes_at=as_zone(campaign.closes_at, zone),
                 reminders=tuple(json.loads(campaign.reminders)), max_reminders=campaign.max_reminders,
                 every_months=campaign.every_months, quiet_from=campaign.quiet_from,
                 quiet_until=campaign.quiet_until)
