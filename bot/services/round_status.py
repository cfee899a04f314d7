"""`surveybot status`: how a survey round is going, as counts that keep to the round's threshold.

The one aggregate output so far, so it follows the reporting rules (docs/privacy.md) like every later report will:
every number goes through bot.services.disclosure with the round's locked k (bot.services.policy.round_thresholds).

* Responses: completed and not completed, each suppressed on its own, and their total (started = answered at least
  one question) shown only when both are, so a small "not completed" cannot be worked out from the other two. The
  total is what gets hidden, not the completed count: every other table adds up to the completed count, and hiding
  it because a few people stopped half way would withhold everything else. Reports (bot.reporting.figures) use the
  same rule, so the two outputs agree on which numbers are hidden and cannot be combined to reveal one.
* Completed responses by each declared breakdown (agency, role band...): one table each, every declared option
  listed (0 stays 0), "(no answer)" for those who skipped it, totalling the completed count above.
* The tables are linked by that total. A breakdown is shown only when the completed count is shown above, and is
  withheld whole if its own suppression had to hide its total (because the reader would get it from above).

A use case, not a report (so it sits in bot/services): the campaign status shown on the command line and in chat
is built on it, and bot/reporting builds on the services, never the other way.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.survey import Survey
from bot.services.disclosure import SECONDARY, Cell, SuppressedCounts, small_reason, suppress_counts
from bot.services.policy import Policy, round_thresholds
from storage import rounds
from storage.models import SurveyKey
from storage.unit_of_work import Store

NO_ANSWER = "(no answer)"
COMPLETED, NOT_COMPLETED = "completed", "not completed"
RESPONDED, NOT_RESPONDED = "responded", "did not respond"  # of those invited (campaign status and reports)


@dataclass(frozen=True)
class RoundCounts:
    """The true counts of one round, before suppression (never printed as they are)."""

    completed: int
    not_completed: int
    breakdowns: dict[str, dict[str, int]]  # breakdown name -> option -> completed responses


@dataclass(frozen=True)
class Breakdown:
    name: str
    counts: SuppressedCounts | None  # None: withheld, because showing it would expose a hidden number above


@dataclass(frozen=True)
class RoundStatus:
    k: int
    responses: SuppressedCounts
    breakdowns: tuple[Breakdown, ...]


def suppress_parts(parts: dict[str, int], k: int) -> SuppressedCounts:
    """Counts whose total is the number to give up when one of them is small: each count is suppressed on its own
    (primary suppression: none of them can be worked out from the others without the total), and the total is
    shown only when every count is."""
    cells = {name: suppress_counts({name: count}, k).cells[name] for name, count in parts.items()}
    total = sum(parts.values())
    if any(cell.suppressed for cell in cells.values()):
        return SuppressedCounts(cells, Cell(None, small_reason(k) if 0 < total < k else SECONDARY), k)
    return SuppressedCounts(cells, Cell(total), k)


def suppress_status(counts: RoundCounts, k: int) -> RoundStatus:
    responses = suppress_parts({COMPLETED: counts.completed, NOT_COMPLETED: counts.not_completed}, k)
    completed_shown = not responses.cells[COMPLETED].suppressed
    breakdowns = []
    for name, options in counts.breakdowns.items():
        table = suppress_counts(options, k) if completed_shown else None
        if table is not None and table.total.suppressed:
            table = None
        breakdowns.append(Breakdown(name, table))
    return RoundStatus(k, responses, tuple(breakdowns))


def render(status: RoundStatus) -> list[str]:
    """Count lines are indented four spaces; nothing else on them but the label and the shown value."""
    lines = ["  responses"]
    cells = status.responses.cells
    lines += [_line(COMPLETED, cells[COMPLETED].shown()), _line(NOT_COMPLETED, cells[NOT_COMPLETED].shown()),
              _line("started", status.responses.total.shown())]
    for breakdown in status.breakdowns:
        lines.append(f"  completed by {breakdown.name.replace('_', ' ')}")
        if breakdown.counts is None:
            lines.append("    withheld: too few completed responses to show safely")
            continue
        lines += [_line(option, cell.shown()) for option, cell in breakdown.counts.cells.items()]
        lines.append(_line("total", breakdown.counts.total.shown()))
    return lines


def _line(label: str, value: str) -> str:
    return f"    {label:<40} {value}"


def read_counts(store: Store, survey: Survey, wave: int) -> RoundCounts:
    """Count one round; breakdown options come from `survey` (the newest version), plus any other stored value."""
    with store.unit() as uow:
        completed = rounds.count_round(uow, survey.id, wave, completed=True)
        not_completed = rounds.count_round(uow, survey.id, wave, completed=False)
        breakdowns: dict[str, dict[str, int]] = {}
        for question in survey.breakdowns():
            assert question.breakdown is not None
            stored = rounds.answer_counts(uow, survey.id, wave, question.id)
            options = {option: stored.pop(option, 0) for option in question.options()}
            options.update(stored)
            answered = sum(options.values())
            if completed > answered:
                options[NO_ANSWER] = completed - answered
            breakdowns[question.breakdown] = options
    return RoundCounts(completed, not_completed, breakdowns)


def round_status(store: Store, policy: Policy, survey: Survey, key: SurveyKey) -> tuple[list[str], RoundStatus]:
    """The header and suppressed counts of one round, as printed by `surveybot status`."""
    thresholds = round_thresholds(policy, survey.audience, key.min_group, key.min_group_text, survey.min_group)
    status = suppress_status(read_counts(store, survey, key.wave), thresholds.group)
    locked = "locked" if key.min_group is not None else "not locked yet: no answers"
    header = [f"{survey.id} wave {key.wave} ({survey.audience.value}): groups under {thresholds.group} are not "
              f"shown, free-text comments need {thresholds.text} ({locked})"]
    if key.salt is None:
        key_state = f"destroyed on {key.destroyed_on.isoformat() if key.destroyed_on else 'an unknown date'}"
    elif key.closes_on is not None:
        key_state = (f"closes {key.closes_on.isoformat()}; /delete works until "
                     f"{policy.last_delete_day(key.closes_on).isoformat()}, key destroyed "
                     f"{policy.key_destroyed_on(key.closes_on).isoformat()}")
    else:
        key_state = "open, no close date set"
    header.append(f"  key: {key_state}")
    return header, status
