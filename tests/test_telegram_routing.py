"""The Telegram channel's aiogram pieces (bot.channels.telegram): the CallbackData kinds read exactly today's button
data, every filter stays off aiogram's worker-thread route, and a failure inside any handler reaches `router.errors`,
which apologises once and logs once: through the real dispatcher against the fake Bot API."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import Message, Update
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import text

from bot.app import build, telegram_channel
from bot.channels import buttons
from bot.channels.reactions import parse_reaction
from bot.channels.telegram import SORRY
from bot.channels.telegram.callbacks import AckButton, AnswerButton, CareButton, ReactionButton, StartButton
from bot.channels.telegram.handlers import build_router
from bot.channels.telegram.middleware import ChatLocks
from bot.config import Settings
from bot.services.safeguarding import alerts, checkin

from .fakes.telegram_api import FakeTelegram
from .test_telegram import PEPPER, USER, begin, next_question, option_data, running

# What each kind's own parser (the owner of its format) makes of a button's data, None for "not this kind".
OWNERS = {AnswerButton: buttons.decode, ReactionButton: parse_reaction, CareButton: checkin.decode,
          AckButton: alerts.ack_ref, StartButton: lambda data: data[3:] if data.startswith("go:") else None}
# Data as it sits today on buttons in people's chats, and what each must still be read as.
ALREADY_SENT = {"a:3:d": AnswerButton, "a:12:p:0": AnswerButton, "a:7:t:11": AnswerButton, "a:2:b": AnswerButton,
                "go:policy-awareness": StartButton, "go:wave:2": StartButton, "wd:41:more": ReactionButton,
                "care:ok:0": CareButton, "care:contact:3:0123456789ab": CareButton, "sgack:0a1b2c3d": AckButton}
PIECES = ["a", "go", "wd", "care", "sgack", "ok", "help", "contact", "more", "helps", "p", "t", "d", "s", "b", "0",
          "1", "12", "999999999", "1000000000", "0123456789ab", "0a1b2c3d", "", " ", "-1", "+1", "١"]


def parsed(kind: type[CallbackData], data: str) -> CallbackData | None:
    try:
        return kind.unpack(data)
    except (TypeError, ValueError):  # what aiogram's filter reads as "not this kind"
        return None


@pytest.mark.parametrize("data", sorted(ALREADY_SENT))
def test_buttons_already_sent_are_read_by_their_own_kind_only(data: str) -> None:
    kinds = [kind for kind in OWNERS if parsed(kind, data) is not None]
    assert kinds == [ALREADY_SENT[data]]
    assert ALREADY_SENT[data].unpack(data).pack() == data  # and buttons drawn from now on carry the same data


@example("a:1:d")
@example("a:1:p:0:")
@example("go:")
@given(st.one_of(st.lists(st.sampled_from(PIECES), min_size=1, max_size=5).map(":".join), st.text(max_size=70)))
def test_each_kind_accepts_exactly_what_its_format_accepts_and_never_raises_otherwise(data: str) -> None:
    for kind, owner in OWNERS.items():
        button = parsed(kind, data)
        assert (button is not None) == (owner(data) is not None), (kind.__name__, data)
        if button is not None:
            assert button.pack() == data[:64]
            assert len(button.pack().encode()) <= 64 or kind is StartButton
    answer = parsed(AnswerButton, data)
    if answer is not None:
        assert isinstance(answer, AnswerButton) and answer.event() == buttons.decode(data)


def test_every_filter_is_a_coroutine(tmp_path: Path) -> None:
    """aiogram runs a plain function filter (an `F` expression's resolve too) in a worker thread: on every update
    that would be a thread hop per filter tried. Every handler the router has is registered here."""
    env = {"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), "SURVEYBOT_PEPPER": PEPPER,
           "TELEGRAM_BOT_TOKEN": "123456789:AAfakefakefakefakefakefakefakefakefa",
           "SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT": "-100777"}
    app = build(Settings.from_env(env))
    try:
        channel = telegram_channel(app)
        router = build_router(channel)
        handlers = [h for name, observer in router.observers.items() for h in observer.handlers]
        assert len(router.callback_query.handlers) == 6 and router.errors.handlers  # every kind, stale, apology
        slow = [(h.callback.__name__, f.callback) for h in handlers for f in h.filters or () if not f.awaitable]
        assert slow == []
        asyncio.run(channel.bot.session.close())
    finally:
        app.engine.dispose()


async def test_a_failure_inside_a_handler_gets_one_apology_and_one_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        await begin(fake, USER, "policy-awareness")
        question = await next_question(fake, USER, "")
        assert question is not None
        with app.engine.begin() as connection:  # the database loses a table under the running bot
            connection.execute(text("DROP TABLE answer"))
        caplog.clear()
        caplog.set_level(logging.INFO)
        answered = len(fake.callback_answers)
        fake.user_presses(USER, question, option_data(question)[0])
        await fake.wait_until(lambda: any(m.get("text") == SORRY for m in fake.messages_to(USER)))
        await fake.wait_until(lambda: len(fake.callback_answers) > answered)  # the spinner stops too
        fake.user_sends_text(USER, "/help")  # the bot carries on
        await fake.wait_until(lambda: any("/delete" in (m.get("text") or "") for m in fake.messages_to(USER)))
        said = [m.get("text") for m in fake.messages_to(USER)]
        assert said.count(SORRY) == 1
        assert not any("Traceback" in (t or "") or "sqlite" in (t or "").lower() for t in said)
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert [r.getMessage() for r in failures] == ["handling a Telegram update failed"]


async def test_the_chat_lock_runs_one_update_per_chat_at_a_time_and_never_holds_up_other_chats() -> None:
    """ChatLocks in aiogram's own dispatcher: updates fed at once (as polling does, one task each) run one after
    the other within a chat, in arrival order, while another chat's update runs alongside."""
    locks = ChatLocks()
    router = Router()
    router.message.middleware(locks)
    timeline: list[tuple[str, str]] = []

    @router.message()
    async def slow(message: Message) -> None:
        timeline.append(("in", message.text or ""))
        await asyncio.sleep(0.05)
        timeline.append(("out", message.text or ""))

    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.include_router(router)
    bot = Bot("123456789:AAfakefakefakefakefakefakefakefakefa")

    def update(number: int, chat: int, words: str) -> Update:
        return Update.model_validate({"update_id": number, "message": {
            "message_id": number, "date": 0, "text": words, "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Sam"}}})

    try:
        await asyncio.gather(dispatcher.feed_update(bot, update(1, 1, "first")),
                             dispatcher.feed_update(bot, update(2, 1, "second")),
                             dispatcher.feed_update(bot, update(3, 2, "elsewhere")))
    finally:
        await bot.session.close()
    mine = [step for step in timeline if step[1] != "elsewhere"]
    assert mine == [("in", "first"), ("out", "first"), ("in", "second"), ("out", "second")]
    assert timeline.index(("in", "elsewhere")) < timeline.index(("out", "first"))  # not held up by chat 1
    assert len(locks.locks) == 0, "no lock is kept once its chat's updates are done"
