"""Persist, then send (issue 19, item 6): a bot stopped after storing an answer but before sending the next question
sends that question once when it is back, without the person writing again.

Real `surveybot run` processes against the fake Bot API, on SQLite and PostgreSQL, in webhook and polling mode. The
moment is made exact: the fake holds the bot's sendMessage for the next question (the answer is committed by then:
messages go out only after the commit), the test stops the bot while it is held, and the fake then drops that call
and any retry, so the question never reached the person. The row that kept it is sealed and goes once it is sent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from bot.engine import messages as msg

from .fakes.telegram_api import FakeTelegram
from .processes import SURVEY_ID, WEBHOOK_PATH, BotProcess, bot_env, free_port

PERSON = 424242
SECOND = "(2 of 3)"


def rows(database_url: str, sql: str) -> list[Any]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql))
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def asked(fake: FakeTelegram, prefix: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages_to(PERSON) if (m.get("text") or "").startswith(prefix)]


async def wait_for_text(fake: FakeTelegram, prefix: str, timeout: float = 30) -> dict[str, Any]:
    found = await fake.wait_until(lambda: asked(fake, prefix), timeout, what=lambda: f"{prefix!r} in "
                                  f"{fake.transcript(PERSON)}")
    return dict(found[-1])


def answer_button(question: dict[str, Any]) -> str:
    return next(b["callback_data"] for row in question["reply_markup"]["inline_keyboard"] for b in row
                if b["callback_data"].startswith("a:"))


@pytest.mark.parametrize(("mode", "how"), [("webhook", "term"), ("polling", "term"), ("webhook", "kill"),
                                           ("polling", "kill")])
async def test_a_question_lost_to_a_stop_arrives_once_after_the_restart(tmp_path: Path, database_url: str,
                                                                         mode: str, how: str) -> None:
    async with FakeTelegram() as fake, aiohttp.ClientSession() as http:
        port = free_port()
        webhook = f"http://127.0.0.1:{port}{WEBHOOK_PATH}" if mode == "webhook" else ""
        env = bot_env(tmp_path, database_url, fake, webhook)
        if not webhook:
            env.pop("TELEGRAM_WEBHOOK_URL")
        bot = BotProcess("persist", env, tmp_path, port=port)
        bot.start()
        try:
            await bot.wait_ready(http)
            fake.user_sends_text(PERSON, f"/start {SURVEY_ID}")
            consent = await wait_for_text(fake, msg.CONSENT_QUESTION)
            fake.user_clicks(PERSON, consent, msg.CONSENT_YES)
            first = await wait_for_text(fake, "(1 of 3)")

            fake.hold_sends(PERSON)
            fake.user_presses(PERSON, first, answer_button(first))
            await fake.wait_until(lambda: fake.held_for(PERSON), 30, what="the next question on its way")
            if how == "kill":
                await asyncio.to_thread(bot.kill)
            else:
                bot.terminate()
            fake.cut_sends(PERSON)  # the question held, and every retry, never reach the person
            if how == "term":
                assert await asyncio.to_thread(bot.stop) == 0, bot.logs()[-3000:]
            fake.resume_sends(PERSON)
            assert asked(fake, SECOND) == [], "the question did not get through before the stop"

            (left,) = rows(database_url, "SELECT session, token, channel, payload FROM pending_reply")
            stored = " ".join(str(value) for value in left)
            assert str(PERSON) not in stored and "policy" not in stored, "the row holds no id and no words in clear"
            if how == "kill" and database_url.startswith("postgresql"):
                # several processes may share PostgreSQL, so a killed one's rows wait for its lease (60 s) to run
                # out; the test moves the lease on instead of waiting (a clean stop hands them back at once)
                rows(database_url, "UPDATE pending_reply SET claimed_until = NULL")

            bot.start()
            await bot.wait_ready(http)
            if mode == "webhook":
                await fake.retry_failed_deliveries()  # Telegram sends again an update whose delivery failed
            second = await wait_for_text(fake, SECOND)
            await asyncio.sleep(1.5)  # room for a second copy, if there were going to be one
            assert len(asked(fake, SECOND)) == 1, fake.transcript(PERSON)

            fake.user_presses(PERSON, second, answer_button(second))  # and the person simply carries on
            await wait_for_text(fake, "(3 of 3)")
            await fake.wait_until(lambda: not rows(database_url, "SELECT token FROM pending_reply"), 10,
                                  what="the pending rows to go once sent")
            answers = rows(database_url, "SELECT question_id FROM answer ORDER BY question_id")
            assert [a[0] for a in answers] == ["agency", "aware"]
            assert "Traceback" not in bot.logs()
        finally:
            await asyncio.to_thread(bot.stop)
