"""The survey model: what a survey is, as the engine sees it.

Plain frozen dataclasses, built by bot.services.surveyfiles from the files in surveys/ and checked there. The engine
trusts a
Survey it is given: every rule a file can break is reported by the loader, with its line, before a Survey exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Audience(StrEnum):
    PRACTITIONERS = "practitioners"
    YOUNG_PEOPLE = "young_people"
    PARTNERS = "partners"


class Kind(StrEnum):
    SINGLE = "single"
    MULTI = "multi"
    YESNO = "yesno"
    SCALE = "scale"
    NUMBER = "number"
    TEXT = "text"
    KNOWLEDGE = "knowledge"


CHOICE_KINDS = frozenset({Kind.SINGLE, Kind.MULTI, Kind.KNOWLEDGE})
YES, NO = "Yes", "No"
OTHER_LABEL = "Other, please say"
DEFAULT_TEXT_LIMIT = 1000


@dataclass(frozen=True)
class Condition:
    """Ask a question only when an earlier answer is one of `answers` (for multiple choice: includes one of them)."""

    question: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    text: str
    hint: str | None = None
    optional: bool = False
    choices: tuple[str, ...] = ()
    other: bool = False
    correct: str | None = None
    explanation: str | None = None
    low: int | float | None = None
    high: int | float | None = None
    low_label: str | None = None
    high_label: str | None = None
    integer: bool = True
    max_length: int = DEFAULT_TEXT_LIMIT
    ask_if: Condition | None = None
    breakdown: str | None = None
    feedback: bool = False  # a young person's own words for "you said, we did" (bot.services.yousaid)
    line: int = 0

    def options(self) -> tuple[str, ...]:
        """The labels a respondent picks from, in order (empty for number and free text)."""
        if self.kind is Kind.YESNO:
            return (YES, NO)
        if self.kind is Kind.SCALE:
            assert self.low is not None and self.high is not None
            return tuple(str(v) for v in range(int(self.low), int(self.high) + 1))
        if self.kind in CHOICE_KINDS:
            return (*self.choices, OTHER_LABEL) if self.other else self.choices
        return ()

    @property
    def other_id(self) -> str:
        """Where the words typed after "Other, please say" are recorded."""
        return f"{self.id}.other"


@dataclass(frozen=True)
class Survey:
    id: str
    version: int
    title: str
    audience: Audience
    intro: str
    questions: tuple[Question, ...]
    thanks: str = "Thank you. Your answers have been saved."
    min_group: int | None = None  # the file's own reporting threshold: bot.services.policy.Policy.thresholds applies it
    source: str = ""
    path: str = ""
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({q.id: i for i, q in enumerate(self.questions)})

    def question(self, question_id: str) -> Question:
        return self.questions[self._index[question_id]]

    def position(self, question_id: str) -> int:
        return self._index[question_id]

    def breakdowns(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.breakdown)

    def columns(self) -> tuple[str, ...]:
        """Export columns, one per stored answer: a question, plus its "other" words where it has them."""
        cols: list[str] = []
        for q in self.questions:
            cols.append(q.id)
            if q.other:
                cols.append(q.other_id)
        return tuple(cols)

    def feedback(self) -> tuple[str, ...]:
        """Text questions whose answers are "you said" feedback: copied, scrubbed, to the business unit's review."""
        return tuple(q.id for q in self.questions if q.feedback)

    def free_text(self) -> tuple[str, ...]:
        """The columns that hold a respondent's own words (text questions and "other, please say"): these are
        scrubbed before they are stored and blanked when the survey's text retention ends."""
        cols: list[str] = []
        for q in self.questions:
            if q.kind is Kind.TEXT:
                cols.append(q.id)
            if q.other:
                cols.append(q.other_id)
        return tuple(cols)
