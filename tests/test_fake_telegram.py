"""The fake Telegram server must behave like Telegram for the REAL aiogram client, or bot tests lie."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.fakes.telegram_api import FakeTelegram

USER = 4242
KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[
    InlineKeyboardButton(text="Yes", callback_data="answer:yes"),
    InlineKeyboardButton(text="No", callback_data="answer:no"),
]])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = fake.make_bot()
    yield client
    await client.session.close()


def echo_dispatcher(handled: list[int]) -> Dispatcher:
    """Echo texts with a Yes/No keyboard; a press is answered and edits the pressed message."""
    router = Router()

    @router.message(F.text)
    async def echo(message: Message, event_update: Update) -> None:
        handled.append(event_update.update_id)
        await message.answer(f"echo: {message.text}", reply_markup=KEYBOARD)

    @router.callback_query()
    async def pressed(query: CallbackQuery, event_update: Update) -> None:
        handled.append(event_update.update_id)
        await query.answer("noted")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"you chose {query.data}")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


@contextlib.asynccontextmanager
async def polling(fake: FakeTelegram, dispatcher: Dispatcher, polling_timeout: int = 5) -> AsyncIterator[Bot]:
    """Run real aiogram long polling against the fake and always stop it cleanly."""
    polling_bot = fake.make_bot()
    since = len(fake.calls)
    task = asyncio.create_task(dispatcher.start_polling(
        polling_bot, handle_signals=False, polling_timeout=polling_timeout))
    try:
        await fake.wait_for(lambda c: c.method == "getUpdates", since=since)
        yield polling_bot
    finally:
        with contextlib.suppress(RuntimeError):
            await asyncio.wait_for(dispatcher.stop_polling(), 5)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await polling_bot.session.close()


async def test_get_me_reports_a_bot(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot is True
    assert (me.id, me.username) == (bot.id, fake.bot_user["username"])
    assert fake.calls_to("getMe")[0].status == 200


async def test_json_and_query_clients_and_unknown_methods(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}/bot{fake.token}"
    async with aiohttp.ClientSession() as http:
        markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
        async with http.post(f"{url}/sendMessage", json={"chat_id": 7, "text": "42", "reply_markup": markup}) as r:
            sent = await r.json()
        async with http.get(f"{url}/getUpdates", params={"timeout": "0", "limit": "5"}) as r:
            polled = await r.json()
        async with http.post(f"{url}/sendTelepathy", data={"chat_id": "7"}) as r:
            unknown, unknown_status = await r.json(), r.status
    assert sent["ok"] and sent["result"]["text"] == "42" and sent["result"]["reply_markup"] == markup
    assert sent["result"]["from"]["is_bot"] and sent["result"]["chat"] == {"id": 7, "type": "private"}
    assert polled == {"ok": True, "result": []}
    assert fake.calls_to("getUpdates")[0].params == {"timeout": 0, "limit": 5}
    assert unknown_status == 404 and unknown == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert fake.unknown_methods == ["sendtelepathy"]


async def test_echo_and_button_press_through_real_polling(fake: FakeTelegram) -> None:
    handled: list[int] = []
    async with polling(fake, echo_dispatcher(handled)):
        first = fake.user_sends_text(USER, "hello", username="sam_r")
        reply = await fake.next_message(USER)
        assert reply["text"] == "echo: hello"
        assert reply["reply_markup"] == KEYBOARD.model_dump(exclude_none=True)
        fake.user_sends_text(USER, "second")
        assert (await fake.next_message(USER))["text"] == "echo: second"

        press = fake.user_presses(USER, reply, "answer:no")  # a button on the OLDER message
        answer = await fake.wait_for(lambda c: c.method == "answerCallbackQuery" and c.status == 200)
        edited = await fake.wait_for_text(USER, "you chose")  # an edit in place, not a new message
        assert edited["message_id"] == reply["message_id"] and "edit_date" in edited
        with pytest.raises(TimeoutError, match="bot: echo: second"):  # timeouts show the chat so far
            await fake.next_message(USER, timeout=0.1)
    assert answer.params["callback_query_id"] == press["callback_query"]["id"]
    assert fake.callback_answers[press["callback_query"]["id"]]["text"] == "noted"
    assert press["callback_query"]["message"]["message_id"] == reply["message_id"]
    assert press["callback_query"]["chat_instance"] and not press["callback_query"]["from"]["is_bot"]
    first_now, second_now = fake.messages_to(USER)
    assert first_now["text"] == "you chose answer:no" and "reply_markup" not in first_now
    assert second_now["text"] == "echo: second" and second_now["reply_markup"]
    assert handled == [first["update_id"], first["update_id"] + 1, press["update_id"]]
    with pytest.raises(ValueError, match="not a button"):
        fake.user_presses(USER, first_now, "answer:yes")  # its keyboard is gone now


async def test_offsets_drop_confirmed_updates_across_sessions(fake: FakeTelegram, bot: Bot) -> None:
    handled: list[int] = []
    dispatcher = echo_dispatcher(handled)
    async with polling(fake, dispatcher):
        one = fake.user_sends_text(USER, "one")
        await fake.next_message(USER)
        await fake.wait_for(lambda c: c.method == "getUpdates" and c.params.get("offset", 0) > one["update_id"])
    two = fake.user_sends_text(USER, "two")  # arrives while nobody polls
    async with polling(fake, dispatcher):
        await fake.next_message(USER)
        await fake.wait_for(lambda c: c.method == "getUpdates" and c.params.get("offset", 0) > two["update_id"])
    assert handled == [one["update_id"], two["update_id"]]
    assert await bot.get_updates(timeout=0) == []  # confirmed updates are gone for good
    assert [m["text"] for m in fake.messages_to(USER)] == ["echo: one", "echo: two"]


async def test_redelivered_update_keeps_its_update_id(fake: FakeTelegram, bot: Bot) -> None:
    update = fake.user_sends_text(USER, "again")
    first = await bot.get_updates(offset=0, timeout=0)
    assert [u.update_id for u in await bot.get_updates(offset=update["update_id"] + 1, timeout=0)] == []
    abandoned = asyncio.create_task(bot.get_updates(offset=update["update_id"] + 1, timeout=10))
    await fake.wait_for(lambda c: c.method == "getUpdates" and c.status is None)
    abandoned.cancel()  # like a stopped dispatcher: the fake must not hand updates to nobody
    await asyncio.sleep(0.05)
    fake.redeliver(update)
    again = await bot.get_updates(offset=update["update_id"] + 1, timeout=0)
    assert [u.update_id for u in first] == [u.update_id for u in again] == [update["update_id"]]
    assert await bot.get_updates(offset=update["update_id"] + 1, timeout=0) == []


async def test_long_poll_returns_promptly_and_never_spins(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.3)
    assert not poll.done(), "getUpdates must be held while there is nothing to return"
    injected_at = time.monotonic()
    update = fake.user_sends_text(USER, "ping")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - injected_at < 0.2  # woken by the update, not by a timer
    assert [u.update_id for u in updates] == [update["update_id"]]

    poll = asyncio.create_task(bot.get_updates(offset=update["update_id"] + 1, timeout=5))
    await fake.wait_for(lambda c: c.method == "getUpdates" and c.status is None)  # held right now
    injected_at = time.monotonic()
    fake.user_sends_text(USER, "pong")
    assert len(await asyncio.wait_for(poll, 2)) == 1
    assert time.monotonic() - injected_at < 0.1
    assert len(fake.calls_to("getUpdates")) == 2

    async with polling(fake, echo_dispatcher([])):  # idle aiogram polling: held, not a busy loop
        await asyncio.sleep(0.6)
    assert len(fake.calls_to("getUpdates")) <= 4


async def test_close_releases_held_long_polls() -> None:
    async with FakeTelegram() as server:
        client = server.make_bot()
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await server.wait_for(lambda c: c.method == "getUpdates")
        started = time.monotonic()
    assert await asyncio.wait_for(poll, 3) == []
    assert time.monotonic() - started < 2
    await client.session.close()


async def test_get_updates_conflicts_while_webhook_is_set(fake: FakeTelegram, bot: Bot) -> None:
    held = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for(lambda c: c.method == "getUpdates")
    assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await asyncio.wait_for(held, 2)  # the held poll is released with 409 too
    with pytest.raises(TelegramConflictError):
        await bot.get_updates(timeout=0)
    assert [c.status for c in fake.calls_to("getUpdates")] == [409, 409]
    assert (await bot.get_webhook_info()).url == "http://127.0.0.1:9/hook"
    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []


async def test_fail_next_429_surfaces_as_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", error_code=429, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(USER, "hi")
        assert caught.value.retry_after == 7
    assert (await bot.send_message(USER, "hi")).text == "hi"
    assert fake.calls_to("sendMessage")[0].response == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7}}
    assert len(fake.messages_to(USER)) == 1


async def test_blocked_user_surfaces_as_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.block_user(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "still there?")
    assert (await bot.send_message(USER + 1, "hello")).chat.id == USER + 1
    assert fake.messages_to(USER) == []


@contextlib.asynccontextmanager
async def webhook_app(dispatcher: Dispatcher, bot: Bot, background: bool = True) -> AsyncIterator[str]:
    """aiogram's own aiohttp webhook handler, expecting the secret 's3cret'."""
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token="s3cret",
                         handle_in_background=background).register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


async def test_webhook_mode_delivers_updates_with_secret(fake: FakeTelegram, bot: Bot) -> None:
    handled: list[int] = []
    async with webhook_app(echo_dispatcher(handled), bot) as url:
        assert await bot.set_webhook(url, secret_token="s3cret")
        update = fake.user_sends_text(USER, "via hook")
        assert (await fake.next_message(USER))["text"] == "echo: via hook"
        fake.redeliver(update)  # Telegram re-delivering the same update_id
        await fake.next_message(USER)
        await fake.flush_webhook()
    assert [(d.update_id, d.status) for d in fake.deliveries] == [(update["update_id"], 200)] * 2
    assert handled == [update["update_id"]] * 2
    assert fake.calls_to("setWebhook")[0].params["secret_token"] == "s3cret"


async def test_webhook_wrong_secret_gets_401_and_can_be_retried(fake: FakeTelegram, bot: Bot) -> None:
    handled: list[int] = []
    async with webhook_app(echo_dispatcher(handled), bot) as url:
        await bot.set_webhook(url, secret_token="wrong")
        update = fake.user_sends_text(USER, "knock knock")
        await fake.flush_webhook()
        assert [(d.update_id, d.status) for d in fake.deliveries] == [(update["update_id"], 401)]
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 1 and "401" in (info.last_error_message or "")
        assert handled == [] and fake.calls_to("sendMessage") == []

        await bot.set_webhook(url, secret_token="s3cret")
        retried = await fake.retry_failed_deliveries()
        assert [(d.update_id, d.status) for d in retried] == [(update["update_id"], 200)]
        assert (await fake.next_message(USER))["text"] == "echo: knock knock"


async def test_webhook_reply_methods_are_executed(fake: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message(F.text)
    async def reply_in_response(message: Message) -> Any:
        return message.answer(f"inline reply to {message.text}")  # not awaited: a webhook reply

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    async with webhook_app(dispatcher, bot, background=False) as url:
        await bot.set_webhook(url, secret_token="s3cret")
        fake.user_sends_text(USER, "hi")
        assert (await fake.next_message(USER))["text"] == "inline reply to hi"
    assert [c.source for c in fake.calls_to("sendMessage")] == ["webhook_reply"]


async def test_enforced_limits_throttle_fast_sends(bot: Bot) -> None:
    async with FakeTelegram(enforce_limits=True, global_per_second=3, per_chat_per_second=1) as limited:
        client = limited.make_bot()
        try:
            await client.send_message(1, "first")
            with pytest.raises(TelegramRetryAfter) as caught:
                await client.send_message(1, "too soon")  # same chat, well within 0.5 s
            assert caught.value.retry_after >= 1 and limited.throttled == 1
            await client.send_message(2, "other chat")
            await client.send_message(3, "third chat")
            with pytest.raises(TelegramRetryAfter):
                await client.send_message(4, "over the global limit")
            assert limited.throttled == 2
            assert {chat: len(times) for chat, times in limited.sent_at.items()} == {1: 1, 2: 1, 3: 1}
        finally:
            await client.session.close()
    async with FakeTelegram() as relaxed:  # off by default
        client = relaxed.make_bot()
        for _ in range(3):
            await client.send_message(1, "fast")
        await client.session.close()
        assert relaxed.throttled == 0


async def test_edits_documents_commands_and_rejections(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(USER, "<b>Q1</b> pick one", parse_mode="HTML", reply_markup=KEYBOARD)
    assert sent.text == "Q1 pick one" and sent.reply_markup.inline_keyboard[0][1].callback_data == "answer:no"
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text(chat_id=USER, message_id=sent.message_id, text="Q1 pick one",
                                    reply_markup=KEYBOARD)
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    assert "reply_markup" not in fake.messages_to(USER)[0]
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "I <3 this", parse_mode="HTML")

    keyboard = ReplyKeyboardMarkup(keyboard=[[{"text": "Agree"}]])  # type: ignore[list-item]
    await bot.send_message(USER, "How much?", reply_markup=keyboard)
    assert fake.keyboard_for(USER) == fake.messages_to(USER)[-1]["reply_markup"]

    doc = await bot.send_document(USER, BufferedInputFile(b"id,answer\n1,yes\n", filename="report.csv"),
                                  caption="export")
    stored = fake.files[doc.document.file_id]
    assert (stored.filename, stored.data) == ("report.csv", b"id,answer\n1,yes\n")
    assert fake.messages_to(USER)[-1]["document"]["file_name"] == "report.csv"

    assert await bot.delete_message(USER, sent.message_id)
    assert len(fake.messages_to(USER)) == 2 and len(fake.messages_to(USER, include_deleted=True)) == 3

    await bot.set_my_commands([BotCommand(command="start", description="Begin the survey")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []


async def test_simulated_users_build_valid_updates(fake: FakeTelegram, bot: Bot) -> None:
    sticker = {"file_id": "CAAD", "file_unique_id": "AgAD", "type": "regular", "width": 512,
               "height": 512, "is_animated": False, "is_video": False}
    text = fake.user_sends_text(USER, "/start survey", first_name="Ana", username="ana")
    fake.user_sends(USER, {"sticker": sticker})
    fix = {"message_id": text["message"]["message_id"], "text": "/start fixed"}
    fake.user_sends(USER, fix, kind="edited_message")
    group = {"id": -100123, "type": "group", "title": "Partnership"}
    fake.user_sends(USER, {"chat": group, "text": "hi all"})
    updates = await bot.get_updates(timeout=0)  # aiogram validates every one of them
    assert [u.event_type for u in updates] == ["message", "message", "edited_message", "message"]
    first, with_sticker, edited, in_group = updates
    assert first.message.from_user.is_bot is False and first.message.from_user.username == "ana"
    assert first.message.chat.id == USER and first.message.entities[0].type == "bot_command"
    assert with_sticker.message.sticker.file_id == "CAAD"
    assert edited.edited_message.message_id == text["message"]["message_id"]
    assert edited.edited_message.edit_date is not None and edited.edited_message.text == "/start fixed"
    assert in_group.message.chat.type == "group" and in_group.message.from_user.id == USER
    assert len({u.update_id for u in updates}) == 4


async def test_run_in_thread_serves_sync_callers() -> None:
    handle = FakeTelegram().run_in_thread()
    try:
        update = handle.call(handle.fake.user_sends_text, 9, "from a thread")
        url = f"{handle.base_url}/bot{handle.fake.token}/getUpdates?timeout=0"
        body = await asyncio.to_thread(lambda: json.load(urllib.request.urlopen(url, timeout=5)))
        assert [u["update_id"] for u in body["result"]] == [update["update_id"]]
    finally:
        handle.stop()


async def test_command_line_server_for_other_processes() -> None:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0"],
                            cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        base_url = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 15)  # type: ignore[union-attr]
        assert base_url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession(base_url.strip()) as http:
            async with http.post("/_fake/user_sends_text", json={"user_id": 5, "text": "remote"}) as r:
                assert (await r.json())["result"]["message"]["text"] == "remote"
            async with http.post("/bot1:x/getMe") as r:
                assert (await r.json())["result"]["is_bot"] is True
            async with http.get("/_fake/state") as r:
                assert (await r.json())["calls"] == {"getMe": 1}
    finally:
        proc.terminate()
        assert proc.wait(10) == 0  # SIGTERM is handled: the fake shuts down cleanly
        proc.stdout.close()  # type: ignore[union-attr]
