"""Slack at scale: a campaign reaches people by their user id (no conversations.open, which is Tier 3), within
chat.postMessage's limits, against a fake Slack that answers 429 beyond the limits it claims; and the fake itself
keeps to those limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.port import Address
from bot.channels.slack import SlackChannel
from bot.server import HttpServer
from bot.services.broadcast import Broadcaster
from bot.services.service import SurveyService
from storage import campaigns as store_campaigns
from storage.unit_of_work import Store

from .conftest import Clock
from .fakes.slack_api import CHANNEL_BURST, TEAM_ID, TIER_PER_MINUTE, FakeSlack, block_actions_payload
from .test_campaigns import add_campaign

PEOPLE = 120  # more than Tier 3 allows conversations.open in a minute (50)
FAST = 6000  # chat.postMessage a minute the fake allows here, so the test takes seconds, not the 24 at 300 a minute


def slack_person(n: int) -> Address:
    return Address("slack", TEAM_ID, f"U0REACH{n:04d}")


@asynccontextmanager
async def slack_channel(service: SurveyService, fake: FakeSlack) -> AsyncIterator[SlackChannel]:
    channel = SlackChannel(service, service.catalogue, bot_token="xoxb-test", signing_secret="secret",
                           api_url=fake.api_url, posts_per_minute=FAST)
    await channel.start(HttpServer("127.0.0.1", 0))
    try:
        yield channel
    finally:
        await channel.stop()


async def test_a_campaign_reaches_every_slack_person_without_opening_dms_and_within_the_limits(
        service: SurveyService, store: Store, clock: Clock) -> None:
    keys = service.keys
    with store.unit() as uow:
        for n in range(PEOPLE):
            store_campaigns.upsert_contact(uow, keys.contact_lookup(slack_person(n)), "slack",
                                           keys.seal(slack_person(n)), ["all"], clock.now.date())
    add_campaign(store, "reach", clock.now - timedelta(minutes=1), clock.now + timedelta(days=7), [], clock)
    async with FakeSlack(enforce_limits=True, posts_per_minute=FAST) as fake, slack_channel(service, fake) as channel:
        gone = slack_person(PEOPLE - 1)
        fake.deactivate_user(gone.user)
        broadcaster = Broadcaster(store, keys, service.catalogue, clock)
        broadcaster.run_due()
        async with asyncio.timeout(60):  # with a conversations.open a person, Slack's 429s would hold it a minute
            sent = await broadcaster.drain(channel, service.call)
        assert sent == PEOPLE - 1
        assert fake.throttled == 0, "never over chat.postMessage's limits"
        opened = fake.calls_to("conversations.open")
        assert len(opened) == 1 and opened[0].params["users"] == gone.user, "only for the one Slack would not take"
        posted = {c.params["channel"]: c.response.get("channel") for c in fake.calls_to("chat.postMessage") if c.ok}
        assert set(posted) == {slack_person(n).user for n in range(PEOPLE - 1)}, "posted to the user id itself"
        assert all(dm == fake.dm_channel(user) for user, dm in posted.items()), "Slack put each in the app's DM"

        # A press on Start in the invitation: the survey's messages go to the DM Slack named, still no open
        someone = slack_person(3)
        dm = fake.dm_channel(someone.user)
        invitation = fake.messages_in(dm)[0]
        start = next(e for b in invitation["blocks"] if b["type"] == "actions" for e in b["elements"])
        payload = block_actions_payload(someone.user, dm, invitation["ts"], start["action_id"], start.get("value"))
        await channel.work.begin(someone, str(payload["actions"][0]["value"]), "press:1")
        assert len(fake.messages_in(dm)) >= 2 and len(fake.calls_to("conversations.open")) == 1
    with store.unit() as uow:
        campaign = store_campaigns.by_code(uow, "reach")
        assert campaign is not None
        counts = store_campaigns.outbox_counts(uow, campaign.id or 0)
    assert counts == {("invite", "sent"): PEOPLE - 1, ("invite", "unreachable"): 1}


@pytest.fixture
async def enforcing() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(enforce_limits=True, posts_per_minute=10) as fake:
        yield fake


async def test_the_fake_answers_429_with_retry_after_beyond_the_limits_it_claims(enforcing: FakeSlack) -> None:
    client = AsyncWebClient("xoxb-test", base_url=enforcing.api_url)  # no retry handler: every 429 surfaces

    async def refused(call: object) -> int:
        """Retry-After when the call was refused for its rate, else 0 (answered, rightly or with another error)."""
        try:
            await call  # type: ignore[misc]
        except SlackApiError as exc:
            if exc.response.status_code != 429:
                return 0
            assert exc.response["error"] == "ratelimited"
            return int(exc.response.headers["Retry-After"])
        return 0

    for n in range(TIER_PER_MINUTE[3]):  # conversations.open: Tier 3
        assert await refused(client.conversations_open(users=f"U0OPEN{n:03d}")) == 0
    assert 0 < await refused(client.conversations_open(users="U0OPENMORE")) <= 60

    for _ in range(CHANNEL_BURST):  # chat.postMessage: a short burst to one channel, then one a second
        assert await refused(client.chat_postMessage(channel="U0BURST", text="hi")) == 0
    assert 0 < await refused(client.chat_postMessage(channel="U0BURST", text="hi")) <= CHANNEL_BURST
    for n in range(10 - CHANNEL_BURST):  # and the workspace-wide limit, set to 10 a minute here
        assert await refused(client.chat_postMessage(channel=f"U0WIDE{n:03d}", text="hi")) == 0
    assert 0 < await refused(client.chat_postMessage(channel="U0WIDEMORE", text="hi")) <= 60
    for _ in range(TIER_PER_MINUTE[3]):  # chat.update: Tier 3 too (an answer's question marked answered)
        assert await refused(client.chat_update(channel="D0NONE", ts="1.0", text="x")) == 0
    assert 0 < await refused(client.chat_update(channel="D0NONE", ts="1.0", text="x")) <= 60
    assert enforcing.throttled == 4


async def test_without_enforce_limits_the_fake_never_throttles() -> None:
    async with FakeSlack(posts_per_minute=1) as fake:
        client = AsyncWebClient("xoxb-test", base_url=fake.api_url)
        for _ in range(5):
            await client.chat_postMessage(channel="U0FREE", text="hi")
        assert fake.throttled == 0
