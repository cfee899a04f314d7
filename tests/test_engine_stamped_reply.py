"""Typed words that carry the turn they were typed for (a form opened from a button, ticked boxes sent with Submit)
answer that question only: late ones record nothing, exactly like an old button."""

from __future__ import annotations

from datetime import datetime

from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Notice, Record
from bot.engine.survey import Survey

NOW = datetime(2026, 3, 2, 9, 30)


def test_a_stamped_reply_answers_its_own_question_and_a_late_one_records_nothing(sample: Survey) -> None:
    step = engine.start(sample, NOW)
    step = engine.advance(sample, step.state, engine.Reply("yes", turn=step.state.turn), NOW)
    agency_turn = step.state.turn
    step = engine.advance(sample, step.state, engine.Reply("2", turn=agency_turn), NOW)
    assert Record("agency", "Health", NOW.date()) in step.effects

    late = engine.advance(sample, step.state, engine.Reply("1", turn=agency_turn), NOW)
    assert late.state == step.state
    assert late.effects == (Notice(msg.ALREADY_ANSWERED),)

    step = engine.advance(sample, step.state, engine.Reply("yes", turn=step.state.turn), NOW)  # aware
    step = engine.advance(sample, step.state, engine.Reply("1, 3", turn=step.state.turn), NOW)  # sources (multi)
    assert Record("sources", ["Briefing", "off"], NOW.date()) in step.effects


def test_an_unstamped_reply_still_answers_whatever_is_current(sample: Survey) -> None:
    step = engine.start(sample, NOW)
    step = engine.advance(sample, step.state, engine.Reply("yes"), NOW)
    step = engine.advance(sample, step.state, engine.Reply("Police"), NOW)
    assert Record("agency", "Police", NOW.date()) in step.effects
