"""Proof (issue #11, point 2): every duplicate is recorded once, above all when the copies arrive AT THE SAME TIME.

The sequential cases live beside their channels: a redelivered Telegram update, a double tap and a stale button in
tests/test_telegram.py; Slack retries (HTTP and Socket Mode), a redelivery to a second process, double clicks and
old buttons in tests/test_slack_channel.py; a redelivered event, a stale tap and eight threads answering one question
in one process in tests/test_service_storage.py. This module covers what those leave open:

* the same event claimed by many threads in two bot processes (two engines, two connection pools) on one database;
* two "start" commands from one person at once, in two processes;
* the last answer sent twice at once, so two completions race;
* the same Telegram webhook update POSTed several times at once, and two different buttons of one question tapped
  at once;
* a Slack event and its retries (X-Slack-Retry-Num; Socket Mode retry_attempt) all in flight together;
* the web chat's same answer (and two different answers) posted at once with one cookie.

Every case runs on SQLite and, where the fixture is `database_url`, on the PostgreSQL server too; after each the
audit chain must still verify, so nothing was half-written.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import App
from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Ask, Finish, Record
from bot.services.audit import verify
from bot.services.privacy import Keys
from bot.services.service import Outcome, SurveyService
from bot.services.surveyfiles import SurveyCatalogue
from storage import database
from storage.unit_of_work import Store

from .conftest import PEPPER, Clock
from .fakes.slack_api import FakeSlack, im_message
from .fakes.telegram_api import FakeTelegram
from .test_slack_channel import running_bot, start_sample
from .test_telegram import USER, begin, next_question, option_data, running
from .test_web import UNHURRIED, Respondent, client
from .test_web import running as running_web

ALICE = Address("telegram", "T0WS", "4242424242")
T = TypeVar("T")


# --- helpers ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def replicas(database_url: str, catalogue: SurveyCatalogue, clock: Clock) -> Iterator[list[SurveyService]]:
    """Two bot processes' services on one database: each its own engine and connection pool, nothing shared."""
    engines = [database.connect(database_url) for _ in range(2)]
    database.upgrade(engines[0])
    services = [SurveyService(Store(e), catalogue, Keys(PEPPER), clock) for e in engines]
    services[0].publish_all()
    yield services
    for e in engines:
        e.dispose()


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call on its own thread, released together by a barrier, so they really overlap."""
    gate = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        gate.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def ask(outcome: Outcome) -> engine.Prompt:
    return next(e.prompt for e in outcome.effects if isinstance(e, Ask))


def rows(store: Store, sql: str) -> list[Any]:
    with store.engine.connect() as connection:
        return list(connection.execute(text(sql)))


def recorded(store: Store, action: str = "answer.recorded") -> int:
    return len(rows(store, f"SELECT 1 FROM audit_record WHERE action = '{action}'"))


def assert_chain_ok(service: SurveyService) -> None:
    verdict = verify(service.store, service.keys)
    assert verdict.ok, verdict.summary()


def to_first_question(service: SurveyService) -> int:
    """Start the sample survey for ALICE and agree; returns the turn of the first question (Which agency?)."""
    outcome = service.begin(ALICE, "sample")
    outcome = service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))
    return ask(outcome).turn


# --- the service, two processes on one database ----------------------------------------------------------------------

def test_one_event_delivered_to_eight_threads_in_two_processes_records_once(replicas: list[SurveyService]) -> None:
    first, second = replicas
    turn = to_first_question(first)
    calls = [lambda s=s: s.handle(ALICE, engine.Pick(turn, 1), event_key="update-77")
             for s in (first, second) * 4]
    outcomes = at_once(calls)
    applied = [o for o in outcomes if not o.duplicate]
    assert len(applied) == 1, [o.duplicate for o in outcomes]
    assert any(isinstance(e, Record) for e in applied[0].effects)
    assert recorded(first.store) == 1
    assert [json.loads(v) for (v,) in rows(first.store, "SELECT value FROM answer")] == ["Health"]
    assert len(rows(first.store, "SELECT 1 FROM processed_event")) == 1
    assert_chain_ok(first)


def test_two_starts_at_once_open_one_conversation(replicas: list[SurveyService]) -> None:
    """/start tapped twice (or a link opened in two tabs), each copy handled by a different process."""
    outcomes = at_once([lambda s=s: s.begin(ALICE, "sample") for s in replicas * 2])
    assert all(o.open for o in outcomes)
    assert len(rows(replicas[0].store, "SELECT 1 FROM conversation")) == 1
    assert len(rows(replicas[0].store, "SELECT 1 FROM contact")) == 1
    assert len(rows(replicas[0].store, "SELECT 1 FROM participation")) == 1
    # a resume re-asks with a new turn, so the consent question drawn last works and the older copies are stale
    turns = sorted({ask(o).turn for o in outcomes})
    results = [replicas[1].handle(ALICE, engine.Pick(turn, 0)) for turn in turns]
    moved = [r for r in results if any(isinstance(e, Ask) for e in r.effects)]
    assert len(moved) == 1 and ask(moved[0]).question_id == "agency"
    assert not rows(replicas[0].store, "SELECT 1 FROM answer"), "consent is not an answer"


def test_the_last_answer_sent_twice_at_once_completes_once(replicas: list[SurveyService]) -> None:
    first = replicas[0]
    outcome = first.begin(ALICE, "sample")
    outcome = first.handle(ALICE, engine.Pick(ask(outcome).turn, 0))  # consent
    outcome = first.handle(ALICE, engine.Pick(ask(outcome).turn, 0))  # agency
    outcome = first.handle(ALICE, engine.Pick(ask(outcome).turn, 1))  # aware: No
    outcome = first.handle(ALICE, engine.Pick(ask(outcome).turn, 3))  # confidence
    outcome = first.handle(ALICE, engine.Reply("7"))  # visits
    outcome = first.handle(ALICE, engine.Pick(ask(outcome).turn, 1))  # first step
    last = ask(outcome).turn
    assert ask(outcome).question_id == "comment"
    # two different event keys (two taps of Send), each to a different process, plus a repeat of each
    outcomes = at_once([lambda s=s, k=k: s.handle(ALICE, engine.Reply("All fine", last), event_key=k)
                        for s in replicas for k in ("send-1", "send-2")])
    finished = [o for o in outcomes if any(isinstance(e, Finish) and e.completed for e in o.effects)]
    assert len(finished) == 1
    assert recorded(first.store, "response.completed") == 1
    assert rows(first.store, "SELECT count(*) FROM response WHERE completed")[0][0] == 1
    assert rows(first.store, "SELECT count(*) FROM answer")[0][0] == 6
    assert rows(first.store, "SELECT completed FROM participation") == [(True,)]
    assert_chain_ok(first)


def test_many_people_and_their_duplicates_at_once_each_record_once(replicas: list[SurveyService]) -> None:
    """Twelve people each answering the same question, every event delivered three times, to both processes."""
    people = [Address("slack", "T0WS", f"U{n:04d}") for n in range(12)]
    turns = {}
    for person in people:
        outcome = replicas[0].begin(person, "sample")
        outcome = replicas[0].handle(person, engine.Pick(ask(outcome).turn, 0))
        turns[person] = ask(outcome).turn
    calls = [lambda p=p, s=s: s.handle(p, engine.Pick(turns[p], 2), event_key=f"ev-{p.user}")
             for p in people for s in (*replicas, replicas[0])]
    outcomes = at_once(calls)
    assert sum(not o.duplicate for o in outcomes) == len(people)
    assert recorded(replicas[0].store) == len(people)
    assert rows(replicas[0].store, "SELECT count(DISTINCT response_id) FROM answer")[0][0] == len(people)
    assert_chain_ok(replicas[0])


# --- Telegram: webhook updates POSTed together -----------------------------------------------------------------------

def answers_in(app: App) -> list[Any]:
    with app.engine.connect() as connection:
        return [json.loads(v) for (v,) in connection.execute(text("SELECT value FROM answer"))]


async def test_telegram_the_same_webhook_update_posted_five_times_at_once_records_once(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", webhook=True) as app:
        hook = fake.calls_to("setWebhook")[-1].params
        await begin(fake, USER, "policy-awareness")
        question = await next_question(fake, USER, "")
        assert question is not None
        update = fake.user_presses(USER, question, option_data(question)[0])  # the fake delivers it too
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]}
        async with aiohttp.ClientSession() as session:

            async def post() -> int:
                """As Telegram posts an update: and like Telegram, carry out a method the webhook's reply holds."""
                async with session.post(hook["url"], json=update, headers=headers) as response:
                    reply = await FakeTelegram._read_reply(response) if response.status == 200 else {}
                    status = response.status
                if "method" in reply:
                    await fake._execute(str(reply.pop("method")), reply, source="webhook_reply")
                return status

            statuses = await asyncio.gather(*(post() for _ in range(5)))
        assert statuses == [200] * 5
        await fake.flush_webhook()
        await fake.wait_until(lambda: "✓" in fake._current(USER, question["message_id"])["text"])
        second = await next_question(fake, USER, "")
        assert second is not None and second["text"].startswith("(2 of")
        assert len(answers_in(app)) == 1
        with app.engine.connect() as connection:
            audited = connection.execute(text("SELECT count(*) FROM audit_record "
                                              "WHERE action = 'answer.recorded'")).scalar_one()
        assert audited == 1
        asked_second = [m for m in fake.messages_to(USER) if m.get("text", "").startswith("(2 of")]
        assert len(asked_second) == 1, "the next question was sent once"


async def test_telegram_two_buttons_of_one_question_tapped_at_once_record_one(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", webhook=True) as app:
        await begin(fake, USER, "policy-awareness")
        question = await next_question(fake, USER, "")
        assert question is not None
        first, second = option_data(question)[:2]
        fake.user_presses(USER, question, first)
        fake.user_presses(USER, question, second)  # both queued before either is handled
        await fake.flush_webhook()
        await fake.wait_until(lambda: not fake._open_queries)  # both presses were answered (no spinning button)
        assert len(answers_in(app)) == 1
        assert len([m for m in fake.messages_to(USER) if m.get("text", "").startswith("(2 of")]) == 1


# --- Slack: an event and its retries in flight together --------------------------------------------------------------

@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_slack_an_event_and_its_retries_arriving_together_record_once(tmp_path: Path, mode: str) -> None:
    """Slack retries after 3 s without an ack; under load the original may still be running when the retries land:
    over HTTP with X-Slack-Retry-Num, in Socket Mode as new envelopes with retry_attempt."""
    async with FakeSlack() as fake, running_bot(fake, tmp_path, mode) as bot:
        person = bot.person("U0TOGETHER")
        await start_sample(person)
        dm = person.dm
        event = im_message(person.user, "2", dm)
        statuses = await asyncio.gather(*(bot.transport.event(event, event_id="EvSAME", retry=retry)
                                          for retry in (None, 1, 2, 3)))
        assert statuses == [200] * 4
        assert "Did you know the policy?" in str(await person.next_question())
        await asyncio.sleep(0.2)
        assert bot.recorded("agency") == 1 and bot.recorded("aware") == 0
        asked = [m for m in fake.messages_in(dm) if "Did you know the policy?" in json.dumps(m.get("blocks", []))]
        assert len(asked) == 1, "the next question was posted once"


# --- the web chat: one cookie, several posts at once -----------------------------------------------------------------

async def test_web_the_same_answer_and_two_different_answers_posted_at_once_record_once(tmp_path: Path) -> None:
    async with running_web(tmp_path / "data") as bot, client() as session:
        bot.web.set_limits(UNHURRIED)
        person = Respondent(session, f"{bot.base}/s/policy-awareness")
        await person.send({"type": "open"})
        await person.answer()  # consent
        assert person.waiting is not None
        turn = person.waiting["turn"]
        bodies = await asyncio.gather(*(person.send({"type": "pick", "turn": turn, "index": i % 2})
                                        for i in range(4)))
        moved_on = [b for b in bodies if any(e["type"] == "answered" for e in b["effects"])]
        assert len(moved_on) == 1, "one post moved the survey on; the others were told it was answered"
        assert person.notices.count(msg.ALREADY_ANSWERED) == 3
        assert len(answers_in(bot.app)) == 1
        with bot.app.engine.connect() as connection:
            audited = connection.execute(text("SELECT count(*) FROM audit_record "
                                              "WHERE action = 'answer.recorded'")).scalar_one()
        assert audited == 1
