"""Persist, then send, inside the service (bot.services.pending, storage.replies), on SQLite and PostgreSQL: what a
step must
send is stored with it, sealed, one row per chat; it goes once sent (its deletion riding with the next batch); a
process that starts after a stop takes what was left, and another takes it when a lease runs out. Slack end to end
with the real Bolt app and its fake. The sealed payload's round trip and its refusal of any change are properties.
(The Telegram processes stopped mid-send: tests/test_pending_replies.py.)"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine.conversation import Ask, Prompt, Say
from bot.services import pending
from bot.services.privacy import Keys
from bot.services.safeguarding.checkin import CheckIn, Choice
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue
from storage.unit_of_work import Store
from tests.fakes.slack_api import FakeSlack
from tests.test_slack_channel import first_button, running_bot

from .conftest import PEPPER, Clock

KEYS = Keys(PEPPER)
ALEX = Address("telegram", "123456789", "70001")
SAM = Address("telegram", "123456789", "70002")


def pending_rows(store: Store) -> list[tuple[str, str, str, str]]:
    with store.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(
            "SELECT session, token, channel, payload FROM pending_reply ORDER BY session"))]


async def test_a_telegram_step_keeps_its_messages_sealed_until_they_are_sent(service: SurveyService,
                                                                            store: Store) -> None:
    started = await service.call(service.begin, ALEX, "sample", None, "u1")
    assert started.owed is not None
    ((session, token, channel, payload),) = pending_rows(store)
    assert (session, token, channel) == (*started.owed, "telegram")
    assert ALEX.user not in payload and "consent" not in payload.lower(), "sealed: no id, no words"
    address, effects = pending.unpack(KEYS, payload)
    assert address == ALEX
    assert effects == tuple(e for e in started.effects if isinstance(e, (Say, Ask)))

    consent = next(e.prompt for e in started.effects if isinstance(e, Ask))
    agreed = await service.call(service.handle, ALEX, engine.Pick(consent.turn, 0), "u2")
    ((_, newer, _, _),) = pending_rows(store)  # one row per chat: the newer step's replaces the older
    assert agreed.owed is not None and newer == agreed.owed[1] != token

    service.delivered(agreed)
    for _ in range(50):  # deleted a moment later (pending.FLUSH_SECONDS), no answer needed to carry it
        if not pending_rows(store):
            break
        await asyncio.sleep(0.1)
    assert pending_rows(store) == []
    service.close()


async def test_a_sent_reply_is_deleted_with_the_next_batch(service: SurveyService, store: Store) -> None:
    alex = await service.call(service.begin, ALEX, "sample", None, "a1")
    sam = await service.call(service.begin, SAM, "sample", None, "s1")
    assert len(pending_rows(store)) == 2
    service.delivered(alex)
    turn = next(e.prompt.turn for e in sam.effects if isinstance(e, Ask))
    await service.call(service.handle, SAM, engine.Pick(turn, 0), "s2")
    (left,) = pending_rows(store)  # at once, in Sam's commit: no transaction of its own for Alex's
    assert left[0] == KEYS.session(SAM)
    service.close()


async def test_the_web_chat_stores_no_pending_reply(service: SurveyService, store: Store) -> None:
    """Its reply is the answer to the person's own request, and the page shows the current question on load."""
    outcome = await service.call(service.begin, Address("web", "link", "t" * 43), "sample", None)
    assert outcome.owed is None and pending_rows(store) == []
    service.close()


async def test_a_restarted_process_sends_what_was_left_and_another_takes_it_when_the_lease_runs_out(
        service: SurveyService, store: Store, catalogue: SurveyCatalogue, clock: Clock) -> None:
    started = await service.call(service.begin, ALEX, "sample", None, "u1")  # never sent: the process stops
    again = SurveyService(Store(store.engine), catalogue, Keys(PEPPER), clock)  # the next start
    assert again.owed("telegram") == [], "its lease is the first process's for now (it may be sending it)"
    ((address, outcome),) = again.owed("telegram", every=True)  # alone on the database: everything left is ours
    assert address == ALEX and outcome.effects == tuple(e for e in started.effects if isinstance(e, (Say, Ask)))
    assert outcome.owed == started.owed
    assert again.owed("telegram", every=False) == [], "claimed once: no second process sends it meanwhile"
    assert again.owed("slack", every=True) == []

    third = SurveyService(Store(store.engine), catalogue, Keys(PEPPER), clock)
    clock.now += pending.LEASE + timedelta(seconds=1)  # the second process died without sending it
    ((address, _),) = third.owed("telegram")
    assert address == ALEX
    third.settle_replies()  # a clean stop hands it back at once, for whoever starts next
    assert [a for a, _ in again.owed("telegram")] == [ALEX]


async def test_a_row_sealed_with_another_pepper_is_dropped_not_sent(service: SurveyService, store: Store,
                                                                   catalogue: SurveyCatalogue, clock: Clock,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    await service.call(service.begin, ALEX, "sample", None, "u1")
    other = SurveyService(Store(store.engine), catalogue, Keys(b"another-pepper-" + b"y" * 40), clock)
    assert other.owed("telegram", every=True) == []
    assert pending_rows(store) == []
    assert "cannot be opened" in caplog.text
    service.close()


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_slack_sends_a_question_lost_to_a_stop_once_when_back(tmp_path: Path, database_url: str,
                                                                   mode: str) -> None:
    async with FakeSlack() as fake:
        clock = Clock()
        async with running_bot(fake, tmp_path, mode, database_url, clock) as bot:
            person = bot.person("U0PERSIST")
            await person.command("start sample")
            consent = await person.next_question()
            fake.fail_next("chat.postMessage", status=500, retry_after=None, times=1000, error="internal_error")
            await person.press(consent, *reversed(first_button(consent, "a:1:p:0")))
            await fake.wait_for(lambda c: c.method == "chat.postMessage" and not c.ok)
            assert len(bot.rows("SELECT token FROM pending_reply")) == 1  # the agreement is stored, its reply not
        fake._faults.clear()  # Slack answers again; the bot above has stopped (cleanly: it handed the row back)
        async with running_bot(fake, tmp_path, mode, database_url, clock) as bot:
            first = await bot.person("U0PERSIST").next_question()  # without the person writing again
            assert "Which agency?" in str(first)
            await asyncio.sleep(1.5)
            sent = [c for c in fake.calls_to("chat.postMessage") if c.ok and "Which agency?" in str(c.params)]
            assert len(sent) == 1
            assert bot.rows("SELECT token FROM pending_reply") == []


texts = st.text(min_size=1, max_size=200)
prompts = st.builds(Prompt, question_id=st.text(max_size=20), turn=st.integers(0, 10_000), kind=st.sampled_from(
    ["single", "multi", "yesno", "text", "scale", "consent"]), text=texts, number=st.integers(0, 99),
    total=st.integers(0, 99), options=st.tuples(texts, texts), selected=st.tuples(st.integers(0, 5)),
    hint=st.none() | texts, optional=st.booleans(), can_go_back=st.booleans(), previous=st.none() | texts,
    low_label=st.none() | texts, high_label=st.none() | texts)
effects = st.lists(st.one_of(st.builds(Say, texts), st.builds(Ask, prompts), st.builds(
    CheckIn, texts, st.tuples(st.builds(Choice, texts, texts)), st.booleans())), min_size=1, max_size=5)
addresses = st.builds(Address, st.sampled_from(["telegram", "slack"]), st.text(max_size=20), st.text(max_size=30))


@given(addresses, effects)
def test_a_pending_reply_comes_back_exactly_as_sealed(address: Address, shown: list[object]) -> None:
    payload = pending.pack(KEYS, address, tuple(shown))  # type: ignore[arg-type]
    assert payload is not None
    assert pending.unpack(KEYS, payload) == (address, tuple(shown))


@given(addresses, effects, st.integers(min_value=0), st.integers(1, 255))
def test_a_changed_pending_reply_is_refused(address: Address, shown: list[object], where: int, flip: int) -> None:
    payload = pending.pack(KEYS, address, tuple(shown))  # type: ignore[arg-type]
    assert payload is not None
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[where % len(raw)] ^= flip
    with pytest.raises((InvalidTag, ValueError)):
        pending.unpack(KEYS, base64.urlsafe_b64encode(bytes(raw)).decode())


@given(addresses, st.lists(st.builds(Ask, prompts), min_size=1, max_size=3))
def test_a_question_is_sealed_as_rows_written_before_it_was_packed_field_by_field(address: Address,
                                                                                   asked: list[Ask]) -> None:
    """pack reads a prompt's fields one by one (dataclasses.asdict cost a Slack press ~0.1 ms): the sealed words
    must stay those of every field as asdict gave them, so rows left by the release before still open alike."""
    payload = pending.pack(KEYS, address, tuple(asked))
    assert payload is not None
    assert json.loads(KEYS.unseal_reply(payload))["effects"] == [{"ask": json.loads(json.dumps(asdict(ask.prompt)))}
                                                                 for ask in asked]


def test_a_step_that_sends_nothing_stores_nothing() -> None:
    assert pending.pack(KEYS, ALEX, (engine.Finish(True), engine.Notice("noted"))) is None

