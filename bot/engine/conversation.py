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

This module holds the step rules and is the engine's public face: other code imports every name from here. The rest
lives beside it, one concern each: the saved state (bot.engine.state), the events and effects (bot.engine.events),
drawing a question (bot.engine.prompts) and reading typed answers (bot.engine.answers).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.engine import messages as msg
from bot.engine.answers import (
    Parsed,
    Problem,
    clean_text,
    match_label,
    match_yes_no,
    parse_answer,
    show_answer,
)
from bot.engine.events import (
    Answered,
    Ask,
    Back,
    Discard,
    Done,
    Effect,
    Event,
    Finish,
    Notice,
    Pick,
    Prompt,
    Record,
    Reply,
    Resume,
    Say,
    Skip,
    Step,
    Stop,
    Toggle,
    Update,
    Withhold,
)
from bot.engine.prompts import applies, consent_prompt, next_question, other_prompt, prompt_for
from bot.engine.state import CONSENT, State, Status, Value
from bot.engine.survey import OTHER_LABEL, Kind, Question, Survey

# What other code imports from here: this module is the engine's public face, whichever module a name lives in.
__all__ = [
    "CONSENT", "Answered", "Ask", "Back", "Discard", "Done", "Effect", "Event", "Finish", "Notice", "Parsed", "Pick",
    "Problem", "Prompt", "Record", "Reply", "Resume", "Say", "Skip", "State", "Status", "Step", "Stop", "Toggle",
    "Update", "Value", "Withhold", "advance", "applies", "clean_text", "parse_answer", "replace", "start",
]


def start(survey: Survey, now: datetime) -> Step:
    """A new conversation: the privacy notice, then a request for agreement before any question."""
    state = State(survey_id=survey.id, version=survey.version, status=Status.CONSENT, turn=1)
    return Step(state, (Say(survey.intro), Ask(consent_prompt(state))))


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

def _consent(survey: Survey, state: State, event: Event) -> Step:
    choice: int | None = None
    if isinstance(event, Pick):
        choice = event.index
    elif isinstance(event, Reply):
        choice = match_yes_no(event.text)
        if choice is None:
            choice = match_label(event.text, (msg.CONSENT_YES, msg.CONSENT_NO))
    if choice == 0:
        answered = Answered(state.turn, msg.CONSENT_QUESTION, msg.CONSENT_YES)
        first = next_question(survey, state.answers, -1)
        return _ask(survey, replace(state, status=Status.ASKING), first, (answered,))
    if choice == 1 or isinstance(event, Skip):
        answered = Answered(state.turn, msg.CONSENT_QUESTION, msg.CONSENT_NO)
        return Step(replace(state, status=Status.DECLINED), (answered, Say(msg.DECLINED), Finish(completed=False)))
    return Step(state, (Say(msg.YES_OR_NO), Ask(consent_prompt(state))))


def _stop(state: State) -> Step:
    if state.status is Status.CONSENT:
        return Step(replace(state, status=Status.DECLINED), (Say(msg.DECLINED), Finish(completed=False)))
    return Step(replace(state, status=Status.PAUSED), (Say(msg.PAUSED),))


def _resume(survey: Survey, state: State) -> Step:
    state = replace(state, turn=state.turn + 1)
    if state.status is Status.CONSENT:
        return Step(state, (Ask(consent_prompt(state)),))
    state = replace(state, status=Status.ASKING)
    assert state.current is not None
    question = survey.question(state.current)
    if state.awaiting_other:
        return Step(state, (Ask(other_prompt(survey, state, question)),))
    return Step(state, (Ask(prompt_for(survey, state, question)),))


# --- asking ---------------------------------------------------------------------------------------------------------

def _ask(survey: Survey, state: State, question: Question | None, before: tuple[Effect, ...]) -> Step:
    """Move on to `question`, or finish when there is none left. A settled knowledge check is stepped over: it keeps
    its first answer and joins the path again, so it is kept at the end."""
    while question is not None and question.id in state.settled:
        state = replace(state, path=(*state.path, question.id))
        question = next_question(survey, state.answers, survey.position(question.id))
    if question is None:
        return _complete(survey, state, before)
    state = replace(state, current=question.id, turn=state.turn + 1, selection=(), awaiting_other=False)
    return Step(state, (*before, Ask(prompt_for(survey, state, question))))


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
    effects: list[Effect] = [Answered(state.turn, question.text, show_answer(value)),
                             Record(question.id, value, now.date())]
    effects.extend(extra)
    if question.kind is Kind.KNOWLEDGE and value is not None:
        verdict = msg.RIGHT if value == question.correct else msg.NOT_QUITE.format(correct=question.correct)
        effects.append(Say(f"{verdict} {question.explanation}"))
        state = replace(state, settled=(*state.settled, question.id))
    if _chose_other(question, value):
        state = replace(state, answers=answers, turn=state.turn + 1, selection=(), awaiting_other=True)
        return Step(state, (*effects, Ask(other_prompt(survey, state, question))))
    if question.other and question.other_id in answers:
        del answers[question.other_id]
        effects.append(Discard(question.other_id))
    state = replace(state, answers=answers, path=(*state.path, question.id))
    following = next_question(survey, answers, survey.position(question.id))
    return _ask(survey, state, following, tuple(effects))


def _chose_other(question: Question, value: Value) -> bool:
    picked = value if isinstance(value, list) else [value]
    return question.other and OTHER_LABEL in picked


def _reask(survey: Survey, state: State, question: Question, problem: str) -> Step:
    return Step(state, (Say(problem), Ask(prompt_for(survey, state, question, state.selection))))


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
    prompt = prompt_for(survey, state, question)
    return Step(replace(state, selection=prompt.selected), (Ask(prompt),))


def _toggle(survey: Survey, state: State, question: Question, index: int) -> Step:
    options = question.options()
    if question.kind is not Kind.MULTI or not 0 <= index < len(options):
        return Step(state, (Notice(msg.CHOOSE_ONE),))
    current = set(state.selection)
    current.symmetric_difference_update({index})
    state = replace(state, selection=tuple(sorted(current)))
    return Step(state, (Update(prompt_for(survey, state, question, state.selection)),))


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
            return Step(state, (Say(problem), Ask(other_prompt(survey, state, question))))
        words = cleaned or None
    elif not isinstance(event, Skip):
        return Step(state, (Notice(msg.NOT_A_BUTTON_QUESTION),))
    effects: tuple[Effect, ...] = (
        Answered(state.turn, msg.OTHER_PROMPT, words or msg.SKIPPED),
        Record(question.other_id, words, now.date()),
    )
    answers = {**state.answers, question.other_id: words}
    state = replace(state, answers=answers, path=(*state.path, question.id), awaiting_other=False)
    return _ask(survey, state, next_question(survey, answers, survey.position(question.id)), effects)


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
        return _ask(survey, state, next_question(survey, answers, survey.position(question.id)), effects)
    if question.kind is not Kind.TEXT:
        return Step(state, ())
    step = _accept(survey, state, question, placeholder, now)
    shown = tuple(replace(e, answer=msg.REMOVED_SHOWN) if isinstance(e, Answered) else e for e in step.effects)
    return Step(step.state, shown)


# --- typed answers --------------------------------------------------------------------------------------------------

def _reply(survey: Survey, state: State, question: Question, text: str, now: datetime) -> Step:
    parsed = parse_answer(question, text)
    if isinstance(parsed, Problem):
        return _reask(survey, state, question, parsed.message)
    return _accept(survey, state, question, parsed.value, now)
