"""A survey round's figures, as numbers that are safe to publish: every count suppressed, every rule applied.

This module turns the true counts (bot.reporting.tally) into what a report may show. Every count goes through
bot.services.disclosure with the round's locked thresholds (bot.services.policy.round_thresholds); rendering
(bot.reporting.html, bot.reporting.method) only prints what is here.

The tables of one report are linked: a question's table adds up to the completed responses, and its table by a
breakdown (agency, role band...) has the question's table as its column totals and the completed responses by group
as its row totals. A reader holding all of them could combine them, so:

* Responses: completed and not completed, each suppressed on its own, their total (started) shown only when both
  are (as `surveybot status` does: bot.services.round_status.suppress_parts); completed by each breakdown, shown only
  when the completed count is shown, and withheld if its own total had to be hidden.
* A question's table counts every completed response: one row per option (multiple choice: per tick), and "(no
  answer)" for people who skipped it or were not asked it. Its total is the completed count, so it is withheld when
  its suppression would hide that total but the responses table shows it (or the other way round).
* A question by a breakdown is shown only when its margins are suppressed exactly as the question's table and the
  breakdown's responses table are: same numbers shown, same numbers hidden. Otherwise it is withheld, because it
  would publish a number hidden elsewhere, or hide one published elsewhere (which protects nothing).
* A mean is shown only when the whole distribution it summarises is shown (a mean of a partly hidden distribution
  can give away the hidden counts), and only on a base of at least 10, like a percentage.
* Free-text comments: only when at least the text threshold of people wrote one, never by group, a keyed random
  selection in a keyed random order (bot.reporting.tally).

Percentages are of the people who answered the question, when that number can be shown (the completed count less a
shown "(no answer)"); otherwise of everyone who completed the survey, and the report says which.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.engine.survey import OTHER_LABEL, YES, Audience, Kind, Question, Survey
from bot.reporting.tally import ANSWERED, UNANSWERED, QuestionTally, RoundTally
from bot.services.disclosure import (
    MIN_PERCENT_BASE,
    WITHHELD,
    Cell,
    SuppressedCounts,
    SuppressedTable,
    percentage,
    suppress_counts,
    suppress_table,
)
from bot.services.policy import Thresholds
from bot.services.round_status import NOT_RESPONDED, RESPONDED, suppress_parts
from storage.results import RoundFacts

COMPLETED, NOT_COMPLETED = "completed", "started but not completed"
WITHHELD_SMALL = "withheld: too few answers to show this table safely"
WITHHELD_LINKED = "withheld: showing it would reveal a number hidden elsewhere in this report"
WITHHELD_NO_TOTAL = "withheld: too few completed responses to report on"


def people(audience: Audience) -> str:
    """What to call respondents in sentences."""
    return {Audience.YOUNG_PEOPLE: "young people", Audience.PARTNERS: "partners"}.get(audience, "practitioners")


# --- the published model ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    label: str
    cell: Cell
    percent: float | None = None


@dataclass(frozen=True)
class GroupRow:
    group: str
    cells: tuple[Cell, ...]
    total: Cell
    percents: tuple[float | None, ...]
    mean: float | None = None


@dataclass(frozen=True)
class GroupTable:
    """One question by one breakdown. `withheld` is the reason when nothing of it may be shown."""

    breakdown: str
    columns: tuple[str, ...]
    rows: tuple[GroupRow, ...] = ()
    column_totals: tuple[Cell, ...] = ()
    grand_total: Cell | None = None
    withheld: str | None = None
    summary: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    rows: tuple[Row, ...]
    total: Cell
    answered: int | None  # how many answered, when that can be shown
    percent_of: str  # "answered", "all" (everyone who completed), or "" (no percentages: base under 10 or hidden)
    withheld: str | None = None
    mean: float | None = None
    median: float | None = None
    mean_note: str | None = None  # why a mean is not shown
    correct: Row | None = None  # knowledge checks: the right answer's row
    at_least: float | None = None  # the headline share (right answer, "Yes") when hidden: a floor anyone can work out
    groups: tuple[GroupTable, ...] = ()
    summary: dict[str, int] = field(default_factory=dict)

    def row(self, label: str) -> Row | None:
        return next((r for r in self.rows if r.label == label), None)

    @property
    def base(self) -> int | None:
        """The number percentages are taken of."""
        if self.percent_of == "answered":
            return self.answered
        if self.percent_of == "all":
            return self.total.count
        return None


@dataclass(frozen=True)
class Responses:
    completed: Cell
    not_completed: Cell
    started: Cell
    invited: Cell | None  # None: invitations not recorded for this round
    responded: Cell | None
    rate: float | None
    groups: dict[str, SuppressedCounts | None]  # breakdown -> completed by group (None: withheld)
    summary: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Comments:
    question: Question
    column: str
    shown: tuple[str, ...]
    total: int | None  # how many people wrote one, when it may be said
    withheld: str | None = None


@dataclass(frozen=True)
class WaveResult:
    """Everything publishable about one round."""

    survey_id: str
    wave: int
    versions: tuple[int, ...]
    survey: Survey  # the newest version answered in the round (title, audience, wording)
    thresholds: Thresholds
    locked: bool
    facts: RoundFacts
    responses: Responses
    questions: tuple[QuestionResult, ...]
    comments: tuple[Comments, ...]

    def question(self, question_id: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.question.id == question_id), None)


# --- building it -----------------------------------------------------------------------------------------------------

def build_wave(tally: RoundTally, survey: Survey, facts: RoundFacts, thresholds: Thresholds,
               locked: bool) -> WaveResult:
    """Suppress one round's counts with its thresholds, keeping the linked tables consistent."""
    k = thresholds.group
    responses = _responses(tally, facts, k)
    questions = tuple(_question(tally, counted, responses, k) for counted in tally.questions.values())
    comments = tuple(_comments(tally, column, questions, thresholds.text) for column in tally.comments)
    return WaveResult(tally.survey_id, tally.wave, tuple(tally.versions), survey, thresholds, locked, facts,
                      responses, questions, comments)


def _responses(tally: RoundTally, facts: RoundFacts, k: int) -> Responses:
    not_completed = max(facts.started - tally.completed, 0)
    table = suppress_parts({COMPLETED: tally.completed, NOT_COMPLETED: not_completed}, k)
    completed = table.cells[COMPLETED]
    summary = Counter(table.summary())
    invited = responded = None
    rate = None
    if facts.invited:
        invitations = suppress_parts({RESPONDED: facts.invited_completed,
                                      NOT_RESPONDED: facts.invited - facts.invited_completed}, k)
        invited, responded = invitations.total, invitations.cells[RESPONDED]
        rate = percentage(responded.count, invited.count)
        summary.update(invitations.summary())
    groups: dict[str, SuppressedCounts | None] = {}
    for name in tally.breakdowns:
        counts = {label: tally.groups[name][label] for label in tally.group_labels(name)
                  if label not in UNANSWERED or tally.groups[name][label]}
        by_group = suppress_counts(counts, k) if not completed.suppressed else None
        if by_group is not None and by_group.total.suppressed:
            by_group = None
        if by_group is not None:
            summary.update(by_group.summary())
        groups[name] = by_group
    return Responses(completed, table.cells[NOT_COMPLETED], table.total, invited, responded, rate, groups,
                     dict(summary))


def _labels(counted: QuestionTally) -> list[str]:
    """The question's columns: declared options (zeros too), extra stored values, and "(no answer)" and "not
    asked" when any."""
    return [label for label in counted.labels() if label not in UNANSWERED or counted.counts[label]]


def _question(tally: RoundTally, counted: QuestionTally, responses: Responses, k: int) -> QuestionResult:
    question = counted.question
    labels = _labels(counted)
    counts = {label: counted.counts[label] for label in labels}
    multi = question.kind is Kind.MULTI
    table = suppress_counts(counts, k, respondents=tally.completed if multi else None)
    total = table.total
    completed = responses.completed
    if completed.suppressed or total.suppressed or total.count != completed.count:
        withheld = (WITHHELD_NO_TOTAL if completed.suppressed else WITHHELD_SMALL if total.reason == WITHHELD
                    else WITHHELD_LINKED)
        return QuestionResult(question, (), Cell(None, WITHHELD), None, "", withheld=withheld,
                              summary={withheld: 1})
    answered = _answered(table, question)
    percent_of, base = ("answered", answered) if answered is not None else ("all", total.count)
    if base is None or base < MIN_PERCENT_BASE:
        percent_of, base = "", None
    rows = tuple(Row(label, cell, percentage(cell.count, base)
                     if not (label in UNANSWERED and percent_of == "answered") else None)
                 for label, cell in table.cells.items())
    result = QuestionResult(question, rows, total, answered, percent_of, summary=table.summary())
    mean, median, note = _centre(counted, table, answered, k)
    correct = next((r for r in rows if r.label == question.correct), None) if question.kind is Kind.KNOWLEDGE else None
    headline = question.correct if question.kind is Kind.KNOWLEDGE else YES if question.kind is Kind.YESNO else None
    at_least = _at_least(rows, headline, answered, k) if headline is not None else None
    groups = tuple(_by_group(tally, counted, name, result, responses, k) for name in tally.breakdowns
                   if tally.breakdowns[name] != question.id and question.kind not in (Kind.NUMBER, Kind.TEXT))
    summary = Counter(table.summary())
    for group in groups:
        summary.update(group.summary)
    return QuestionResult(question, rows, total, answered, percent_of, None, mean, median, note, correct, at_least,
                          groups, dict(summary))


def _at_least(rows: tuple[Row, ...], headline: str, answered: int | None, k: int) -> float | None:
    """When the headline count is hidden only because the other answers are few, the share it must at least be,
    worked out from published numbers alone (each "fewer than k" at its most, k - 1), so it reveals nothing new."""
    row = next((r for r in rows if r.label == headline), None)
    if row is None or not row.cell.suppressed or row.cell.small or answered is None or answered < MIN_PERCENT_BASE:
        return None
    others = 0
    for other in rows:
        if other.label == headline or other.label in UNANSWERED:
            continue
        if other.cell.count is not None:
            others += other.cell.count
        elif other.cell.small:
            others += k - 1
        else:
            return None
    floor = 100 * max(answered - others, 0) / answered
    return floor if floor > 0 else None


def _answered(table: SuppressedCounts, question: Question) -> int | None:
    """How many answered, when it can be shown: everyone less a shown "(no answer)" and "not asked"."""
    if question.kind in (Kind.NUMBER, Kind.TEXT):
        return table.cells[ANSWERED].count
    total = table.total.count
    unanswered = [table.cells.get(label, Cell(0)).count for label in UNANSWERED]
    if total is None or None in unanswered:
        return None
    return total - sum(n or 0 for n in unanswered)


def _centre(counted: QuestionTally, table: SuppressedCounts, answered: int | None,
            k: int) -> tuple[float | None, float | None, str | None]:
    """The mean (and for numbers the median) of a scale or number question, or why it is not shown."""
    kind = counted.question.kind
    if kind not in (Kind.SCALE, Kind.NUMBER):
        return None, None, None
    if answered is None or answered < max(MIN_PERCENT_BASE, k):
        return None, None, f"no mean: fewer than {max(MIN_PERCENT_BASE, k)} answers"
    if kind is Kind.SCALE and any(cell.suppressed for cell in table.cells.values()):
        return None, None, "no mean: some answers are too few to show, and a mean would give them away"
    values = counted.values
    mean = sum(v * n for v, n in values.items()) / answered
    median = _median(values, answered) if kind is Kind.NUMBER else None
    return mean, median, None


def _median(values: Counter[float], n: int) -> float:
    ordered = sorted(values.items())

    def nth(i: int) -> float:
        seen = 0
        for value, count in ordered:
            seen += count
            if i < seen:
                return value
        return ordered[-1][0]

    return (nth((n - 1) // 2) + nth(n // 2)) / 2


def _by_group(tally: RoundTally, counted: QuestionTally, name: str, result: QuestionResult, responses: Responses,
              k: int) -> GroupTable:
    columns = tuple(r.label for r in result.rows)
    by_group = responses.groups.get(name)
    if by_group is None:
        return GroupTable(name, columns, withheld=WITHHELD_NO_TOTAL, summary={WITHHELD_NO_TOTAL: 1})
    groups = list(by_group.cells)
    cells = {g: {label: counted.by_group.get(name, {}).get(g, Counter())[label] for label in columns} for g in groups}
    if counted.question.kind is Kind.MULTI:
        table = suppress_table(cells, k, respondents={g: tally.groups[name][g] for g in groups})
    else:
        table = suppress_table(cells, k)
    if table.grand_total.reason == WITHHELD:
        return GroupTable(name, columns, withheld=WITHHELD_SMALL, summary={WITHHELD_SMALL: 1})
    if not _same_margins(table, by_group, result):
        return GroupTable(name, columns, withheld=WITHHELD_LINKED, summary={WITHHELD_LINKED: 1})
    rows = []
    for group in groups:
        row_cells = tuple(table.cells[group][label] for label in columns)
        total = table.row_totals[group]
        unanswered = [table.cells[group].get(label, Cell(0)).count for label in UNANSWERED]
        base = None if total.count is None or None in unanswered else total.count - sum(n or 0 for n in unanswered)
        percents = tuple(percentage(c.count, base) if label not in UNANSWERED else None
                         for label, c in zip(columns, row_cells, strict=True))
        mean = None
        values = counted.group_values.get(name, {}).get(group)
        if (counted.question.kind is Kind.SCALE and values and base is not None and base >= max(MIN_PERCENT_BASE, k)
                and not any(c.suppressed for c in row_cells)):
            mean = sum(v * n for v, n in values.items()) / base
        rows.append(GroupRow(group, row_cells, total, percents, mean))
    return GroupTable(name, columns, tuple(rows), tuple(table.column_totals[c] for c in columns), table.grand_total,
                      summary=table.summary())


def _same_margins(table: SuppressedTable, by_group: SuppressedCounts, result: QuestionResult) -> bool:
    """Are the two-way table's totals exactly what the responses table and the question's table publish?"""
    pairs = [(table.row_totals[g], by_group.cells[g]) for g in by_group.cells]
    pairs += [(table.column_totals[r.label], r.cell) for r in result.rows]
    pairs.append((table.grand_total, result.total))
    return all(a.suppressed == b.suppressed and a.count == b.count for a, b in pairs)


def _comments(tally: RoundTally, column: str, questions: tuple[QuestionResult, ...], k_text: int) -> Comments:
    sample = tally.comments[column]
    owner = column.split(".", 1)[0]
    result = next(q for q in questions if q.question.id == owner)
    question = result.question
    if result.withheld:
        return Comments(question, column, (), None, result.withheld)
    count_cell = result.row(ANSWERED if column == question.id else OTHER_LABEL)
    if sample.total < k_text or count_cell is None or count_cell.cell.suppressed:
        return Comments(question, column, (), None,
                        f"not shown: fewer than {k_text} people wrote one" if sample.total else "nobody wrote one")
    return Comments(question, column, tuple(sample.chosen()), sample.total)
