"""The privacy numbers a partnership's DPIA confirms, and the dates and thresholds that follow from them.

One place for every retention period and reporting threshold (docs/privacy.md), so the notice a respondent reads,
the purge that deletes and the reports that suppress all use the same numbers. `Policy` is built from the settings
(bot.config); nothing here reads the environment.

Dates count from a round's `closes_on`, its last day of answers: its key is destroyed `key_days` after it (so
/delete works until the day before), its raw free text blanked `text_days` after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bot.engine.survey import Audience

EVENT_DAYS = 7
"""Redelivered platform updates arrive within minutes; their keyed ids are kept a week, then forgotten."""

MIN_THRESHOLD = 3
"""Below 3, "fewer than k" would say "exactly 1" (bot.services.disclosure refuses it too)."""


@dataclass(frozen=True)
class Thresholds:
    """Minimum group sizes for one survey round: any breakdown (`group`) and any free-text comments (`text`)."""

    group: int
    text: int


@dataclass(frozen=True)
class Policy:
    key_days: int = 30
    text_days: int = 90
    state_days: int = 30
    min_group: int = 5
    min_group_young: int = 10
    min_group_text: int = 10
    scrub_names_file: Path | None = None
    start_days: int = 30  # an anonymous web start not finished: its contact and participation rows go after this

    def thresholds(self, audience: Audience, own: int | None = None) -> Thresholds:
        """What a round of a survey for this audience would lock now: 10 for young people, 5 otherwise (defaults);
        free-text comments never below the text threshold.

        `own` is the survey file's `min_group`. A partner survey is answered by organisations, not people, so its
        own threshold replaces the setting (never below 3: the loader refuses it); for surveys of people it can only
        raise the setting, so a survey file can never weaken what the DPIA confirmed for people."""
        group = self.min_group_young if audience is Audience.YOUNG_PEOPLE else self.min_group
        if own is not None:
            group = max(own, MIN_THRESHOLD) if audience is Audience.PARTNERS else max(group, own)
        return Thresholds(group, max(group, self.min_group_text))

    def key_destroyed_on(self, closes_on: date) -> date:
        return closes_on + timedelta(days=self.key_days)

    def last_delete_day(self, closes_on: date) -> date:
        """The last day /delete can still find someone's answers."""
        return self.key_destroyed_on(closes_on) - timedelta(days=1)

    def text_blanked_on(self, closes_on: date) -> date:
        return closes_on + timedelta(days=self.text_days)


def round_thresholds(policy: Policy, audience: Audience, locked_group: int | None,
                     locked_text: int | None, own: int | None = None) -> Thresholds:
    """The thresholds for a survey round: the ones locked with it once it had answers, else what it would lock now.

    Every output of a round (status, reports, evidence) takes its k from here, so it cannot change under a round
    that has started, whatever the settings say later.
    """
    current = policy.thresholds(audience, own)
    return Thresholds(locked_group or current.group, locked_text or current.text)


def read_names(path: Path) -> tuple[str, ...]:
    """The scrubbing names list: one name (staff, school, estate...) per line; blank lines and # comments ignored."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            names.append(text)
    return tuple(names)
