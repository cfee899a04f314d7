"""Comparing two waves of a survey: what changed, whether the change is more than chance, and what cannot be compared.

Built only from what each wave may publish (bot.reporting.figures), so a comparison never reveals a number either
wave's report hides: a test runs only when every count it uses is shown in both waves, and percentages only on bases
of at least 10. Numbers (how many visits...) are the exception that proves the rule: their distribution is never
shown, so the Mann-Whitney test uses the stored values, and only its verdict is published, on at least 10 answers a
wave.

A question is compared when both waves asked it, in the same kind, with the same options (and the same right answer,
for a knowledge check). Everything else is listed with the reason, in plain words. Waves are populations, not the
same people (docs/privacy.md), so the tests are for independent samples (bot.reporting.stats).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.engine.survey import YES, Kind, Question
from bot.reporting.figures import QuestionResult, WaveResult
from bot.reporting.stats import TestResult, chi_square, mann_whitney, two_proportions
from bot.reporting.tally import UNANSWERED, RoundTally
from bot.services.disclosure import MIN_PERCENT_BASE


@dataclass(frozen=True)
class Line:
    """One option (or the mean) in both waves, and the test on it when there is one."""

    label: str
    before: float | None
    after: float | None
    result: TestResult | None = None


@dataclass(frozen=True)
class Change:
    question: Question
    lines: tuple[Line, ...]
    sentence: str
    result: TestResult | None  # the test behind the sentence

    @property
    def significant(self) -> bool:
        return self.result is not None and self.result.significant


@dataclass(frozen=True)
class NotCompared:
    question: Question
    reason: str


@dataclass(frozen=True)
class Comparison:
    before: WaveResult
    after: WaveResult
    changes: tuple[Change, ...]
    not_compared: tuple[NotCompared, ...]


AVERAGE = "Average"


def percent(value: float) -> str:
    """A percentage as reports print it: whole numbers, halves rounded up (41.5 -> 42%)."""
    return f"{int(value + 0.5)}%"


def mean_text(value: float) -> str:
    return f"{value:.1f}"


def verdict(result: TestResult | None) -> str:
    if result is None or not result.reliable:
        return "too few answers for a reliable test"
    if result.significant:
        return "a significant change"
    return "not a significant change: it could be chance"


def p_text(result: TestResult | None) -> str:
    if result is None:
        return ""
    if not result.reliable:
        return "not tested"
    return "p < 0.001" if result.p_value < 0.001 else f"p = {result.p_value:.3f}"


def movement(before: str, after: str) -> str:
    """"rose from 41% to 68%", "fell from ...", or "stayed at 41%" (judged on the figures as printed)."""
    if before == after:
        return f"stayed at {after}"
    return f"{'rose' if float(after.rstrip('%')) > float(before.rstrip('%')) else 'fell'} from {before} to {after}"


def compare(before: WaveResult, after: WaveResult, before_tally: RoundTally, after_tally: RoundTally) -> Comparison:
    """Wave `before` (the one named with --compare) against wave `after` (the report's own wave)."""
    changes: list[Change] = []
    skipped: list[NotCompared] = []
    for result in after.questions:
        earlier = before.question(result.question.id)
        if earlier is None:
            skipped.append(NotCompared(result.question, f"asked only in wave {after.wave}"))
            continue
        outcome = _compare_one(earlier, result, before, after, before_tally, after_tally)
        if isinstance(outcome, Change):
            changes.append(outcome)
        else:
            skipped.append(outcome)
    for result in before.questions:
        if after.question(result.question.id) is None:
            skipped.append(NotCompared(result.question, f"asked only in wave {before.wave}"))
    return Comparison(before, after, tuple(changes), tuple(skipped))


def _compare_one(first: QuestionResult, second: QuestionResult, before: WaveResult, after: WaveResult,
                 before_tally: RoundTally, after_tally: RoundTally) -> Change | NotCompared:
    question = second.question
    old = first.question
    if old.kind is not question.kind:
        return NotCompared(question, f"it was a {old.kind.value} question in wave {before.wave} and a "
                                     f"{question.kind.value} question in wave {after.wave}")
    if question.kind is Kind.TEXT:
        return NotCompared(question, "written answers are not compared")
    if old.options() != question.options():
        return NotCompared(question, "its options changed between the waves")
    if question.kind is Kind.KNOWLEDGE and old.correct != question.correct:
        return NotCompared(question, "its right answer changed between the waves")
    for wave, result in ((before, first), (after, second)):
        if result.withheld:
            return NotCompared(question, f"its answers in wave {wave.wave} are withheld (too few to show safely)")
        if result.answered is None:
            return NotCompared(question, f"the number who answered it in wave {wave.wave} is too small to show")
        if result.answered < MIN_PERCENT_BASE:
            return NotCompared(question, f"fewer than {MIN_PERCENT_BASE} people answered it in wave {wave.wave}")
    if question.kind is Kind.NUMBER:
        return _numbers(first, second, before_tally, after_tally)
    if question.kind is Kind.SCALE:
        return _scale(first, second, before, after)
    if question.kind is Kind.MULTI:
        return _multi(first, second)
    if question.kind is Kind.YESNO:
        return _share(first, second, YES, f"“Yes” to “{question.text}”", before, after)
    if question.kind is Kind.KNOWLEDGE:
        assert question.correct is not None
        return _share(first, second, question.correct, f"Correct answers to “{question.text}”", before, after)
    if len(question.options()) == 2:
        option = question.options()[0]
        return _share(first, second, option, f"“{option}” in answers to “{question.text}”", before, after)
    return _distribution(first, second, before, after)


def _shown(result: QuestionResult, label: str) -> int | None:
    row = result.row(label)
    return None if row is None else row.cell.count


def _percent(result: QuestionResult, label: str) -> float | None:
    row = result.row(label)
    return None if row is None else row.percent


def _hidden_reason(wave: WaveResult) -> str:
    return (f"some of its answers in wave {wave.wave} are too few to show, and a test on them would give them "
            "away")


def _share(first: QuestionResult, second: QuestionResult, label: str, subject: str, before: WaveResult,
           after: WaveResult) -> Change | NotCompared:
    x1, x2 = _shown(first, label), _shown(second, label)
    if x1 is None:
        return NotCompared(second.question, _hidden_reason(before))
    if x2 is None:
        return NotCompared(second.question, _hidden_reason(after))
    n1, n2 = first.answered, second.answered
    assert n1 is not None and n2 is not None
    result = two_proportions(x1, n1, x2, n2)
    p1, p2 = 100 * x1 / n1, 100 * x2 / n2
    sentence = f"{subject} {movement(percent(p1), percent(p2))} ({verdict(result)})."
    return Change(second.question, (Line(label, p1, p2, result),), sentence, result)


def _distribution(first: QuestionResult, second: QuestionResult, before: WaveResult,
                  after: WaveResult) -> Change | NotCompared:
    options = list(second.question.options())
    extra = [r.label for r in (*first.rows, *second.rows) if r.label not in options and r.label not in UNANSWERED]
    labels = options + sorted(set(extra))
    table = []
    for wave, result in ((before, first), (after, second)):
        counts = [_shown(result, label) if result.row(label) else 0 for label in labels]
        if any(c is None for c in counts):
            return NotCompared(second.question, _hidden_reason(wave))
        table.append([c or 0 for c in counts])
    test = chi_square(table)
    n1, n2 = sum(table[0]), sum(table[1])
    lines = tuple(Line(label, 100 * a / n1, 100 * b / n2) for label, a, b in zip(labels, table[0], table[1],
                                                                                 strict=True))
    biggest = max(lines, key=lambda line: abs((line.after or 0) - (line.before or 0)))
    assert biggest.before is not None and biggest.after is not None
    move = f"“{biggest.label}” {movement(percent(biggest.before), percent(biggest.after))}"
    text = second.question.text
    if test.significant:
        sentence = f"Answers to “{text}” changed (a significant change): the biggest move was {move}."
    elif test.reliable:
        sentence = f"Answers to “{text}” did not change significantly (the biggest move was {move})."
    else:
        sentence = f"Answers to “{text}” moved most on {move} (too few answers for a reliable test)."
    return Change(second.question, lines, sentence, test)


def _multi(first: QuestionResult, second: QuestionResult) -> Change | NotCompared:
    n1, n2 = first.answered, second.answered
    assert n1 is not None and n2 is not None
    lines = []
    for label in second.question.options():
        x1, x2 = _shown(first, label), _shown(second, label)
        if x1 is None or x2 is None:
            lines.append(Line(label, None, None))
            continue
        lines.append(Line(label, 100 * x1 / n1, 100 * x2 / n2, two_proportions(x1, n1, x2, n2)))
    tested = [line for line in lines if line.result is not None]
    if not tested:
        return NotCompared(second.question, "every option was chosen by too few people in one wave or the other")
    text = second.question.text
    moved = [line for line in tested if line.result is not None and line.result.significant]
    if moved:
        parts = [f"“{line.label}” {movement(percent(line.before or 0), percent(line.after or 0))}" for line in moved]
        sentence = f"In answers to “{text}”, " + "; ".join(parts) + " (significant changes)."
    else:
        sentence = f"No option of “{text}” changed significantly."
    headline = min(tested, key=lambda line: (not (line.result and line.result.reliable),
                                             line.result.p_value if line.result else 1.0))
    return Change(second.question, tuple(lines), sentence, headline.result)


def _scale(first: QuestionResult, second: QuestionResult, before: WaveResult, after: WaveResult
           ) -> Change | NotCompared:
    samples = []
    for wave, result in ((before, first), (after, second)):
        if result.mean is None or any(row.cell.suppressed for row in result.rows):
            return NotCompared(second.question, _hidden_reason(wave))
        samples.append(Counter({float(row.label): row.cell.count or 0 for row in result.rows
                                if row.label not in UNANSWERED}))
    test = mann_whitney(samples[0], samples[1])
    assert first.mean is not None and second.mean is not None
    question = second.question
    scale = f"from {int(question.low or 0)} to {int(question.high or 0)}"
    if question.low_label and question.high_label:
        scale = (f"from {int(question.low or 0)}, {question.low_label.lower()}, to {int(question.high or 0)}, "
                 f"{question.high_label.lower()}")
    sentence = (f"The average answer to “{question.text}” ({scale}) "
                f"{movement(mean_text(first.mean), mean_text(second.mean))} ({verdict(test)}).")
    lines = [Line(row.label, _percent(first, row.label), row.percent) for row in second.rows
             if row.label not in UNANSWERED]
    lines.append(Line(AVERAGE, first.mean, second.mean, test))
    return Change(question, tuple(lines), sentence, test)


def _numbers(first: QuestionResult, second: QuestionResult, before_tally: RoundTally,
             after_tally: RoundTally) -> Change | NotCompared:
    if first.mean is None or second.mean is None:
        return NotCompared(second.question, "too few answers in one of the waves for an average")
    question = second.question
    result = mann_whitney(before_tally.questions[question.id].values, after_tally.questions[question.id].values)
    sentence = (f"The average answer to “{question.text}” "
                f"{movement(mean_text(first.mean), mean_text(second.mean))} ({verdict(result)}).")
    return Change(question, (Line(AVERAGE, first.mean, second.mean, result),), sentence, result)
