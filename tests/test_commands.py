"""The one table of typed commands (bot.engine.commands), and the channels that read it."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.channels import console, web_events
from bot.channels.slack import listeners, work
from bot.channels.telegram import words as telegram_words
from bot.domain.address import Address
from bot.engine import commands
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.commands import COMMANDS, Means
from bot.services.service import SurveyService

from .fakes.telegram_api import FakeTelegram
from .test_telegram import USER, answer, begin, next_question, running

WORDS = {command.word for command in COMMANDS}


def test_every_row_is_found_by_its_word_in_any_case() -> None:
    for row in COMMANDS:
        typed = commands.read(f"  /{row.word.upper()} {row.only or ''}  ")
        assert typed is not None and typed.command == row
        assert (row.event is not None) == (row.means is Means.STEP)


def test_stop_all_stops_invitations_and_stop_alone_pauses() -> None:
    stop_all, stop, stop_now = commands.read("/stop all"), commands.read("/stop"), commands.read("/Stop now")
    assert stop_all is not None and stop_all.command.means is Means.OPT_OUT
    assert stop is not None and stop.bare and stop.event() == engine.Stop()
    assert stop_now is not None and not stop_now.bare and stop_now.command.means is Means.STEP
    skip = commands.read("/skip")
    assert skip is not None and skip.event(7) == engine.Skip(7)


def test_words_and_commands_a_channel_does_not_offer_are_not_commands() -> None:
    assert commands.read("stop") is None
    assert commands.read("/ stop") is None
    assert commands.read("/frobnicate") is None
    assert commands.read("/start abc", offered={"stop"}) is None
    assert commands.find("unsubscribe", offered=work.TYPED_OFFERED) is None


@given(st.text(max_size=60), st.sets(st.sampled_from(sorted(WORDS))))
def test_reading_any_text_never_fails_and_keeps_to_what_is_offered(text: str, offered: set[str]) -> None:
    typed = commands.read(text, offered)
    if typed is not None:
        assert text.strip().startswith("/")
        assert typed.command.word in offered and typed.command in COMMANDS
        assert typed.command.only is None or typed.args.lower() == typed.command.only


@given(st.sampled_from(sorted(WORDS)), st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), max_size=20))
def test_a_command_with_words_after_it_keeps_them(word: str, rest: str) -> None:
    typed = commands.read(f"/{word} {rest}")
    if typed is not None:
        assert typed.args == rest.strip()


def test_every_channel_offers_rows_of_the_table_and_telegram_lists_its_menu() -> None:
    for offered in (console.OFFERED, web_events.OFFERED, work.TYPED_OFFERED, listeners.SLASH_OFFERED):
        assert offered <= WORDS
    assert [(c.command, c.description) for c in telegram_words.COMMANDS] == [
        ("resume", "Carry on with your survey"), ("stop", "Pause the survey"), ("delete", "Delete your answers"),
        ("help", "How this works")]


def test_the_web_chat_reads_typed_commands_from_the_table() -> None:
    def typed(text: str) -> web_events.Action:
        return web_events.read_event({"type": "reply", "turn": 3, "text": text})

    assert typed("/skip") == engine.Skip(3) and typed(" /BACK ") == engine.Back(3) and typed("/stop") == engine.Stop()
    assert (typed("/resume"), typed("/delete"), typed("/help")) == (web_events.RESUME, web_events.DELETE,
                                                                    web_events.HELP)
    assert typed("/stop now") == engine.Reply("/stop now", 3)
    assert typed("/stop all") == engine.Reply("/stop all", 3)
    assert typed("/start sample") == engine.Reply("/start sample", 3)


def test_the_console_takes_the_step_commands_and_help(service: SurveyService) -> None:
    out = io.StringIO()
    who = Address("console", "local", "author")
    lines = ["yes", "1", "/back", "/help", "/stop", "/resume", "/skip", "/stop now"]
    assert not console.ConsoleChannel(service, out).run(who, "sample", lines)
    shown = out.getvalue()
    # asked; again after /back; again after /resume; again after "/stop now", read as a (wrong) answer
    assert shown.count("Which agency?") == 4
    assert console.HELP in shown and msg.PAUSED in shown
    assert msg.CANNOT_SKIP in shown  # /skip reached the engine: a required question cannot be skipped
    assert shown.rindex(msg.CHOOSE_ONE) > shown.rindex(msg.CANNOT_SKIP)


async def test_telegram_registers_every_row_back_and_stop_all_included(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data"):
        await begin(fake, USER, "you-said")
        first = await next_question(fake, USER, "")
        assert first is not None
        await answer(fake, USER, first)
        second = await next_question(fake, USER, "")
        assert second is not None and second["text"].startswith("(2 of")
        fake.user_sends_text(USER, "/back")
        again = await next_question(fake, USER, "")
        assert again is not None and again["text"].startswith("(1 of")
        fake.user_sends_text(USER, "/STOP all")
        assert (await fake.next_message(USER))["text"] == msg.OPTED_OUT
        fake.user_sends_text(USER, "/unsubscribe")
        assert (await fake.next_message(USER))["text"] == msg.OPTED_OUT
