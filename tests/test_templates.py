"""The HTML templates (bot/templates): every page escapes whatever a person wrote, and every template is drawn by
its real renderer with nothing missing.

Hostile text goes in where people's words go in real use (a survey's title, question and option, a typed answer,
a comment, a theme, a quote, a reply) and must come out as text. These tests fail if autoescaping is switched off,
and the StrictUndefined ones fail if a template may print nothing for a value it was not given.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import StrictUndefined, UndefinedError
from markupsafe import escape

from bot import templates
from bot.channels import about, webpage
from bot.channels import web_words as words
from bot.channels.email import message as mail
from bot.channels.email.links import stop_page
from bot.channels.teams.downloads import download_page
from bot.domain.address import Address
from bot.engine.conversation import Answered, Prompt
from bot.engine.survey import Survey
from bot.reporting import board, html
from bot.reporting.compare import compare
from bot.reporting.figures import build_wave
from bot.reporting.report import Report
from bot.reporting.tally import add, new_tally
from bot.services.policy import Policy, Thresholds
from bot.services.safeguarding.checkin import CheckIn, Choice
from bot.services.surveyfiles import load_survey_file
from bot.services.yousaid import Board, ReplyView, ThemeView
from storage.results import RoundFacts

from .conftest import SAMPLE

# Markup that would run, or break out of an attribute, if it were not escaped. No single quote: it goes into YAML.
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">&amp;'
ESCAPED = str(escape(HOSTILE))
ASSETS = {"chat.css": "/static/chat.css", "chat.js": "/static/chat.js", "icon.svg": "/static/icon.svg"}


def assert_escaped(page: str, where: str) -> None:
    """The hostile text is in the page as text, and nothing of it is markup."""
    assert HOSTILE not in page, f"{where}: hostile text went in unescaped"
    assert "<script>" not in page and "<img" not in page and 'onerror="' not in page, where
    assert ESCAPED in page, f"{where}: the words should still be shown, escaped"


@pytest.fixture(scope="module")
def hostile_survey(tmp_path_factory: pytest.TempPathFactory) -> Survey:
    """The sample survey with a hostile title, question and option, loaded the way every survey file is."""
    text = SAMPLE.read_text(encoding="utf-8")
    quoted = f"'{HOSTILE}'"
    text = text.replace("title: Sample of every kind", f"title: {quoted}")
    text = text.replace("text: Which agency?", f"text: {quoted}")
    text = text.replace("choices: [Police, Health,", f"choices: [Police, {quoted},")
    path = Path(tmp_path_factory.mktemp("hostile")) / "sample.yaml"
    path.write_text(text, encoding="utf-8")
    survey = load_survey_file(path)
    assert survey.title == HOSTILE and HOSTILE in survey.question("agency").choices
    return survey


def hostile_board(survey_id: str = "sample", wave: int | None = 1) -> Board:
    """A board whose theme name, quote and approved reply are all hostile text."""
    reply = ReplyView(1, 1, HOSTILE, "in-progress", date(2026, 3, 4), True, date(2026, 3, 5), False, 12,
                      Counter({"helps": 6, "not-really": 1}))
    theme = ThemeView(1, survey_id, 1, HOSTILE, 14, (HOSTILE,), (reply,))
    return Board(HOSTILE, survey_id, wave, Thresholds(5, 10), (theme,), date(2026, 3, 6))


def hostile_report(survey: Survey) -> Report:
    """Two waves of the hostile survey, compared, with comments and the board's replies: every part of the page."""
    waves = []
    for wave in (1, 2):
        tally = new_tally("sample", wave, [survey])
        for number in range(24):
            add(tally, {"agency": HOSTILE if number % 2 else "Police", "aware": "Yes" if number % 3 else "No",
                        "sources": ["Briefing", "Email"], "confidence": 1 + (number + wave) % 5,
                        "visits": number + wave, "first_step": "Talk to your lead" if number % 4 else "Wait",
                        "comment": HOSTILE if number < 12 else None}, lambda column, n=number: n)
        facts = RoundFacts(date(2026, 3, 2), None, date(2026, 3, 2), date(2026, 3, 2), 26, 24, 0, 0)
        waves.append((build_wave(tally, survey, facts, Thresholds(5, 10), locked=True), tally))
    (before, before_tally), (after, after_tally) = waves
    return Report(after, date(2026, 3, 10), (1, 2), compare(before, after, before_tally, after_tally),
                  hostile_board())


def hostile_prompt(kind: str, **extra: object) -> Prompt:
    return Prompt("q", 3, kind, HOSTILE, 2, 5, hint=HOSTILE, optional=True, can_go_back=True, previous=HOSTILE,
                  **extra)  # type: ignore[arg-type]


def test_the_report_escapes_a_hostile_title_question_option_comment_and_theme(hostile_survey: Survey) -> None:
    page = html.render(hostile_report(hostile_survey))
    assert_escaped(page, "report.html")
    assert page.count(ESCAPED) >= 8  # title twice, question, option in several tables, comments, theme, change
    assert 'id="comments"' in page and 'id="change"' in page and 'id="we-did"' in page
    assert "(wave 2)</title>" in page


def test_the_board_escapes_a_hostile_theme_quote_and_reply() -> None:
    page = board.html(hostile_board())
    assert_escaped(page, "board.html")
    assert f"<h2>{ESCAPED}</h2>" in page and f"<blockquote>{ESCAPED}</blockquote>" in page
    assert f'<span class="status">In progress</span> {ESCAPED}</p>' in page


def test_the_web_pages_escape_a_hostile_title_and_message() -> None:
    chat = webpage.say(HOSTILE)
    page = webpage.page(HOSTILE, '/s/x?"><b>', chat, assets=ASSETS, status=HOSTILE)
    assert_escaped(page, "web/page.html")
    assert f"<title>{ESCAPED}</title>" in page and 'action="/s/x?&#34;&gt;&lt;b&gt;"' in page
    assert_escaped(webpage.message_page(HOSTILE, HOSTILE, assets=ASSETS), "web/message.html")


@pytest.mark.parametrize("draw", [
    lambda: webpage.say(HOSTILE),
    lambda: webpage.say(f"Before:\n• {HOSTILE}\n- call 999"),
    lambda: webpage.notice(HOSTILE, HOSTILE),
    lambda: webpage.chose(HOSTILE),
    lambda: webpage.buttons_form(HOSTILE, [(HOSTILE, HOSTILE, HOSTILE)]),
    lambda: webpage.check_in(HOSTILE, CheckIn(HOSTILE, (Choice(HOSTILE, HOSTILE),), contact_box=True)),
    lambda: webpage.question(HOSTILE, hostile_prompt("single", options=(HOSTILE, "Other"))),
    lambda: webpage.question("/s/x", hostile_prompt("scale", options=("1", "2", "3"), low_label=HOSTILE,
                                                    high_label=HOSTILE)),
    lambda: webpage.question("/s/x", hostile_prompt("multi", options=(HOSTILE,), selected=(0,))),
    lambda: webpage.question("/s/x", hostile_prompt("text", max_length=200), HOSTILE),
    lambda: webpage.question("/s/x", hostile_prompt("number"), HOSTILE),
    lambda: webpage.answered(Answered(4, HOSTILE, HOSTILE)),
], ids=["say", "say-list", "notice", "chose", "buttons", "check-in", "single", "scale", "multi", "text", "number",
        "answered"])
def test_every_piece_of_the_chat_escapes_hostile_words(draw: Callable[[], str]) -> None:
    assert_escaped(draw(), "web/chat.html")


def test_helpline_links_are_the_only_markup_added_to_escaped_words() -> None:
    said = webpage.say(f"{HOSTILE} or call 0800 1111")
    assert ESCAPED in said and '<a href="tel:08001111">0800 1111</a>' in said
    assert re.findall(r"<(\w+)", said) == ["div", "p", "a"]


def test_the_environment_is_strict_and_escapes_everything() -> None:
    env = templates.ENVIRONMENT
    assert env.undefined is StrictUndefined
    with pytest.raises(UndefinedError):
        env.from_string("<p>{{ never_given }}</p>").render()
    with pytest.raises(UndefinedError):
        env.from_string("<p>{{ report.no_such_field }}</p>").render(report=object())
    assert env.from_string("{{ x }}").render(x=HOSTILE) == ESCAPED  # string templates too, not only .html files


def hostile_email() -> EmailMessage:
    """An invitation whose survey title, sender and campaign words are all markup."""
    return mail.build(mail.Letter(Address("email", "example.org", "kim"), f"{HOSTILE} <surveys@example.org>", HOSTILE,
                                  HOSTILE, 4, date(2026, 3, 23), "https://surveys.example.org/i/x",
                                  "https://surveys.example.org/u/y"), datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


def test_an_invitation_email_escapes_a_hostile_title_sender_and_words() -> None:
    html = hostile_email().get_body(("html",))
    assert html is not None
    assert_escaped(html.get_content(), "email/invitation.html")
    plain = hostile_email().get_body(("plain",))
    assert plain is not None and HOSTILE in plain.get_content()  # plain text is not HTML: the words as written


def about_page(name: str) -> str:
    """A privacy or terms page, drawn with hostile settings and then with none (each branch of the template)."""
    named = about.About(Policy(), "HELP", HOSTILE, HOSTILE)
    return about.page(name, named, assets=ASSETS) + about.page(name, about.About(Policy()), assets=ASSETS)


def draw_every_template(survey: Survey) -> dict[str, Callable[[], str]]:
    """Each template, drawn by the code that draws it in real use, with every optional part present."""
    prompts = [hostile_prompt(kind, options=("1", "2"), low_label="low", high_label="high", max_length=50)
               for kind in ("single", "yesno", "consent", "scale", "multi", "text", "number")]
    return {
        "report.html": lambda: html.render(hostile_report(survey)),
        "board.html": lambda: board.html(hostile_board()) + board.html(hostile_board("", None)),
        "web/page.html": lambda: webpage.page("A survey", "/s/x", webpage.start_form("/s/x"), assets=ASSETS,
                                              get_help=True, open_=False),
        "web/message.html": lambda: webpage.message_page(words.NOT_FOUND_TITLE, words.BAD_REQUEST, assets=ASSETS),
        **{path: functools.partial(about_page, name) for name, path in about.PAGES.items()},
        "email/invitation.html": lambda: hostile_email().get_body(("html",)).get_content(),  # type: ignore[union-attr]
        "email/unsubscribe.html": lambda: stop_page(HOSTILE, HOSTILE, "/u/x", done=False, assets=ASSETS)
        + stop_page(HOSTILE, HOSTILE, "/u/x", done=True, assets=ASSETS),
        "teams/download.html": lambda: download_page(HOSTILE, "/teams/files/x", assets=ASSETS),
        "web/chat.html": lambda: "".join([
            webpage.say("Hello:\n• one\nTwo"), webpage.notice("short", "full"), webpage.chose("Yes"),
            webpage.confirm_delete("/s/x"), webpage.carry_on("/s/x"), webpage.start_form("/s/x"),
            webpage.check_in("/s/x", CheckIn("Are you safe?", (Choice("Yes", "care:yes"),), contact_box=True)),
            webpage.answered(Answered(2, "Q", "A")), *[webpage.question("/s/x", p, "kept") for p in prompts]]),
    }


def test_every_template_is_drawn_by_its_renderer_with_nothing_missing(hostile_survey: Survey) -> None:
    """StrictUndefined turns a value a template expects but was not given into an error, so drawing each one with
    all its parts present proves the renderers give everything the templates use."""
    drawers = draw_every_template(hostile_survey)
    # the console's pages need a signed-in person and a running console: its own tests (tests/test_console_*.py)
    # open every one of them over HTTP, under the same environment and StrictUndefined
    drawn_here = [name for name in templates.names() if not name.startswith("console/")]
    assert sorted(drawers) == drawn_here, "a new template needs a line here"
    for name, draw in drawers.items():
        page = draw()
        assert page.strip(), name
        assert "<script>" not in page and " style=" not in page, f"{name}: no inline script or style"


class Reading(HTMLParser):
    """What a browser would make of a fragment: its elements, and its text with the entities read back."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read(fragment: str) -> Reading:
    reading = Reading()
    reading.feed(fragment)
    reading.close()
    return reading


# Any text, with pieces of markup mixed in so that tags, quotes and entities turn up often.
MARKUP = ["<b>", "</p>", "<script>", "<!--", "&amp;", "&lt;", "&", "<", ">", '"', "'", "=", "/"]
WORDS = st.lists(st.one_of(st.sampled_from(MARKUP), st.text(max_size=6)), max_size=10).map("".join)


@given(question=WORDS, answer=WORDS)
def test_any_words_come_back_as_the_same_words_and_never_as_markup(question: str, answer: str) -> None:
    reading = read(webpage.answered(Answered(1, question, answer)))
    assert reading.tags == ["div", "h2", "div", "p"]
    assert "".join(reading.text) == question + words.YOU_SAID.format(answer=answer)


# Compiled templates kept between processes (bot.templates.KeptCompiled). Each test runs fresh Python processes with
# their own empty temporary folder (TMPDIR), so what they write is all there is to see.

LOAD = "from bot import templates\nfor name in ('report.html', '_document.html', 'web/chat.html'):\n" \
       "    templates.ENVIRONMENT.get_template(name)\n"


def python(code: str, temporary: Path, cwd: Path) -> None:
    """`code` in a fresh Python process, with `temporary` as its system temporary folder and umask 0, so any mode
    a file ends up with is the one the code gave it."""
    env = {**os.environ, "TMPDIR": str(temporary)}
    result = subprocess.run([sys.executable, "-c", "import os; os.umask(0)\n" + code], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_importing_what_draws_pages_writes_nothing(tmp_path: Path) -> None:
    """Loading a template may write its compiled form, so no module may load one on import (webpage used to)."""
    temporary, cwd = tmp_path / "tmp", tmp_path / "cwd"
    temporary.mkdir()
    cwd.mkdir()
    python("import bot.templates, bot.channels.webpage, bot.channels.email.message, bot.channels.email.links, "
           "bot.reporting.html, bot.reporting.board, bot.reporting.delivery, bot.app, bot.cli", temporary, cwd)
    assert list(temporary.iterdir()) == [] and list(cwd.iterdir()) == []


def test_compiled_templates_are_kept_owner_only_and_loaded_again_without_compiling(tmp_path: Path) -> None:
    python(LOAD, tmp_path, tmp_path)
    (folder,) = tmp_path.iterdir()  # Jinja2's own per-user folder: _jinja2-cache-<uid>
    assert folder.name == f"_jinja2-cache-{os.getuid()}" and stat.S_IMODE(folder.lstat().st_mode) == 0o700
    kept = sorted(folder.iterdir())
    assert len(kept) == 3 and all(p.name.startswith("surveybot-") and p.suffix == ".cache" for p in kept)
    assert {stat.S_IMODE(p.stat().st_mode) for p in kept} == {0o600}
    # A second process loads them as they are: compiling a template there would fail.
    python("from bot import templates\n"
           "def refuse(*args, **kwargs):\n"
           "    raise AssertionError('compiled again')\n"
           "templates.ENVIRONMENT.compile = refuse\n" + LOAD, tmp_path, tmp_path)
    assert sorted(folder.iterdir()) == kept


def test_a_page_is_drawn_all_the_same_when_compiled_templates_cannot_be_kept(tmp_path: Path) -> None:
    """Where the folder cannot be used (here a file is in its place, so Jinja2 finds it unsafe), templates are
    compiled in memory as before and the page is drawn."""
    blocker = tmp_path / f"_jinja2-cache-{os.getuid()}"
    blocker.write_text("not a folder")
    python(LOAD + "from bot.channels import webpage\nassert 'Drawn all the same' in webpage.say('Drawn all the same')",
           tmp_path, tmp_path)
    assert list(tmp_path.iterdir()) == [blocker] and blocker.read_text() == "not a folder"
