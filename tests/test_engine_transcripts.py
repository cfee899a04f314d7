"""Golden transcripts: dialogues written as data (tests/transcripts/*.yaml), events in and effects out.

The state is serialised to JSON and read back between every step, so a conversation can stop at any point (a restart,
another process) and carry on exactly the same.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import (
    Answered,
    Ask,
    Discard,
    Effect,
    Finish,
    Notice,
    Record,
    Say,
    State,
    Update,
)
from bot.services.surveyfiles import SurveyCatalogue, parse_survey

from .conftest import LONDON

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.yaml"))
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=LONDON)


def summary(effect: Effect) -> str:
    """One line per effect, in the words the transcripts use."""
    if isinstance(effect, Say):
        return f"say: {effect.text}"
    if isinstance(effect, (Ask, Update)):
        prompt = effect.prompt
        if isinstance(effect, Update):
            return f"update: {prompt.question_id} {list(prompt.selected)}"
        line = f"ask: {prompt.question_id} {prompt.progress}".rstrip()
        if prompt.previous:
            line += f" previous={prompt.previous}"
        if prompt.selected:
            line += f" selected={list(prompt.selected)}"
        return line
    if isinstance(effect, Answered):
        return f"answered: {effect.answer}"
    if isinstance(effect, Record):
        return f"record: {effect.question_id} = {json.dumps(effect.value)}"
    if isinstance(effect, Discard):
        return f"discard: {effect.question_id}"
    if isinstance(effect, Finish):
        return f"finish: {'completed' if effect.completed else 'declined'}"
    assert isinstance(effect, Notice)
    return f"notice: {effect.text}"


def event(step: Any, state: State) -> engine.Event:
    if isinstance(step, str):
        simple = {"done": engine.Done(state.turn), "skip": engine.Skip(state.turn), "back": engine.Back(state.turn),
                  "stop": engine.Stop(), "resume": engine.Resume()}
        return simple[step]
    ((kind, value),) = step.items()
    if kind == "reply":
        return engine.Reply(str(value))
    if kind == "pick":
        return engine.Pick(state.turn, int(value))
    if kind == "pick_stale":
        return engine.Pick(state.turn - 1, int(value))
    if kind == "toggle":
        return engine.Toggle(state.turn, int(value))
    raise AssertionError(f"unknown step {step!r}")


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript(path: Path, catalogue: SurveyCatalogue) -> None:
    script = yaml.safe_load(path.read_text())
    survey = catalogue.latest(script["survey"])
    state: State | None = None
    for number, step in enumerate(script["steps"], start=1):
        if step["do"] == "start":
            result = engine.start(survey, NOW)
        else:
            assert state is not None
            result = engine.advance(survey, state, event(step["do"], state), NOW)
        got = [summary(e) for e in result.effects]
        assert got == step["expect"], f"{path.name} step {number} ({step['do']})"
        for record in (e for e in result.effects if isinstance(e, Record)):
            assert record.on == NOW.date()
        state = State.from_json(json.loads(json.dumps(result.state.to_json())))
        assert state == result.state


def test_transcripts_exist() -> None:
    assert len(TRANSCRIPTS) >= 5


def test_when_only_settled_checks_lie_behind_back_is_hidden_and_a_typed_back_says_why() -> None:
    survey = parse_survey("""
id: quiz
version: 1
title: Two checks
audience: practitioners
intro: Two quick checks.
questions:
  - id: first
    kind: knowledge
    text: Who do you call first?
    choices: [Your lead, Nobody]
    correct: Your lead
    explanation: Your lead can help you decide.
  - id: second
    kind: knowledge
    text: And then?
    choices: [Write it down, Forget it]
    correct: Write it down
    explanation: A record helps the next person.
  - id: comment
    kind: text
    text: Anything else?
""")
    step = engine.start(survey, NOW)
    step = engine.advance(survey, step.state, engine.Pick(step.state.turn, 0), NOW)  # consent
    step = engine.advance(survey, step.state, engine.Pick(step.state.turn, 1), NOW)  # "Nobody": wrong
    step = engine.advance(survey, step.state, engine.Pick(step.state.turn, 0), NOW)  # right
    (ask,) = (e for e in step.effects if isinstance(e, Ask))
    assert ask.prompt.question_id == "comment" and not ask.prompt.can_go_back
    back = engine.advance(survey, step.state, engine.Back(), NOW)
    assert back.state == step.state
    assert [summary(e) for e in back.effects] == [f"notice: {msg.ANSWER_STAYS}", f"say: {msg.ANSWER_STAYS}"]
    done = engine.advance(survey, back.state, engine.Reply("No"), NOW)
    assert [summary(e) for e in done.effects if isinstance(e, (Record, Discard))] == ['record: comment = "No"']
    assert done.state.answers == {"first": "Nobody", "second": "Write it down", "comment": "No"}


def test_a_conversation_saved_before_checks_were_settled_keeps_its_answered_checks(catalogue: SurveyCatalogue) -> None:
    """State stored by the previous release has no `settled`: an answered check still cannot be reopened."""
    survey = catalogue.latest("sample")
    state = engine.start(survey, NOW).state
    for event in (engine.Pick(1, 0), engine.Pick(2, 1), engine.Pick(3, 1), engine.Pick(4, 2),
                  engine.Reply("3"), engine.Pick(6, 0)):
        state = engine.advance(survey, state, event, NOW).state
    assert state.current == "comment" and state.answers["first_step"] == "Call"
    saved = state.to_json()
    del saved["settled"]
    back = engine.advance(survey, State.from_json(saved), engine.Back(), NOW)
    assert [summary(e) for e in back.effects] == [f"say: {msg.PASSED_OVER}",
                                                  "ask: visits 4 of 6 previous=Your answer was: 3"]
