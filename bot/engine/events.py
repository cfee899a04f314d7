"""What goes into the engine and what comes out: the events a person's taps and words become, the effects a step
asks for, and the `Prompt` a channel draws a question from.

Plain frozen values and nothing else, so channels, the service and the tests can build and compare them without
knowing the rules (bot.engine.conversation) that turn one into the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.engine.state import State, Value
from bot.engine.survey import Kind


# Events: what a respondent did. `turn` is the turn a button was drawn for; typed text applies to the current turn
# unless it carries one.
@dataclass(frozen=True)
class Pick:
    turn: int
    index: int


@dataclass(frozen=True)
class Toggle:
    turn: int
    index: int


@dataclass(frozen=True)
class Done:
    turn: int


@dataclass(frozen=True)
class Reply:
    """Typed words. They answer the current question, unless the channel knows which question they were typed for
    (a form on a button, ticked boxes sent with Submit): then `turn` makes a late one stale, like a button."""

    text: str
    turn: int | None = None


@dataclass(frozen=True)
class Skip:
    turn: int | None = None


@dataclass(frozen=True)
class Back:
    turn: int | None = None


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Withhold:
    """A young person's words were held back by the safeguarding check (bot.services.safeguarding) and never reach the
    engine.
    On a free-text question (or "Other, please say") the answer is recorded as "[removed for safety] CATEGORY" and
    the survey moves on; on any other question nothing changes, so the question is simply asked again later."""

    category: str


Event = Pick | Toggle | Done | Reply | Skip | Back | Stop | Resume | Withhold


@dataclass(frozen=True)
class Prompt:
    """A question as a channel should draw it: text, options and the controls it needs."""

    question_id: str
    turn: int
    kind: str
    text: str
    number: int
    total: int
    options: tuple[str, ...] = ()
    selected: tuple[int, ...] = ()
    hint: str | None = None
    optional: bool = False
    can_go_back: bool = False
    previous: str | None = None
    low_label: str | None = None
    high_label: str | None = None
    max_length: int | None = None  # typed words: the most characters taken, so a page can count and stop there

    @property
    def progress(self) -> str:
        return f"{self.number} of {self.total}" if self.total else ""

    @property
    def multiple(self) -> bool:
        return self.kind == Kind.MULTI.value

    @property
    def typed(self) -> bool:
        """Answered by typing a message rather than by a button."""
        return not self.options


# Effects: what should happen. The service stores the first three in one transaction; channels render the rest.
@dataclass(frozen=True)
class Record:
    question_id: str
    value: Value
    on: date


@dataclass(frozen=True)
class Discard:
    question_id: str


@dataclass(frozen=True)
class Finish:
    completed: bool


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Ask:
    prompt: Prompt


@dataclass(frozen=True)
class Update:
    """Redraw a question in place (a multiple-choice tick)."""

    prompt: Prompt


@dataclass(frozen=True)
class Answered:
    """The question drawn for `turn` is answered: show `answer` on it and take its buttons away."""

    turn: int
    question: str
    answer: str


@dataclass(frozen=True)
class Notice:
    """A passing note that needs no message of its own (a toast on a button press)."""

    text: str


Effect = Record | Discard | Finish | Say | Ask | Update | Answered | Notice


@dataclass(frozen=True)
class Step:
    state: State
    effects: tuple[Effect, ...]
