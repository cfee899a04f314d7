"""The conversation engine: `advance(survey, state, event, now) -> Step(new state, effects)`.

A pure function, in the manner of RapidPro's flow engine: no I/O, no clock (time comes in as `now`), no randomness and
no platform types. Channels translate their updates into the events below and render the effects; the service stores
`Record`/`Discard`/`Finish` effects and the new state in one transaction, then sends the rest. Participant mistakes
are not exceptions: they produce a kind re-ask and record nothing. State round-trips through JSON.

Every question is asked under a `turn` number. Buttons carry the turn they were drawn for, so a double tap or a press
on an old message (stale turn) changes nothing and records nothing.

A knowledge check is evidence of what someone knew before the survey taught them: once its explanation has been shown
the question is `settled`. Back passes over it (saying so), moving forward again steps over it, and its answer is
never recorded again nor discarded, so the stored, exported and reported answer is the first one, in every channel.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.engine import messages as msg
from bot.engine.survey import NO, OTHER_LABEL, YES, Kind, Question, Survey

CONSENT = "_consent"
Value = str | int | float | list[str] | None


class Status(StrEnum):
    CONSENT = "consent"
    ASKING = "asking"
    PAUSED = "paused"
    DONE = "done"
    DECLINED = "declined"


@dataclass(frozen=True)
class State:
    survey_id: str
    version: int
    status: Status = Status.CONSENT
    current: str | None = None
    path: tuple[str, ...] = ()
    answers: dict[str, Value] = field(default_factory=dict)
    turn: int = 0
    selection: tuple[int, ...] = ()
    awaiting_other: bool = False
    settled: tuple[str, ...] = ()  # knowledge checks whose explanation was shown: their first answer stands

    def to_json(self) -> dict[str, Any]:
        return {
            "survey_id": self.survey_id,
            "version": self.version,
            "status": self.status.value,
            "current": self.current,
            "path": list(self.path),
            "answers": dict(self.answers),
            "turn": self.turn,
            "selection": list(self.selection),
            "awaiting_other": self.awaiting_other,
            "settled": list(self.settled),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls(
            survey_id=data["survey_id"],
            version=int(data["version"]),
            status=Status(data["status"]),
            current=data.get("current"),
            path=tuple(data.get("path", ())),
            answers=dict(data.get("answers", {})),
            turn=int(data.get("turn", 0)),
            selection=tuple(data.get("selection", ())),
            awaiting_other=bool(data.get("awaiting_other", False)),
            settled=tuple(data.get("settled", ())),
        )

    @property
    def finished(self) -> bool:
        return self.status in (Status.DONE, Status.DECLINED)


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


def start(survey: Survey, now: datetime) -> Step:
    """A new conversation: the privacy notice, then a request for agreement before any question."""
    state = State(survey_id=survey.id, version=survey.version, status=Status.CONSENT, turn=1)
    return Step(state, (Say(survey.intro), Ask(_consent_prompt(state))))


def advance(survey: Survey, state: State, event: Event, now: datetime) -> Step:
    """Apply one event. Never raises for anything a respondent can send."""
    if state.finished:
        return Step(state, (Say(msg.ALREADY_FINISHED),))
    state = _settle_earlier(survey, state)
    if isinstance(event, Stop):
        return _stop(state)
    if isinstance(event, Resume):
        return _resume(survey, state)
    if isinstance(event, Withhold):
        return _withhold(survey, state, event.category, now)
    turn = getattr(event, "turn", None)
    if turn is not None and turn != state.turn:
        return Step(state, (Notice(msg.ALREADY_ANSWERED),))
    if state.status is Status.PAUSED:
        if turn is None:
            return Step(state, (Say(msg.STILL_PAUSED),))
        state = replace(state, status=Status.ASKING)  # a press on the current question's button carries on
    if state.status is Status.CONSENT:
        return _consent(survey, state, event)
    assert state.current is not None
    question = survey.question(state.current)
    if state.awaiting_other:
        return _other(survey, state, question, event, now)
    if isinstance(event, Skip):
        return _skip(survey, state, question, now)
    if isinstance(event, Back):
        return _back(survey, state)
    if isinstance(event, Toggle):
        return _toggle(survey, state, question, event.index)
    if isinstance(event, Done):
        return _done(survey, state, question, now)
    if isinstance(event, Pick):
        return _pick(survey, state, question, event.index, now)
    return _reply(survey, state, question, event.text, now)


def _settle_earlier(survey: Survey, state: State) -> State:
    """A conversation saved before `settled` existed: every knowledge check it answered had its explanation shown
    (only a skip records nothing to explain), so those answers are settled too."""
    if state.settled or not state.answers:
        return state
    checks = {q.id for q in survey.questions if q.kind is Kind.KNOWLEDGE}
    earlier = tuple(qid for qid, value in state.answers.items() if qid in checks and value is not None)
    return replace(state, settled=earlier) if earlier else state


# --- consent, stop and resume -------------------------------------------------------------------------------------

def _consent_prompt(state: State) -> Prompt:
    return Prompt(CONSENT, state.turn, "consent", msg.CONSENT_QUESTION, 0, 0, options=(msg.CONSENT_YES, msg.CONSENT_NO))


def _consent(survey: Survey, state: State, event: Event) -> Step:
    choice: int | None = None
    if isinstance(event, Pick):
        choice = event.index
    elif isinstance(event, Reply):
        choice = _match_yes_no(event.text)
        if choice is None:
            choice = _match_label(event.text, (msg.CONSENT_YES, msg.CONSENT_NO))
    if choice == 0:
        answered = Answered(state.turn, msg.CONSENT_QUESTION, msg.CONSENT_YES)
        first = _next_question(survey, state.answers, -1)
        return _ask(survey, replace(state, status=Status.ASKING), first, (answered,))
    if choice == 1 or isinstance(event, Skip):
        answered = Answered(state.turn, msg.CONSENT_QUESTION, msg.CONSENT_NO)
        return Step(replace(state, status=Status.DECLINED), (answered, Say(msg.DECLINED), Finish(completed=False)))
    return Step(state, (Say(msg.YES_OR_NO), Ask(_consent_prompt(state))))


def _stop(state: State) -> Step:
    if state.status is Status.CONSENT:
        return Step(replace(state, status=Status.DECLINED), (Say(msg.DECLINED), Finish(completed=False)))
    return Step(replace(state, status=Status.PAUSED), (Say(msg.PAUSED),))


def _resume(survey: Survey, state: State) -> Step:
    state = replace(state, turn=state.turn + 1)
    if state.status is Status.CONSENT:
        return Step(state, (Ask(_consent_prompt(state)),))
    state = replace(state, status=Status.ASKING)
    assert state.current is not None
    question = survey.question(state.current)
    if state.awaiting_other:
        return Step(state, (Ask(_other_prompt(survey, state, question)),))
    return Step(state, (Ask(_prompt(survey, state, question)),))


# --- asking ---------------------------------------------------------------------------------------------------------

def applies(question: Question, answers: Mapping[str, object]) -> bool:
    """Whether `question` is for this person: its `ask_if` met by their earlier answers (reports use it too)."""
    condition = question.ask_if
    if condition is None:
        return True
    given = answers.get(condition.question)
    if isinstance(given, list):
        return any(value in condition.answers for value in given)
    return given is not None and str(given) in condition.answers


def _next_question(survey: Survey, answers: dict[str, Value], after: int) -> Question | None:
    for question in survey.questions[after + 1:]:
        if applies(question, answers):
            return question
    return None


def _total(survey: Survey, state: State, current: Question) -> int:
    """Questions this person will see, as far as we can tell yet (later conditions not yet decided count)."""
    position = survey.position(current.id)
    remaining = 0
    for question in survey.questions[position + 1:]:
        condition = question.ask_if
        undecided = condition is not None and (
            condition.question == current.id or survey.position(condition.question) > position
        )
        if undecided or applies(question, state.answers):
            remaining += 1
    return len(state.path) + 1 + remaining


def _prompt(survey: Survey, state: State, question: Question, selected: tuple[int, ...] | None = None) -> Prompt:
    """Draw a question; ticks are `selected`, or when not given, those of the answer given before."""
    previous = state.answers.get(question.id, _MISSING)
    options = question.options()
    if selected is None:
        selected = ()
        if question.kind is Kind.MULTI and isinstance(previous, list):
            selected = tuple(i for i, option in enumerate(options) if option in previous)
    return Prompt(
        question_id=question.id,
        turn=state.turn,
        kind=question.kind.value,
        text=question.text,
        number=len(state.path) + 1,
        total=_total(survey, state, question),
        options=options,
        selected=selected,
        hint=question.hint or _input_hint(question),
        optional=question.optional,
        can_go_back=any(qid not in state.settled for qid in state.path),
        previous=None if previous is _MISSING else msg.PREVIOUS_ANSWER.format(answer=_show(previous)),
        low_label=question.low_label,
        high_label=question.high_label,
        max_length=question.max_length if question.kind is Kind.TEXT else None,
    )


def _input_hint(question: Question) -> str | None:
    if question.kind is Kind.NUMBER:
        return _number_rule(question)
    if question.kind is Kind.TEXT:
        return msg.UP_TO.format(limit=question.max_length)
    return None


def _other_prompt(survey: Survey, state: State, question: Question) -> Prompt:
    base = _prompt(survey, state, question)
    return replace(base, question_id=question.other_id, kind=Kind.TEXT.value, text=msg.OTHER_PROMPT, options=(),
                   selected=(), hint=msg.UP_TO.format(limit=question.max_length), optional=True, can_go_back=True,
                   previous=None, max_length=question.max_length)


def _ask(survey: Survey, state: State, question: Question | None, before: tuple[Effect, ...]) -> Step:
    """Move on to `question`, or finish when there is none left. A settled knowledge check is stepped over: it keeps
    its first answer and joins the path again, so it is kept at the end."""
    while question is not None and question.id in state.settled:
        state = replace(state, path=(*state.path, question.id))
        question = _next_question(survey, state.answers, survey.position(question.id))
    if question is None:
        return _complete(survey, state, before)
    state = replace(state, current=question.id, turn=state.turn + 1, selection=(), awaiting_other=False)
    return Step(state, (*before, Ask(_prompt(survey, state, question))))


def _complete(survey: Survey, state: State, before: tuple[Effect, ...]) -> Step:
    """Finish, discarding answers to questions that no longer apply after someone went back and changed course.
    A settled knowledge check is never discarded: dropping a wrong first answer would make the evidence look better."""
    kept: set[str] = set(state.path) | set(state.settled)
    for qid in state.path:
        question = survey.question(qid)
        if _chose_other(question, state.answers.get(qid)):
            kept.add(question.other_id)
    discards = tuple(Discard(qid) for qid in sorted(state.answers) if qid not in kept)
    answers = {qid: value for qid, value in state.answers.items() if qid in kept}
    done = replace(state, status=Status.DONE, current=None, answers=answers, selection=(), awaiting_other=False)
    return Step(done, (*before, *discards, Say(survey.thanks), Finish(completed=True)))


def _accept(survey: Survey, state: State, question: Question, value: Value, now: datetime,
            extra: tuple[Effect, ...] = ()) -> Step:
    """A valid answer: record it, explain a knowledge check, and move on (or ask for the "other" words)."""
    answers = {**state.answers, question.id: value}
    effects: list[Effect] = [Answered(state.turn, question.text, _show(value)), Record(question.id, value, now.date())]
    effects.extend(extra)
    if question.kind is Kind.KNOWLEDGE and value is not None:
        verdict = msg.RIGHT if value == question.correct else msg.NOT_QUITE.format(correct=question.correct)
        effects.append(Say(f"{verdict} {question.explanation}"))
        state = replace(state, settled=(*state.settled, question.id))
    if _chose_other(question, value):
        state = replace(state, answers=answers, turn=state.turn + 1, selection=(), awaiting_other=True)
        return Step(state, (*effects, Ask(_other_prompt(survey, state, question))))
    if question.other and question.other_id in answers:
        del answers[question.other_id]
        effects.append(Discard(question.other_id))
    state = replace(state, answers=answers, path=(*state.path, question.id))
    following = _next_question(survey, answers, survey.position(question.id))
    return _ask(survey, state, following, tuple(effects))


def _chose_other(question: Question, value: Value) -> bool:
    picked = value if isinstance(value, list) else [value]
    return question.other and OTHER_LABEL in picked


def _reask(survey: Survey, state: State, question: Question, problem: str) -> Step:
    return Step(state, (Say(problem), Ask(_prompt(survey, state, question, state.selection))))


def _skip(survey: Survey, state: State, question: Question, now: datetime) -> Step:
    if not question.optional:
        return Step(state, (Notice(msg.CANNOT_SKIP), Say(msg.CANNOT_SKIP)))
    return _accept(survey, state, question, None, now)


def _back(survey: Survey, state: State) -> Step:
    """Reopen the question before this one, passing over settled knowledge checks (their answer cannot change)."""
    if not state.path:
        return Step(state, (Notice(msg.FIRST_QUESTION), Say(msg.FIRST_QUESTION)))
    path = state.path
    while path and path[-1] in state.settled:
        path = path[:-1]
    if not path:
        return Step(state, (Notice(msg.ANSWER_STAYS), Say(msg.ANSWER_STAYS)))
    step = _reopen(survey, replace(state, path=path[:-1]), survey.question(path[-1]))
    if len(path) < len(state.path):
        return Step(step.state, (Say(msg.PASSED_OVER), *step.effects))
    return step


def _reopen(survey: Survey, state: State, question: Question) -> Step:
    """Ask an answered question again, showing the answer given and (for multiple choice) its ticks."""
    state = replace(state, current=question.id, turn=state.turn + 1, selection=(), awaiting_other=False)
    prompt = _prompt(survey, state, question)
    return Step(replace(state, selection=prompt.selected), (Ask(prompt),))


def _toggle(survey: Survey, state: State, question: Question, index: int) -> Step:
    options = question.options()
    if question.kind is not Kind.MULTI or not 0 <= index < len(options):
        return Step(state, (Notice(msg.CHOOSE_ONE),))
    current = set(state.selection)
    current.symmetric_difference_update({index})
    state = replace(state, selection=tuple(sorted(current)))
    return Step(state, (Update(_prompt(survey, state, question, state.selection)),))


def _done(survey: Survey, state: State, question: Question, now: datetime) -> Step:
    if question.kind is not Kind.MULTI:
        return Step(state, (Notice(msg.CHOOSE_ONE),))
    selection = state.selection
    if not selection:
        return Step(state, (Notice(msg.CHOOSE_AT_LEAST_ONE), Say(msg.CHOOSE_AT_LEAST_ONE)))
    options = question.options()
    return _accept(survey, state, question, [options[i] for i in sorted(selection)], now)


def _pick(survey: Survey, state: State, question: Question, index: int, now: datetime) -> Step:
    options = question.options()
    if question.kind is Kind.MULTI:
        return _toggle(survey, state, question, index)
    if not options:
        return Step(state, (Notice(msg.NOT_A_BUTTON_QUESTION),))
    if not 0 <= index < len(options):
        return _reask(survey, state, question, msg.CHOOSE_ONE)
    value: Value = int(options[index]) if question.kind is Kind.SCALE else options[index]
    return _accept(survey, state, question, value, now)


def _other(survey: Survey, state: State, question: Question, event: Event, now: datetime) -> Step:
    """The free words after "Other, please say": optional, so Skip moves on; Back returns to the choice."""
    if isinstance(event, Back):
        return _reopen(survey, state, question)
    words: str | None = None
    if isinstance(event, Reply):
        cleaned = clean_text(event.text)
        if len(cleaned) > question.max_length:
            problem = msg.TOO_LONG.format(length=len(cleaned), limit=question.max_length)
            return Step(state, (Say(problem), Ask(_other_prompt(survey, state, question))))
        words = cleaned or None
    elif not isinstance(event, Skip):
        return Step(state, (Notice(msg.NOT_A_BUTTON_QUESTION),))
    effects: tuple[Effect, ...] = (
        Answered(state.turn, msg.OTHER_PROMPT, words or msg.SKIPPED),
        Record(question.other_id, words, now.date()),
    )
    answers = {**state.answers, question.other_id: words}
    state = replace(state, answers=answers, path=(*state.path, question.id), awaiting_other=False)
    return _ask(survey, state, _next_question(survey, answers, survey.position(question.id)), effects)


def _withhold(survey: Survey, state: State, category: str, now: datetime) -> Step:
    if state.status not in (Status.ASKING, Status.PAUSED) or state.current is None:
        return Step(state, ())
    question = survey.question(state.current)
    placeholder = f"{msg.REMOVED_FOR_SAFETY} {category}"
    state = replace(state, status=Status.ASKING)
    if state.awaiting_other:
        effects: tuple[Effect, ...] = (Answered(state.turn, msg.OTHER_PROMPT, msg.REMOVED_SHOWN),
                                       Record(question.other_id, placeholder, now.date()))
        answers = {**state.answers, question.other_id: placeholder}
        state = replace(state, answers=answers, path=(*state.path, question.id), awaiting_other=False)
        return _ask(survey, state, _next_question(survey, answers, survey.position(question.id)), effects)
    if question.kind is not Kind.TEXT:
        return Step(state, ())
    step = _accept(survey, state, question, placeholder, now)
    shown = tuple(replace(e, answer=msg.REMOVED_SHOWN) if isinstance(e, Answered) else e for e in step.effects)
    return Step(step.state, shown)


# --- typed answers --------------------------------------------------------------------------------------------------

# control and invisible direction characters, and lone surrogates (JSON may carry "\ud800", which no database or
# UTF-8 file can store)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Typed text as we keep it: normalised, without control or invisible direction characters, trimmed."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


def _reply(survey: Survey, state: State, question: Question, text: str, now: datetime) -> Step:
    parsed = parse_answer(question, text)
    if isinstance(parsed, Problem):
        return _reask(survey, state, question, parsed.message)
    return _accept(survey, state, question, parsed.value, now)


@dataclass(frozen=True)
class Parsed:
    value: Value


@dataclass(frozen=True)
class Problem:
    message: str


def parse_answer(question: Question, text: str) -> Parsed | Problem:
    """What a typed message means for this question, or the kind re-ask to send instead."""
    cleaned = clean_text(text)
    options = question.options()
    if question.kind is Kind.TEXT:
        if not cleaned:
            return Problem(msg.EMPTY_TEXT)
        if len(cleaned) > question.max_length:
            return Problem(msg.TOO_LONG.format(length=len(cleaned), limit=question.max_length))
        return Parsed(cleaned)
    if question.kind is Kind.NUMBER:
        return _parse_number(question, cleaned)
    if question.kind is Kind.SCALE:
        assert question.low is not None and question.high is not None
        number = _parse_number(question, cleaned)
        if isinstance(number, Problem) or not isinstance(number.value, int):
            return Problem(msg.SCALE_RANGE.format(low=int(question.low), high=int(question.high)))
        return number
    if question.kind is Kind.YESNO:
        choice = _match_yes_no(cleaned)
        return Problem(msg.YES_OR_NO) if choice is None else Parsed((YES, NO)[choice])
    if question.kind is Kind.MULTI:
        picks = _match_many(cleaned, options)
        if picks is None:
            return Problem(msg.CHOOSE_SOME)
        return Parsed([options[i] for i in picks])
    index = _match_label(cleaned, options)
    return Problem(msg.CHOOSE_ONE) if index is None else Parsed(options[index])


def _number_rule(question: Question) -> str:
    template = msg.WHOLE_NUMBER if question.integer else msg.ANY_NUMBER
    return template.format(low=_show(question.low), high=_show(question.high))


_NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d{1,12})(\.\d{1,6})?$")


def _parse_number(question: Question, text: str) -> Parsed | Problem:
    assert question.low is not None and question.high is not None
    raw = text.replace(" ", "")
    if not _NUMBER.match(raw) or (question.integer and "." in raw):
        return Problem(_number_rule(question))
    number: int | float = float(raw.replace(",", "")) if "." in raw else int(raw.replace(",", ""))
    if not question.low <= number <= question.high:
        return Problem(_number_rule(question))
    return Parsed(number)


_YES_WORDS = frozenset({"y", "yes", "yeah", "yep", "yup", "ok", "okay", "sure", "1"})
_NO_WORDS = frozenset({"n", "no", "nope", "nah", "2"})


def _match_yes_no(text: str) -> int | None:
    word = text.strip().casefold().rstrip(".!")
    if word in _YES_WORDS:
        return 0
    if word in _NO_WORDS:
        return 1
    return None


def _match_label(text: str, options: tuple[str, ...]) -> int | None:
    """An option by its number (1-based) or by its exact words, ignoring case."""
    word = text.strip().casefold().rstrip(".")
    if word.isdigit() and word.isascii():
        number = int(word)
        return number - 1 if 1 <= number <= len(options) else None
    for index, option in enumerate(options):
        if option.casefold() == word:
            return index
    return None


def _match_many(text: str, options: tuple[str, ...]) -> list[int] | None:
    whole = _match_label(text, options)
    if whole is not None:
        return [whole]
    parts = [part for part in re.split(r"[,;\s]+" if re.fullmatch(r"[\d,;\s]+", text) else r"[,;]", text)
             if part.strip()]
    picks = [_match_label(part, options) for part in parts]
    if not picks or any(p is None for p in picks):
        return None
    return sorted({p for p in picks if p is not None})


def _show(value: object) -> str:
    if value is None:
        return msg.SKIPPED
    if isinstance(value, list):
        return _listed([msg.SOMETHING_ELSE if v == OTHER_LABEL else str(v) for v in value])
    if value == OTHER_LABEL:
        return msg.SOMETHING_ELSE
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _listed(items: list[str]) -> str:
    """Ticked options as a person would say them back: "A, B and something else". The options' own commas would
    make a plain comma list ambiguous, so the last one is joined with "and"."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


_MISSING: Any = object()
