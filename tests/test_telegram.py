"""The Telegram channel end to end: our own wiring (build -> make_channels -> serve) and the real aiogram dispatcher,
against the fake Bot API server on 127.0.0.1, in long-polling and webhook modes."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import App, build, make_channels, serve
from bot.channels.buttons import BACK_LABEL
from bot.channels.pacing import Pacer
from bot.channels.telegram import HINT_EDITED, HINT_PRIVATE, HINT_TYPED
from bot.config import Settings
from bot.engine import messages as msg
from bot.engine.survey import Kind

from .fakes.telegram_api import FakeTelegram

QUESTION = re.compile(r"^\((\d+) of (\d+)\) ")
TEMPLATES = ("policy-awareness", "you-said", "wood-partner-survey")
USER = 555_000_111
PEPPER = "a-test-pepper-that-is-long-enough-to-use-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def running(fake: FakeTelegram, data: Path, webhook: bool = False,
                  real_pacing: bool = False, **settings: str) -> AsyncIterator[App]:
    """Start the bot as `surveybot run` would, and stop it cleanly afterwards."""
    port = free_port()
    env = {"SURVEYBOT_DATA_DIR": str(data), "SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_PORT": str(port),
           "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url}
    env.update(settings)
    if webhook:
        env["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/telegram/webhook"
    app = await asyncio.to_thread(build, Settings.from_env(env))
    channels = make_channels(app)
    if not real_pacing:  # scripted respondents answer instantly; pacing has its own test below
        for channel in channels:
            channel.pacer = Pacer(overall=10_000, per_chat=10_000)  # type: ignore[attr-defined]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, channels, stop))
    since = len(fake.calls)
    if webhook:
        await fake.wait_for(lambda c: c.method == "setWebhook", since=since)
        await wait_listening(port)
    else:
        await fake.wait_for(lambda c: c.method == "getUpdates", since=since)
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        app.engine.dispose()


async def wait_listening(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.02)
    raise AssertionError("the bot's HTTP server did not start")


def option_data(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if re.match(r"^a:\d+:[pt]:", b["callback_data"])]


async def next_question(fake: FakeTelegram, user: int, thanks: str) -> dict[str, Any] | None:
    """The next question the bot sends (skipping explanations), or None once it says thanks."""
    while True:
        message = await fake.next_message(user, timeout=10)
        if QUESTION.match(message.get("text", "")):
            return message
        if message.get("text", "").strip() == thanks.strip():
            return None


async def answer(fake: FakeTelegram, user: int, question: dict[str, Any]) -> None:
    """What a cooperative respondent does: tap the first option (tick it and press Done), or type "1"."""
    options = option_data(question)
    if not options:
        fake.user_sends_text(user, "1")
        return
    if ":t:" in options[0]:
        fake.user_presses(user, question, options[0])
        await fake.wait_until(lambda: "☑" in str(fake.messages_to(user)[-1].get("reply_markup")))
        done = next(b["callback_data"] for row in fake.messages_to(user)[-1]["reply_markup"]["inline_keyboard"]
                    for b in row if b["callback_data"].endswith(":d"))
        fake.user_presses(user, question, done)
        return
    fake.user_presses(user, question, options[0])


async def begin(fake: FakeTelegram, user: int, code: str, **who: str) -> None:
    fake.user_sends_text(user, f"/start {code}", **who)
    while True:
        message = await fake.next_message(user, timeout=10)
        if message.get("text") == msg.CONSENT_QUESTION:
            fake.user_clicks(user, message, msg.CONSENT_YES, **who)
            return


def count(app: App, sql: str) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_a_scripted_respondent_completes_every_template(tmp_path: Path, webhook: bool) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", webhook) as app:
        for offset, code in enumerate(TEMPLATES):
            user = USER + offset
            survey = app.catalogue.latest(code)
            await begin(fake, user, code)
            answered = 0
            while (question := await next_question(fake, user, survey.thanks)) is not None:
                await answer(fake, user, question)
                answered += 1
            assert answered >= len([q for q in survey.questions if q.ask_if is None])
            await fake.flush_webhook()  # in webhook mode the last edit rides in the reply, applied after it
            # every answered question lost its buttons and shows the answer
            for message in fake.messages_to(user):
                if QUESTION.match(message.get("text", "")):
                    assert "✓" in message["text"] and not option_data(message), message["text"]
        assert count(app, "SELECT count(*) FROM response WHERE completed") == len(TEMPLATES)
        commands = fake.calls_to("setMyCommands")
        assert commands and {c["command"] for c in commands[0].params["commands"]} >= {"stop", "resume", "delete"}
        # every button press was answered (no spinning buttons)
        await fake.wait_until(lambda: not fake._open_queries)
        assert len(fake.callback_answers) > 20
        # in webhook mode the answered question's edit comes back in the webhook's reply, not as a request of its own
        replied = [c for c in fake.calls_to("editMessageText") if c.source == "webhook_reply"]
        assert (len(replied) > 20) if webhook else not replied


async def test_a_restart_in_the_middle_resumes_where_it_stopped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with FakeTelegram() as fake:
        async with running(fake, data) as app:
            survey = app.catalogue.latest("policy-awareness")
            await begin(fake, USER, "policy-awareness")
            for _ in range(3):
                question = await next_question(fake, USER, survey.thanks)
                assert question is not None
                await answer(fake, USER, question)
            waiting = await next_question(fake, USER, survey.thanks)
            assert waiting is not None and waiting["text"].startswith("(4 of")
        async with running(fake, data) as app:  # a new process: the old message's buttons still work
            await answer(fake, USER, waiting)
            while (question := await next_question(fake, USER, survey.thanks)) is not None:
                await answer(fake, USER, question)
            assert count(app, "SELECT count(*) FROM response WHERE completed") == 1


async def test_redelivered_updates_and_double_taps_record_once(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        await begin(fake, USER, "policy-awareness")
        question = await next_question(fake, USER, "")
        assert question is not None
        first = option_data(question)[0]
        update = fake.user_presses(USER, question, first)
        await fake.wait_until(lambda: "✓" in question_now(fake, question)["text"])
        recorded = count(app, "SELECT count(*) FROM answer")
        fake.redeliver(update)  # Telegram sends the same update_id again
        fake.user_presses(USER, question, option_data(question)[1], check=False)  # an old button
        answered = len(fake.callback_answers)
        await fake.wait_until(lambda: len(fake.callback_answers) >= answered + 1)
        await asyncio.sleep(0.3)
        assert count(app, "SELECT count(*) FROM answer") == recorded == 1
        assert count(app, "SELECT count(*) FROM audit_record WHERE action = 'answer.recorded'") == 1
        assert any(a.get("text") == msg.ALREADY_ANSWERED for a in fake.callback_answers.values())


def question_now(fake: FakeTelegram, original: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in fake.messages_to(USER) if m["message_id"] == original["message_id"])


async def test_a_forged_webhook_request_is_refused_and_processes_nothing(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", webhook=True):
        url = fake.calls_to("setWebhook")[-1].params["url"]
        secret = fake.calls_to("setWebhook")[-1].params["secret_token"]
        assert secret and len(secret) >= 32
        update = {"update_id": 999, "message": {
            "message_id": 1, "date": 1, "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Mallory"}, "text": "/start you-said"}}
        sent_before = len(fake.calls_to("sendMessage"))
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with session.post(url, json=update, headers=headers) as response:
                    assert response.status == 401
            async with session.post(url, json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as response:
                assert response.status == 200
        assert len(fake.calls_to("sendMessage")) > sent_before  # the genuine one was handled
        assert any("you said" in (m.get("text") or "").lower() or m.get("text") == msg.CONSENT_QUESTION
                   for m in fake.messages_to(USER))


async def test_unexpected_messages_get_a_short_hint_and_never_crash(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        fake.user_sends(USER, {"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular",
                                           "width": 512, "height": 512, "is_animated": False, "is_video": False}})
        assert (await fake.next_message(USER))["text"] == HINT_TYPED
        fake.user_sends(USER, {"photo": [{"file_id": "p1", "file_unique_id": "p1", "width": 9, "height": 9}]})
        assert (await fake.next_message(USER))["text"] == HINT_TYPED
        fake.user_sends_text(USER, "hello")
        assert (await fake.next_message(USER))["text"] == msg.NO_SURVEY_OPEN
        fake.user_sends(USER, {"text": "hello again"}, kind="edited_message")
        assert (await fake.next_message(USER))["text"] == HINT_EDITED
        group = {"id": -100123, "type": "group", "title": "Team"}
        fake.user_sends(USER + 1, {"text": "/start you-said", "chat": group,
                                   "entities": [{"type": "bot_command", "offset": 0, "length": 6}]})
        assert (await fake.next_message(-100123))["text"] == HINT_PRIVATE
        fake.user_sends(USER + 1, {"text": "chatting in the group", "chat": group})
        fake.user_sends_text(USER, "/help")
        assert "/delete" in (await fake.next_message(USER))["text"]
        assert [m["text"] for m in fake.messages_to(-100123)] == [HINT_PRIVATE]  # silence for ordinary talk
        await begin(fake, USER, "policy-awareness")
        await next_question(fake, USER, "")
        fake.user_sends_text(USER, "x" * 5000)  # text where a choice is expected, far too long
        assert (await fake.next_message(USER))["text"] == msg.CHOOSE_ONE
        fake.user_presses(USER, fake.messages_to(USER)[-1], "a:999:zz", check=False)  # forged button data
        await fake.wait_until(lambda: any(a.get("text") == "That button no longer works."
                                          for a in fake.callback_answers.values()))
        assert count(app, "SELECT count(*) FROM answer") == 0


async def test_stop_resume_delete_and_unknown_codes(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        fake.user_sends_text(USER, "/start no-such-survey")
        assert (await fake.next_message(USER))["text"] == msg.UNKNOWN_SURVEY
        await begin(fake, USER, "you-said")
        question = await next_question(fake, USER, "")
        assert question is not None
        await answer(fake, USER, question)
        await next_question(fake, USER, "")
        fake.user_sends_text(USER, "/stop")
        assert (await fake.next_message(USER))["text"] == msg.PAUSED
        fake.user_sends_text(USER, "/resume")
        resumed = await next_question(fake, USER, "")
        assert resumed is not None and resumed["text"].startswith("(2 of")
        assert count(app, "SELECT count(*) FROM answer") == 1
        fake.user_sends_text(USER, "/delete")
        assert "deleted" in (await fake.next_message(USER))["text"]
        assert count(app, "SELECT count(*) FROM answer") == 0


async def test_rate_limits_are_honoured_and_a_block_marks_the_person_unreachable(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        fake.fail_next("sendMessage", 429, retry_after=1)
        fake.user_sends_text(USER, "/start you-said")
        intro = await fake.next_message(USER, timeout=10)
        assert intro["text"]
        statuses = [c.status for c in fake.calls_to("sendMessage")]
        assert statuses[:2] == [429, 200]
        fake.block_user(USER + 7)
        fake.user_sends_text(USER + 7, "/start you-said")
        await fake.wait_until(lambda: any(c.status == 403 for c in fake.calls_to("sendMessage")))
        await asyncio.sleep(0.3)
        assert count(app, "SELECT count(*) FROM contact WHERE unreachable") == 1


async def test_no_telegram_id_or_name_reaches_the_database_or_logs(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        await begin(fake, USER, "you-said", first_name="Zebedee", username="zeb_handle")
        survey = app.catalogue.latest("you-said")
        while (question := await next_question(fake, USER, survey.thanks)) is not None:
            await answer(fake, USER, question)
        with app.engine.connect() as connection:
            dump = "\n".join(str(tuple(row)) for table in ("response", "answer", "contact", "participation",
                                                            "conversation", "processed_event", "audit_record")
                             for row in connection.execute(text(f"SELECT * FROM {table}")))
    assert dump and str(USER) not in dump and "Zebedee" not in dump and "zeb_handle" not in dump
    logged = caplog.text
    assert str(USER) not in logged and "Zebedee" not in logged and fake.token not in logged


async def test_sustained_sending_stays_within_telegrams_limits(tmp_path: Path) -> None:
    """The real pacer against a fake that refuses more than 1 message a second per chat (30 overall)."""
    async with FakeTelegram(enforce_limits=True) as fake, running(fake, tmp_path / "data", real_pacing=True) as app:
        survey = app.catalogue.latest("you-said")
        await begin(fake, USER, "you-said")
        while (question := await next_question(fake, USER, survey.thanks)) is not None:
            await answer(fake, USER, question)
        assert fake.throttled == 0
        assert count(app, "SELECT count(*) FROM response WHERE completed") == 1


async def test_back_passes_over_a_knowledge_check_whose_answer_was_shown(tmp_path: Path) -> None:
    """On Telegram too: after "Not quite", Back lands on the question before the check and says why; the check's old
    buttons change nothing, and the first answer is the one stored."""
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        survey = app.catalogue.latest("policy-awareness")
        check = next(q for q in survey.questions if q.kind is Kind.KNOWLEDGE)
        await begin(fake, USER, "policy-awareness")
        before: dict[str, Any] | None = None
        while (question := await next_question(fake, USER, survey.thanks)) is not None:
            if check.text in question["text"]:
                break
            before = question
            await answer(fake, USER, question)
        assert question is not None and before is not None
        check_message = question
        await answer(fake, USER, check_message)  # the first option: wrong
        following = await next_question(fake, USER, survey.thanks)
        assert following is not None
        assert any(m.get("text", "").startswith("Not quite.") for m in fake.messages_to(USER))
        fake.user_clicks(USER, following, BACK_LABEL)
        assert (await fake.next_message(USER, timeout=10))["text"] == msg.PASSED_OVER
        reopened = await next_question(fake, USER, survey.thanks)
        assert reopened is not None and before["text"].split(") ", 1)[1] in reopened["text"]
        right = check.choices.index(check.correct or "")
        fake.user_presses(USER, check_message, option_data(check_message)[right], check=False)  # an old button
        answered = len(fake.callback_answers)
        await fake.wait_until(lambda: len(fake.callback_answers) >= answered + 1)
        await answer(fake, USER, reopened)
        again = await next_question(fake, USER, survey.thanks)
        assert again is not None and check.text not in again["text"]
        assert again["text"].split(") ", 1)[1] == following["text"].split(") ", 1)[1]
        with app.engine.connect() as connection:
            stored = connection.execute(text("SELECT value FROM answer WHERE question_id = :q"),
                                        {"q": check.id}).scalars().all()
        assert stored == [json.dumps(check.choices[0])]
