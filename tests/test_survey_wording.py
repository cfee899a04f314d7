"""How a survey's words reach people on every channel: an intro's lines joined into paragraphs, a title's dash, the
"(optional)" marker, ticked options said back as a sentence, and helplines as links on the web page."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape

from hypothesis import given
from hypothesis import strategies as st

from bot.channels import webpage
from bot.channels.text import prompt_text
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.services.surveyfiles import BULLET, dashed, load_survey_file, parse_survey, reflow

from .conftest import SAMPLE

NOW = datetime(2026, 3, 2, 10, 0)  # the engine takes time as given; no calendar is read
SURVEY = load_survey_file(SAMPLE)

INTRO = """\
id: wrapped
version: 1
title: Wrapped - an intro
audience: practitioners
intro: |
  This survey asks how the escalation policy works for you. It takes about
  five minutes, and you can stop at any time.

  If you need help now, call Childline on 0800 1111.
  - first point,
    wrapped
  - second point
questions:
  - id: q
    kind: yesno
    text: Is it working?
"""


def test_an_intro_block_is_paragraphs_split_by_blank_lines_not_by_every_line() -> None:
    survey = parse_survey(INTRO, "wrapped.yaml")
    assert survey.intro.split("\n\n") == [
        "This survey asks how the escalation policy works for you. It takes about five minutes, and you can stop at "
        "any time.",
        "If you need help now, call Childline on 0800 1111.\n- first point, wrapped\n- second point",
    ]
    html = webpage.say(survey.intro)
    assert html.count("<p>") == 2 and "It takes about five minutes" in html  # no paragraph breaks mid-sentence
    assert "<li>first point, wrapped</li><li>second point</li>" in html


def test_a_titles_spaced_hyphen_is_a_dash() -> None:
    assert parse_survey(INTRO, "wrapped.yaml").title == "Wrapped – an intro"
    assert dashed("Child-led - and well-run") == "Child-led – and well-run"  # hyphens inside words stay


lines = st.lists(st.one_of(st.just(""), st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
                                                 max_size=30)), max_size=12)


@given(lines)
def test_reflow_keeps_every_word_in_order_and_breaks_only_at_blank_lines(written: list[str]) -> None:
    text = "\n".join(written)
    flowed = reflow(text)
    assert flowed.split() == text.split()  # nothing lost, nothing added, nothing reordered
    blocks_written = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    assert len([p for p in flowed.split("\n\n") if p]) == len(blocks_written)
    for paragraph in flowed.split("\n\n"):  # within a paragraph only a bullet starts a new line
        assert all(BULLET.match(line) for line in paragraph.split("\n")[1:])
    assert reflow(flowed) == flowed  # reading it twice changes nothing


def test_an_optional_question_says_so_on_every_channel() -> None:
    step = engine.advance(SURVEY, engine.start(SURVEY, NOW).state, engine.Pick(1, 0), NOW)
    optional = engine.replace(step.effects[-1].prompt, optional=True)  # type: ignore[union-attr]
    assert prompt_text(optional).splitlines()[0].endswith(f"Which agency? {msg.OPTIONAL}")
    assert msg.OPTIONAL in webpage.question("/s/x", optional)
    required = engine.replace(optional, optional=False)
    assert msg.OPTIONAL not in prompt_text(required) and msg.OPTIONAL not in webpage.question("/s/x", required)


def test_ticked_options_are_said_back_as_a_sentence() -> None:
    state = engine.start(SURVEY, NOW).state
    for event in (engine.Pick(1, 0), engine.Pick(2, 0), engine.Pick(3, 0)):
        state = engine.advance(SURVEY, state, event, NOW).state
    step = engine.advance(SURVEY, state, engine.Reply("1, 2, 4", state.turn), NOW)  # Briefing, Email, Other
    answered = [e for e in step.effects if isinstance(e, engine.Answered)]
    assert answered[0].answer == f"Briefing, Email and {msg.SOMETHING_ELSE}"


@given(st.text(max_size=80))
def test_helpline_links_never_let_markup_through_and_keep_the_words(text: str) -> None:
    html = webpage.linked(text)
    bare = re.sub(r'<a href="(tel:\d+|sms:85258\?&amp;body=SHOUT)">', "", html).replace("</a>", "")
    assert "<" not in bare and unescape(bare) == text


def test_the_helplines_are_links_to_call_or_text() -> None:
    html = webpage.say(msg.CARE_SIGNPOST)
    assert '<a href="tel:08001111">0800 1111</a>' in html
    assert '<a href="tel:999">999</a>' in html
    assert '<a href="sms:85258?&amp;body=SHOUT">text SHOUT to 85258</a>' in html
    assert "tel:" not in webpage.linked("ref 0800 999 1234 and 19990")
