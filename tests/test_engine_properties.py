"""Random event sequences never crash the engine, and never record an answer its question would not accept."""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import conversation as engine
from bot.engine.conversation import Ask, Discard, Finish, Record, State
from bot.engine.survey import Kind, Question, Survey
from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir, load_survey_file

from .conftest import LONDON, SAMPLE

SURVEYS: list[Survey] = [load_survey_file(SAMPLE), *SurveyCatalogue.from_dirs([builtin_survey_dir()]).all()]
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=LONDON)

texts = st.one_of(
    st.sampled_from(["yes", "no", "1", "2", "3", "1, 3", "0", "40", "41", "-1", "3.5", "", " ", "Police", "Other",
                     "Other, please say", "/skip", "1,200", "٣", "²", "🙂", "\u202e", "x" * 5000]),
    st.text(max_size=60),
)
events = st.one_of(
    st.builds(engine.Reply, texts),
    st.builds(lambda d, i: ("pick", d, i), st.integers(-1, 1), st.integers(-2, 12)),
    st.builds(lambda d, i: ("toggle", d, i), st.integers(-1, 1), st.integers(-2, 12)),
    st.builds(lambda d: ("done", d), st.integers(-1, 1)),
    st.builds(lambda d: ("skip", d), st.integers(-1, 1)),
    st.builds(lambda d: ("back", d), st.integers(-1, 1)),
    st.just(engine.Stop()),
    st.just(engine.Resume()),
)


def concrete(raw: object, state: State) -> engine.Event:
    """Button events are drawn near the current turn, so some are current and some stale."""
    if not isinstance(raw, tuple):
        return raw  # type: ignore[return-value]
    kind, delta, *rest = raw
    turn = state.turn + delta
    if kind == "pick":
        return engine.Pick(turn, rest[0])
    if kind == "toggle":
        return engine.Toggle(turn, rest[0])
    return {"done": engine.Done, "skip": engine.Skip, "back": engine.Back}[kind](turn)


def acceptable(question: Question, value: object, other: bool) -> bool:
    if other:
        return value is None or (isinstance(value, str) and 0 < len(value) <= question.max_length)
    if value is None:
        return question.optional
    options = question.options()
    if question.kind in (Kind.SINGLE, Kind.KNOWLEDGE, Kind.YESNO):
        return value in options
    if question.kind is Kind.MULTI:
        return isinstance(value, list) and bool(value) and len(set(value)) == len(value) and set(value) <= set(options)
    if question.kind is Kind.SCALE:
        return isinstance(value, int) and question.low <= value <= question.high  # type: ignore[operator]
    if question.kind is Kind.NUMBER:
        in_range = isinstance(value, (int, float)) and question.low <= value <= question.high  # type: ignore[operator]
        return in_range and (isinstance(value, int) or not question.integer)
    assert question.kind is Kind.TEXT
    return isinstance(value, str) and 0 < len(value) <= question.max_length and value == engine.clean_text(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(survey=st.sampled_from(SURVEYS), script=st.lists(events, max_size=60))
def test_random_sequences_never_crash_nor_record_invalid_answers(survey: Survey, script: list[object]) -> None:
    step = engine.start(survey, NOW)
    state = step.state
    stored: dict[str, object] = {}
    for raw in script:
        step = engine.advance(survey, state, concrete(raw, state), NOW)
        for effect in step.effects:
            if isinstance(effect, Record):
                qid = effect.question_id
                base = qid.removesuffix(".other")
                assert acceptable(survey.question(base), effect.value, qid != base), (qid, effect.value)
                stored[qid] = effect.value
            elif isinstance(effect, Discard):
                stored.pop(effect.question_id, None)
            elif isinstance(effect, Ask) and effect.prompt.total:
                assert 1 <= effect.prompt.number <= effect.prompt.total
        state = State.from_json(json.loads(json.dumps(step.state.to_json())))
        if any(isinstance(e, Finish) and e.completed for e in step.effects):
            # every question on the final path was answered (or skipped when optional), and nothing else is kept
            assert set(state.path) <= set(stored)
            assert {k.removesuffix(".other") for k in stored} <= set(state.path) | set(state.settled)
            for qid in state.path:
                assert acceptable(survey.question(qid), stored[qid], False)


KNOWLEDGE_SURVEYS = [s for s in SURVEYS if any(q.kind is Kind.KNOWLEDGE for q in s.questions)]
# Back and the buttons of the current turn far more often than in the test above, so the checks are often revisited.
revisits = st.sampled_from([("answer", 0), ("answer", 1), ("answer", 2), ("answer", 0), ("answer", 1), ("answer", 2),
                            ("back", 0), ("back", 0), ("skip", 0), ("pick", -1, 0), ("pick", 0, 1),
                            engine.Stop(), engine.Resume()])


def answer(survey: Survey, state: State, raw: object) -> engine.Event:
    """("answer", i): a valid answer to whatever is asked now (option i where there are options)."""
    if not (isinstance(raw, tuple) and raw[0] == "answer"):
        return concrete(raw, state)
    index = raw[1]
    if state.status is engine.Status.CONSENT:
        return engine.Pick(state.turn, 0)
    if state.current is None or state.awaiting_other:
        return engine.Reply("Some words")
    question = survey.question(state.current)
    options = question.options()
    if question.kind is Kind.MULTI:
        return engine.Reply(str(index % len(options) + 1))
    if options:
        return engine.Pick(state.turn, index % len(options))
    if question.kind is Kind.NUMBER:
        return engine.Reply(str(question.low))
    return engine.Reply("Some words")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(survey=st.sampled_from(KNOWLEDGE_SURVEYS), script=st.lists(revisits, min_size=30, max_size=100))
def test_a_knowledge_check_keeps_its_first_answer_whatever_happens_next(survey: Survey, script: list[object]) -> None:
    """Once a knowledge check's explanation is shown, nothing the person does records, changes or drops its answer."""
    assert KNOWLEDGE_SURVEYS
    state = engine.start(survey, NOW).state
    first: dict[str, object] = {}
    for raw in script:
        step = engine.advance(survey, state, answer(survey, state, raw), NOW)
        for effect in step.effects:
            if isinstance(effect, (Record, Discard)) and effect.question_id in first:
                raise AssertionError(f"{effect} after the explanation of {effect.question_id} was shown")
            if isinstance(effect, Record) and effect.value is not None and \
                    survey.question(effect.question_id.removesuffix(".other")).kind is Kind.KNOWLEDGE:
                first[effect.question_id] = effect.value
        state = State.from_json(json.loads(json.dumps(step.state.to_json())))
        for qid, value in first.items():
            assert state.answers[qid] == value and qid in state.settled
        for ask in (e for e in step.effects if isinstance(e, Ask)):
            assert ask.prompt.question_id not in first, "a settled knowledge check was asked again"


@settings(max_examples=60, deadline=None)
@given(survey=st.sampled_from(SURVEYS), choice=st.integers(0, 10))
def test_picking_the_first_valid_option_always_completes(survey: Survey, choice: int) -> None:
    """A respondent who always gives a valid answer reaches the end, in no more steps than there are questions."""
    step = engine.advance(survey, engine.start(survey, NOW).state, engine.Pick(1, 0), NOW)
    for _ in range(3 * len(survey.questions)):
        ask = next((e for e in step.effects if isinstance(e, Ask)), None)
        if ask is None:
            break
        prompt = ask.prompt
        if prompt.multiple:
            step = engine.advance(survey, step.state, engine.Toggle(prompt.turn, choice % len(prompt.options)), NOW)
            event: engine.Event = engine.Done(prompt.turn)
        elif prompt.options:
            event = engine.Pick(prompt.turn, choice % len(prompt.options))
        elif prompt.kind == "number":
            question = survey.question(prompt.question_id)
            event = engine.Reply(str(question.low))
        else:
            event = engine.Reply("Some words")
        step = engine.advance(survey, step.state, event, NOW)
    assert any(isinstance(e, Finish) and e.completed for e in step.effects)
