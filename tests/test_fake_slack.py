"""The fake Slack platform must be faithful enough for the REAL slack_bolt / slack_sdk code to run against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import (
    FakeSlack,
    SlackSigner,
    app_home_opened,
    event_envelope,
    im_message,
    slash_command_fields,
)

SECRET = "test-signing-secret"
USER = "U0ALICE"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def seen() -> list[Any]:
    """What the Bolt handlers received, so tests prove the handler really ran."""
    return []


@pytest.fixture
def bolt(fake: FakeSlack, seen: list[Any]) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient("xoxb-fake", base_url=fake.api_url), signing_secret=SECRET)

    @app.event("message")
    async def on_message(event: dict, say: Any) -> None:
        await say(f"you said: {event['text']}")

    @app.action("pick")
    async def on_pick(ack: Any, body: dict, client: AsyncWebClient) -> None:
        await ack()
        await client.chat_update(channel=body["channel"]["id"], ts=body["message"]["ts"],
                                 text=f"picked {body['actions'][0]['value']}", blocks=[])

    @app.command("/survey")
    async def on_survey(ack: Any, command: dict) -> None:
        seen.append(command)
        await ack(f"starting {command['text']}")

    @app.event("app_home_opened")
    async def on_home(event: dict, client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    @app.view("cb")
    async def on_view(ack: Any, view: dict) -> None:
        seen.append((view["private_metadata"], view["state"]["values"]))
        await ack()

    return app


@pytest.fixture
async def bolt_url(bolt: AsyncApp) -> AsyncIterator[str]:
    """The Bolt app behind a plain aiohttp server on 127.0.0.1, as the HTTP deployment runs it."""

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(server, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    await runner.cleanup()


async def test_signed_dm_gets_a_reply(fake: FakeSlack, bolt_url: str) -> None:
    dm = fake.dm_channel(USER)
    status, _ = await SlackSigner(SECRET).post_event(bolt_url, im_message(USER, "hello", dm))
    assert status == 200
    reply = await fake.next_message(USER)
    assert reply["text"] == "you said: hello"
    assert fake.messages_in(dm)[0]["ts"] == reply["ts"]
    assert fake.calls_to("auth.test"), "Bolt authorises through the fake's auth.test"


@pytest.mark.parametrize("forge", ["wrong_secret", "stale"])
async def test_forged_requests_are_rejected(fake: FakeSlack, bolt_url: str, forge: Any) -> None:
    status, _ = await SlackSigner(SECRET).post_event(
        bolt_url, im_message(USER, "hi", fake.dm_channel(USER)), forge=forge)
    assert status == 401
    assert not fake.calls_to("chat.postMessage")


async def test_block_action_updates_the_message(fake: FakeSlack, bolt: AsyncApp, bolt_url: str) -> None:
    posted = await bolt.client.chat_postMessage(channel=USER, text="pick one", blocks=[{"type": "divider"}])
    assert fake.calls_to("chat.postMessage")[0].params["blocks"] == [{"type": "divider"}]
    status, _ = await SlackSigner(SECRET).post_block_action(
        bolt_url, USER, posted["channel"], posted["ts"], "pick", "yes", message=posted["message"])
    assert status == 200
    update = await fake.wait_for(lambda c: c.method == "chat.update")
    assert update.ok and update.params["ts"] == posted["ts"]
    assert fake.messages_in(USER) == [{**posted["message"], "text": "picked yes", "blocks": [],
                                       "edited": {"user": fake.bot_user_id}}]


async def test_slash_command_and_view_submission_are_acked(bolt_url: str, seen: list[Any]) -> None:
    signer = SlackSigner(SECRET)
    status, body = await signer.post_slash_command(bolt_url, USER, text="wellbeing")
    assert (status, body) == (200, "starting wellbeing")
    state = {"q1": {"answer": {"type": "plain_text_input", "value": "fine"}}}
    status, body = await signer.post_view_submission(bolt_url, USER, "cb", "survey=7", state)
    assert (status, body) == (200, "")
    assert seen[0]["command"] == "/survey"
    assert seen[1] == ("survey=7", state)


async def test_app_home_opened_publishes_a_view(fake: FakeSlack, bolt_url: str) -> None:
    status, _ = await SlackSigner(SECRET).post_event(bolt_url, app_home_opened(USER))
    assert status == 200
    call = await fake.wait_for(lambda c: c.method == "views.publish")
    assert call.params["view"] == {"type": "home", "blocks": []}
    assert fake.home_views[USER]["type"] == "home"


async def test_socket_mode_round_trip(fake: FakeSlack, bolt: AsyncApp) -> None:
    handler = AsyncSocketModeHandler(bolt, "xapp-1-fake")
    try:
        await handler.connect_async()
        await fake.wait_socket_connected()
        assert fake.calls_to("apps.connections.open")[0].token == "xapp-1-fake"
        envelope_id = await fake.socket_send("events_api",
                                             event_envelope(im_message(USER, "over ws", fake.dm_channel(USER))))
        assert await fake.socket_wait_ack(envelope_id) == {"envelope_id": envelope_id}
        assert (await fake.next_message(USER))["text"] == "you said: over ws"
        envelope_id = await fake.socket_send("slash_commands", slash_command_fields(USER, text="again"))
        assert (await fake.socket_wait_ack(envelope_id))["payload"] == {"text": "starting again"}
    finally:
        await handler.close_async()


async def test_rate_limit_surfaces_then_is_retried(fake: FakeSlack) -> None:
    client = AsyncWebClient("xoxb-fake", base_url=fake.api_url)
    fake.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel=USER, text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.response["error"] == "ratelimited"

    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.fail_next("chat.postMessage", retry_after=0)
    response = await client.chat_postMessage(channel=USER, text="y")
    assert response["message"]["text"] == "y"
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 429, 200]


async def test_deactivated_user_and_unknown_method(fake: FakeSlack) -> None:
    client = AsyncWebClient("xoxb-fake", base_url=fake.api_url)
    dm = (await client.conversations_open(users=USER))["channel"]["id"]
    fake.deactivate_user(USER)
    for call, error in ((client.conversations_open(users=USER), "user_disabled"),
                        (client.chat_postMessage(channel=dm, text="hi"), "account_inactive"),
                        (client.api_call("surveys.frobnicate"), "unknown_method")):
        with pytest.raises(SlackApiError) as info:
            await call
        assert info.value.response["error"] == error
    assert fake.calls[-1].method == "surveys.frobnicate"


async def test_files_upload_v2_flow(fake: FakeSlack) -> None:
    client = AsyncWebClient("xoxb-fake", base_url=fake.api_url)
    await client.files_upload_v2(channel="C0REPORT", filename="said.csv", content=b"a,b\n1,2\n", title="Report")
    (upload,) = fake.uploads.values()
    assert (upload.filename, upload.data, upload.title, upload.completed) == ("said.csv", b"a,b\n1,2\n",
                                                                              "Report", True)
    assert fake.messages_in("C0REPORT")[0]["files"][0]["name"] == "said.csv"


def test_run_in_thread_serves_sync_clients() -> None:
    handle = FakeSlack().run_in_thread()
    try:
        assert WebClient("xoxb-fake", base_url=handle.api_url).auth_test()["bot_id"] == "B0BOT"
        assert [c.method for c in handle.fake.calls] == ["auth.test"]
    finally:
        handle.stop()


async def test_posted_feed_waits_for_the_next_message_and_names_whose_dm_it_is(fake: FakeSlack) -> None:
    """GET /_fake/posted, how a benchmark in another process sees what the bot posted: only successful
    chat.postMessage calls, each with the DM's owner, and it answers as soon as one comes in."""
    client = AsyncWebClient("xoxb-fake", base_url=fake.api_url)
    dm = (await client.conversations_open(users=USER))["channel"]["id"]
    first = await client.chat_postMessage(channel=dm, text="one")
    await client.chat_update(channel=dm, ts=first["ts"], text="one, answered")
    async with aiohttp.ClientSession() as session:

        async def posted(since: int, wait: float = 0) -> dict[str, Any]:
            async with session.get(f"{fake.base_url}/_fake/posted", params={"since": since, "wait": wait}) as r:
                return dict(await r.json())

        news = await posted(0)
        assert news["next"] == len(fake.calls) == 3
        assert [(p["channel"], p["owner"], p["message"]["text"]) for p in news["messages"]] == [(dm, USER, "one")]
        waiting = asyncio.ensure_future(posted(news["next"], wait=5))
        await client.chat_update(channel=dm, ts=first["ts"], text="an edit is no news")
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await client.chat_postMessage(channel="C0OTHER", text="two")
        news = await asyncio.wait_for(waiting, 2)
        assert [(p["channel"], p["owner"], p["message"]["text"]) for p in news["messages"]] == [
            ("C0OTHER", None, "two")]
        assert (await posted(news["next"], wait=0.05))["messages"] == []
        async with session.get(f"{fake.base_url}/_fake/counts") as r:
            assert await r.json() == {"conversations.open": 1, "chat.postMessage": 2, "chat.update": 2}
