"""Counting one survey round: the true counts a report is built from, in one streamed pass over its responses.

Nothing here is ever shown as it is; bot.reporting.report suppresses it first. Memory is bounded by the survey's
shape, not its size: counters per option and group, and for free text only a fixed-size sample of comments, chosen
and ordered by a keyed hash (so the selection looks random, is the same every time the report is made, and shows
nothing of the order people answered in, even to someone who knows how it is made but not the key).

Which question is which: a round can hold answers to several versions of a survey. Questions are matched by id
across versions; each is described by the newest version in the round that has it, and any stored answer that is
not one of that version's options is counted as an extra option, so nothing is silently dropped.
"""

from __future__ import annotations

import heapq
import hmac
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from hashlib import sha256
from typing import Any

from bot.engine import messages as msg
from bot.engine.conversation import applies
from bot.engine.survey import Kind, Question, Survey
from bot.reporting.progress import Progress
from storage import results
from storage.unit_of_work import Store

NO_ANSWER = "(no answer)"
NOT_ASKED = "not asked"  # an earlier answer meant the question was not for them (ask_if)
UNANSWERED = (NO_ANSWER, NOT_ASKED)
ANSWERED = "answered"
COMMENTS_SHOWN = 200
"""At most this many comments of one question go in a report: a random selection, so a long survey stays readable."""


@dataclass
class CommentSample:
    """How many comments a column has, and a keyed random selection of them (never in answer order)."""

    limit: int
    total: int = 0
    _heap: list[tuple[int, str]] = field(default_factory=list)  # (-rank, text): the `limit` smallest ranks

    def offer(self, rank: int, text: str) -> None:
        self.total += 1
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, (-rank, text))
        elif rank < -self._heap[0][0]:
            heapq.heapreplace(self._heap, (-rank, text))

    def chosen(self) -> list[str]:
        """The selection, in the order of the keyed ranks: shuffled, but the same every time."""
        return [text for _, text in sorted(self._heap, reverse=True)]


@dataclass
class QuestionTally:
    """One question's counts in one round. `counts` has an entry per option (multiple choice: per tick), extra
    stored values, NO_ANSWER (skipped, or text deleted by retention) and NOT_ASKED (an earlier answer meant it was
    not for them); number and text questions count ANSWERED, NO_ANSWER and NOT_ASKED. `values` holds scale and
    number answers (value -> how many)."""

    question: Question
    counts: Counter[str] = field(default_factory=Counter)
    values: Counter[float] = field(default_factory=Counter)
    answered: int = 0
    by_group: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)  # breakdown -> group -> counts
    group_values: dict[str, dict[str, Counter[float]]] = field(default_factory=dict)
    # Each combination of groups met (a group per breakdown) -> its counters in `by_group` and `group_values`, so
    # that counting an answer looks them up once rather than once per breakdown.
    _cells: dict[tuple[str, ...], list[Counter[str]]] = field(default_factory=dict, repr=False, compare=False)
    _values: dict[tuple[str, ...], list[Counter[float]]] = field(default_factory=dict, repr=False, compare=False)

    def labels(self) -> list[str]:
        """The options in the survey's order, then extra stored values, then NO_ANSWER and NOT_ASKED."""
        if self.question.kind in (Kind.NUMBER, Kind.TEXT):
            return [ANSWERED, *UNANSWERED]
        declared = list(self.question.options())
        extra = sorted(label for label in self.counts if label not in declared and label not in UNANSWERED)
        return [*declared, *extra, *UNANSWERED]


@dataclass
class RoundTally:
    survey_id: str
    wave: int
    versions: list[int]
    completed: int = 0
    questions: dict[str, QuestionTally] = field(default_factory=dict)
    breakdowns: dict[str, str] = field(default_factory=dict)  # breakdown name -> question id
    groups: dict[str, Counter[str]] = field(default_factory=dict)  # breakdown -> group -> completed responses
    comments: dict[str, CommentSample] = field(default_factory=dict)  # column -> sample

    def group_labels(self, breakdown: str) -> list[str]:
        return self.questions[self.breakdowns[breakdown]].labels()


def definitions(versions: list[Survey]) -> dict[str, Question]:
    """Each question id, described by the newest version that has it, in the newest version's order."""
    found: dict[str, Question] = {}
    for survey in sorted(versions, key=lambda s: -s.version):
        for question in survey.questions:
            found.setdefault(question.id, question)
    return found


def comment_columns(questions: dict[str, Question]) -> dict[str, str]:
    """Columns holding people's own words -> the question they belong to."""
    columns: dict[str, str] = {}
    for question in questions.values():
        if question.kind is Kind.TEXT:
            columns[question.id] = question.id
        if question.other:
            columns[question.other_id] = question.id
    return columns


def new_tally(survey_id: str, wave: int, versions: list[Survey], comments_shown: int = COMMENTS_SHOWN) -> RoundTally:
    """An empty tally for a round answered in these versions."""
    questions = definitions(versions)
    tally = RoundTally(survey_id, wave, sorted(s.version for s in versions))
    tally.questions = {qid: QuestionTally(q) for qid, q in questions.items()}
    tally.breakdowns = {q.breakdown: q.id for q in questions.values() if q.breakdown}
    tally.groups = {name: Counter() for name in tally.breakdowns}
    tally.comments = {column: CommentSample(comments_shown) for column in comment_columns(questions)}
    return tally


def add(tally: RoundTally, answers: dict[str, Any], rank: Callable[[str], int]) -> None:
    """Count one completed response ({question id: decoded answer}); `rank(column)` orders its comments."""
    tally.completed += 1
    groups = {name: _group(answers.get(qid)) for name, qid in tally.breakdowns.items()}
    for name, group in groups.items():
        tally.groups[name][group] += 1
    combination = tuple(groups.values())
    for qid, counted in tally.questions.items():
        _count(counted, answers.get(qid), groups, combination, answers)
    for column, sample in tally.comments.items():
        words = answers.get(column)
        if isinstance(words, str) and words.strip() and not words.startswith(msg.REMOVED_FOR_SAFETY):
            sample.offer(rank(column), words)  # never a safety removal: "[removed for safety] abuse" says too much


def count_round(store: Store, survey_id: str, wave: int, versions: list[Survey], key: bytes,
                progress: Progress | None = None, comments_shown: int = COMMENTS_SHOWN) -> RoundTally:
    """Read every completed response of the round once and count it. `key` orders the comment sample."""
    tally = new_tally(survey_id, wave, versions, comments_shown)
    decoded = results.Decoded(lambda question_id, value: (question_id, value))
    with store.unit() as uow:
        for head, stored in results.completed(uow, survey_id, wave):
            add(tally, dict(map(decoded.__getitem__, stored)), partial(_rank, key, head.id))
            if progress is not None:
                progress.advance()
    return tally


def _rank(key: bytes, response_id: int, column: str) -> int:
    return int.from_bytes(hmac.new(key, f"{response_id}|{column}".encode(), sha256).digest()[:8], "big")


def _group(value: Any) -> str:
    if value is None or value == "":
        return NO_ANSWER
    return "; ".join(map(str, value)) if isinstance(value, list) else str(value)


def _count(tally: QuestionTally, value: Any, groups: dict[str, str], combination: tuple[str, ...],
           answers: Mapping[str, Any]) -> None:
    """Count one question of one response (`combination` is `groups`' values). Written for speed, because it runs
    for every question of every response: the engine's `applies` is asked only when there is no answer (to tell
    "not asked" from "(no answer)"), and the counters of a combination of groups are looked up once."""
    question = tally.question
    kind = question.kind
    number = None
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        labels: list[str] = [NO_ANSWER if applies(question, answers) else NOT_ASKED]
    else:
        if kind is Kind.NUMBER or kind is Kind.TEXT:
            labels = [ANSWERED]
        elif isinstance(value, list):
            labels = [str(v) for v in value]
        elif kind is Kind.SCALE and isinstance(value, (int, float)):
            labels = [str(int(value)) if float(value).is_integer() else str(value)]
        else:
            labels = [str(value)]
        if labels[0] not in UNANSWERED:
            tally.answered += 1
            if (kind is Kind.SCALE or kind is Kind.NUMBER) and isinstance(value, (int, float)):
                number = value
                tally.values[number] += 1
    counts = tally.counts
    for label in labels:
        counts[label] += 1
    cells = tally._cells.get(combination)
    if cells is None:
        cells = tally._cells[combination] = _counters(tally.by_group, groups)
    for cell in cells:
        for label in labels:
            cell[label] += 1
    if number is not None:
        values = tally._values.get(combination)
        if values is None:
            values = tally._values[combination] = _counters(tally.group_values, groups)
        for counter in values:
            counter[number] += 1


def _counters(by_group: dict[str, dict[str, Counter[Any]]], groups: dict[str, str]) -> list[Counter[Any]]:
    """The counters of `by_group` for these groups (one per breakdown), made the first time a group is met."""
    return [by_group.setdefault(name, {}).setdefault(group, Counter()) for name, group in groups.items()]
