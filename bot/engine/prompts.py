"""Drawing a question: which question comes next for this person, and the `Prompt` a channel draws it from (the
text, options, ticks, hint, progress and whether Back is offered).

Apart from the step rules because every step ends by drawing something, and the rules read better without the
details of how; reports use `applies` too, to count only those a question was for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.engine import messages as msg
from bot.engine.answers import number_rule, show_answer
from bot.engine.events import Prompt
from bot.engine.state import CONSENT, State, Value
from bot.engine.survey import Kind, Question, Survey

_MISSING: Any = object()


def applies(question: Question, answers: Mapping[str, object]) -> bool:
    """Whether `question` is for this person: its `ask_if` met by their earlier answers (reports use it too)."""
    condition = question.ask_if
    if condition is None:
        return True
    given = answers.get(condition.question)
    if isinstance(given, list):
        return any(value in condition.answers for value in given)
    return given is not None and str(given) in condition.answers


def next_question(survey: Survey, answers: dict[str, Value], after: int) -> Question | None:
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


def consent_prompt(state: State) -> Prompt:
    return Prompt(CONSENT, state.turn, "consent", msg.CONSENT_QUESTION, 0, 0, options=(msg.CONSENT_YES, msg.CONSENT_NO))


def prompt_for(survey: Survey, state: State, question: Question, selected: tuple[int, ...] | None = None) -> Prompt:
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
        previous=None if previous is _MISSING else msg.PREVIOUS_ANSWER.format(answer=show_answer(previous)),
        low_label=question.low_label,
        high_label=question.high_label,
        max_length=question.max_length if question.kind is Kind.TEXT else None,
    )


def _input_hint(question: Question) -> str | None:
    if question.kind is Kind.NUMBER:
        return number_rule(question)
    if question.kind is Kind.TEXT:
        return msg.UP_TO.format(limit=question.max_length)
    return None


def other_prompt(survey: Survey, state: State, question: Question) -> Prompt:
    """The free words after "Other, please say": optional, always with Back to the choice."""
    base = prompt_for(survey, state, question)
    return replace(base, question_id=question.other_id, kind=Kind.TEXT.value, text=msg.OTHER_PROMPT, options=(),
                   selected=(), hint=msg.UP_TO.format(limit=question.max_length), optional=True, can_go_back=True,
                   previous=None, max_length=question.max_length)
