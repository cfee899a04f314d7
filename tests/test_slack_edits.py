"""Questions marked answered (chat.update, Slack's Tier 3: 50 a minute) go through a paced, best-effort queue
(bot/channels/slack/edits.py), never ahead of the next question: against a fake Slack that answers 429 beyond
Tier 3, a workspace answering faster than that has every answer stored, every next question sent and no call
refused; and the queue itself keeps to its budget, sends only the newest drawing of a message, drops the oldest
when too many wait, and pauses after a 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from bot.bounded import BoundedMap
from bot.channels.port import Address
from bot.channels.slack.blocks import sections
from bot.channels.slack.edits import SHARE, Edits
from bot.channels.slack.people import Drawn, Person
from bot.channels.slack.render import Renderer
from bot.config import Settings, SettingsError
from bot.engine import conversation as engine
from bot.services.service import SurveyService
from storage.unit_of_work import Store

from .fakes.slack_api import CHANNEL_BURST, TEAM_ID, TIER_PER_MINUTE, FakeSlack
from .test_slack_reach import FAST, slack_channel

PEOPLE = 40  # two answers each, at once: 80 answers, far beyond the 50 chat.update calls Slack allows a minute


def person(n: int) -> Address:
    return Address("slack", TEAM_ID, f"U0EDIT{n:04d}")


async def test_answering_faster_than_chat_updates_tier_stores_every_answer_and_sends_every_next_question(
        service: SurveyService, store: Store) -> None:
    async with FakeSlack(enforce_limits=True, posts_per_minute=FAST) as fake, slack_channel(service, fake) as channel:
        people = [person(n) for n in range(PEOPLE)]
        work, renderer = channel.work, channel.renderer

        def asked(address: Address) -> Drawn:
            """The question this person was sent last."""
            drawn = renderer.person(address).drawn
            return drawn[max(drawn)]

        async def answer(address: Address, step: str) -> None:
            question = asked(address)
            assert question.prompt is not None
            await work.act(address, engine.Pick(question.prompt.turn, 0), f"{step}-{address.user}")

        async with asyncio.timeout(30):  # a press waiting on Slack's chat.update limit would wait a minute
            await asyncio.gather(*(work.begin(p, "sample", f"start-{p.user}") for p in people))
            await asyncio.sleep(CHANNEL_BURST + 0.1)  # each DM's burst of chat.postMessage (welcome, notice, consent)
            await asyncio.gather(*(answer(p, "consent") for p in people))
            await asyncio.gather(*(answer(p, "agency") for p in people))

        with store.unit() as uow:
            recorded = uow.session.execute(text("SELECT count(*) FROM answer")).scalar_one()
        assert recorded == PEOPLE, "every agency answer stored (consent is not an answer)"
        for address in people:  # every next question sent: each person now has "aware" in front of them
            question = asked(address)
            assert question.prompt is not None and question.prompt.question_id == "aware"
        assert fake.throttled == 0, "no call refused for its rate: no 429s at all"
        edits = fake.calls_to("chat.update")
        budget = int(TIER_PER_MINUTE[3] * SHARE)
        assert 0 < len(edits) <= budget, "chat.update kept within Tier 3"
        assert len(edits) + renderer.edits.waiting == 2 * PEOPLE, "the rest wait their turn, none lost yet"
        assert renderer.edits.dropped == 0


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(enforce_limits=True) as running:
        yield running


def renderer_on(fake: FakeSlack) -> Renderer:
    """A renderer calling the fake through slack_sdk with no retry handler, so a 429 reaches the queue."""
    client = AsyncWebClient("xoxb-test", base_url=fake.api_url)
    return Renderer("slack", lambda: client, BoundedMap[Address, Person](10), lambda _outcome: None)


def message(n: int) -> Drawn:
    return Drawn("D0EDITS", f"{n}.000100")


async def redrawn(fake: FakeSlack, drawn: Drawn) -> list[str]:
    """The texts the fake was asked to redraw `drawn` with, in order."""
    return [str(c.params["text"]) for c in fake.calls_to("chat.update") if c.params["ts"] == drawn.ts]


async def test_edits_beyond_the_budget_wait_and_only_the_newest_drawing_of_a_message_is_sent(fake: FakeSlack) -> None:
    renderer = renderer_on(fake)
    edits = renderer.edits = Edits(renderer._edit, per_minute=5, window=0.5)  # 4 calls every half second
    for n in range(edits.budget):
        edits.request(message(n), f"first {n}", sections("x"))
    assert edits.waiting == 0, "within the budget: sent at once"
    edits.request(message(10), "ticked once", sections("x"))
    edits.request(message(11), "other", sections("x"))
    edits.request(message(10), "answered", sections("x"))  # the same message again, before its turn came
    assert (edits.waiting, edits.merged) == (2, 1)
    await fake.wait_for(lambda c: c.method == "chat.update" and c.params["ts"] == message(11).ts)
    assert await redrawn(fake, message(10)) == ["answered"], "the older drawing was never sent"
    assert edits.waiting == 0 and fake.throttled == 0
    await edits.close()


async def test_when_too_many_wait_the_oldest_are_dropped(fake: FakeSlack) -> None:
    renderer = renderer_on(fake)
    edits = renderer.edits = Edits(renderer._edit, per_minute=1, waiting_max=3)  # one call a minute
    for n in range(5):
        edits.request(message(n), f"answered {n}", sections("x"))
    assert (edits.waiting, edits.dropped) == (3, 1), "one sent, three waiting, the oldest waiting dropped"
    await edits.close()
    assert edits.waiting == 0
    assert [c.params["ts"] for c in fake.calls_to("chat.update")] == [message(0).ts]


async def test_a_429_pauses_the_edits_for_slacks_retry_after(fake: FakeSlack) -> None:
    renderer = renderer_on(fake)
    edits = renderer.edits
    fake.fail_next("chat.update", 429, retry_after=1)
    edits.request(message(0), "refused", sections("x"))
    await fake.wait_for(lambda c: c.method == "chat.update")
    while edits.throttled == 0:  # the refusal reaches the queue once its call task ends
        await asyncio.sleep(0.01)
    edits.request(message(1), "after the pause", sections("x"))
    assert edits.waiting == 1, "paused: it waits rather than meeting another 429"
    await fake.wait_for(lambda c: c.method == "chat.update" and c.params["ts"] == message(1).ts)
    assert await redrawn(fake, message(1)) == ["after the pause"]
    assert len(fake.calls_to("chat.update")) == 2, "one refusal, then one call once Slack said it may"
    await edits.close()


@given(st.integers(min_value=1, max_value=1_000_000))
def test_the_edit_budget_setting_takes_a_whole_number_of_calls_a_minute(per_minute: int) -> None:
    assert Settings.from_env({"SLACK_EDITS_PER_MINUTE": str(per_minute)}).slack_edits_per_minute == per_minute
    assert Settings.from_env({}).slack_edits_per_minute == TIER_PER_MINUTE[3]  # Slack's Tier 3 unless told


def _wrong(value: str) -> bool:
    """Not a whole number from 1 to 1,000,000 once trimmed; blank means unset (the default), as for every setting."""
    trimmed = value.strip()
    return bool(trimmed) and not (trimmed.isascii() and trimmed.isdigit() and 1 <= int(trimmed) <= 1_000_000)


@given(st.text(max_size=12).filter(_wrong))
@example("²")  # a digit to str.isdigit, not to int()
def test_a_wrong_edit_budget_is_one_line_naming_the_setting(wrong: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"SLACK_EDITS_PER_MINUTE": wrong})
    assert str(caught.value).startswith("SLACK_EDITS_PER_MINUTE should") and "\n" not in str(caught.value)
