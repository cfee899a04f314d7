"""Group commit on SQLite (Store.batch, SurveyService.call): answers arriving together share one commit, a step that
fails is rolled back alone, and nobody hears "stored" before the commit."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.services.privacy import Keys
from bot.services.service import Outcome, SurveyService, joins_group_commit
from bot.services.surveyfiles import SurveyCatalogue
from storage import conversations, rounds
from storage.database import connect, describe, upgrade
from storage.sql import GENESIS, chain_hash
from storage.unit_of_work import BATCH_LIMIT, BatchSpoilt, Conflict, Store

from .conftest import PEPPER, PG_ADMIN_URL, Clock, drop_postgres, postgres_url

TODAY = date(2026, 11, 22)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    engine = connect(f"sqlite:///{tmp_path / 'batch.db'}")
    upgrade(engine)
    return Store(engine)


def claimed(store: Store) -> set[str]:
    """Event keys as a second connection sees them: only what is committed."""
    with connect(str(store.engine.url)).connect() as other:
        return {row[0] for row in other.execute(text("SELECT key FROM processed_event"))}


def test_units_in_a_batch_commit_together(sqlite_store: Store) -> None:
    with sqlite_store.batch():
        with sqlite_store.unit() as uow:
            assert conversations.claim_event(uow, "first", TODAY)
        with sqlite_store.unit() as uow:
            assert not conversations.claim_event(uow, "first", TODAY)  # the batch sees its own earlier steps
            assert conversations.claim_event(uow, "second", TODAY)
        assert claimed(sqlite_store) == set(), "nothing is visible before the batch commits"
    assert claimed(sqlite_store) == {"first", "second"}


@pytest.mark.parametrize("failure", [RuntimeError("this step went wrong after writing"), Conflict()])
def test_a_unit_that_fails_spoils_its_batch_and_nothing_is_stored(sqlite_store: Store, failure: Exception) -> None:
    """Without savepoints a failed unit's writes cannot be told from the others': the batch goes whole. A Conflict
    too, which the unit's caller must not retry inside the spoilt transaction."""
    with pytest.raises(BatchSpoilt) as spoilt, sqlite_store.batch():
        with sqlite_store.unit() as uow:
            assert conversations.claim_event(uow, "kept until the failure", TODAY)
        with sqlite_store.unit() as uow:
            conversations.claim_event(uow, "failed", TODAY)
            raise failure
    assert spoilt.value.__cause__ is failure
    assert claimed(sqlite_store) == set()


def test_a_spoilt_batch_is_not_committed_even_if_the_failure_was_caught(store: Store) -> None:
    with pytest.raises(BatchSpoilt), store.batch():
        with contextlib.suppress(BatchSpoilt), store.unit() as uow:
            conversations.claim_event(uow, "half-written", TODAY)
            raise RuntimeError("this step failed, and its caller went on regardless")
        with store.unit() as uow:
            conversations.claim_event(uow, "after", TODAY)
    assert claimed(store) == set()


async def test_a_step_that_fails_in_a_batch_fails_alone_and_the_others_are_stored(
        store: Store, catalogue: SurveyCatalogue, clock: Clock) -> None:
    """The service runs a spoilt batch's steps again one at a time: the failing step reports its own error, every
    other step is stored, and the audit chain runs on unbroken."""
    service = SurveyService(store, catalogue, Keys(PEPPER), clock)
    loop = asyncio.get_running_loop()

    def step(n: int) -> int:
        with store.unit() as uow:
            conversations.claim_event(uow, f"step-{n}", TODAY)
            uow.audit("test.step", {"n": n}, TODAY)
            if n in (2, 5):
                raise RuntimeError(f"step {n} failed after writing")
        return n

    service.database._executor = ThreadPoolExecutor(max_workers=1)  # as `run` makes it; these steps go straight in
    results = await asyncio.gather(*(service.database._grouped(loop, partial(step, n)) for n in range(7)),
                                   return_exceptions=True)
    assert [r if isinstance(r, int) else str(r) for r in results] == [
        0, 1, "step 2 failed after writing", 3, 4, "step 5 failed after writing", 6]
    with store.engine.connect() as connection:
        links = connection.execute(text("SELECT prev_hash, hash, subject, action FROM audit_record ORDER BY seq")).all()
    assert [json.loads(subject)["n"] for _, _, subject, _ in links] == [0, 1, 3, 4, 6]
    assert links[0][0] == GENESIS
    assert all(later[0] == earlier[1] for earlier, later in itertools.pairwise(links))
    assert all(digest == chain_hash(prev, TODAY, action, subject) for prev, digest, subject, action in links)
    assert claimed(store) == {f"step-{n}" for n in (0, 1, 3, 4, 6)}
    service.close()


def test_after_commit_runs_once_the_batch_is_stored_and_never_for_a_spoilt_one(sqlite_store: Store) -> None:
    """What a unit leaves for after its commit (metrics, say) must not happen for a spoilt batch, whose steps run
    again alone: counted then, they would be counted twice."""
    ran: list[object] = []
    with pytest.raises(BatchSpoilt), sqlite_store.batch():
        with sqlite_store.unit() as uow:
            conversations.claim_event(uow, "first", TODAY)
            uow.after_commit(lambda: ran.append("spoilt"))
        with sqlite_store.unit():
            raise RuntimeError("the second unit fails")
    assert ran == []
    with sqlite_store.batch():
        with sqlite_store.unit() as uow:
            conversations.claim_event(uow, "second", TODAY)
            uow.after_commit(lambda: ran.append(claimed(sqlite_store)))  # what another connection sees by then
        assert ran == []
    assert ran == [{"second"}]
    with sqlite_store.unit() as uow:  # a unit on its own: after its own commit
        conversations.claim_event(uow, "third", TODAY)
        uow.after_commit(lambda: ran.append(claimed(sqlite_store)))
    assert ran[1:] == [{"second", "third"}]


async def test_a_spoilt_batch_run_again_step_by_step_counts_each_step_once(
        store: Store, catalogue: SurveyCatalogue, clock: Clock) -> None:
    """The service's metrics count a step once it is stored: a redelivered event in a batch that another step
    spoils is counted once, not once in the spoilt batch and again when it runs alone."""
    from bot.metrics import METRICS

    service = SurveyService(store, catalogue, Keys(PEPPER), clock)
    loop = asyncio.get_running_loop()
    address = Address("metrics-test", "w", "u")
    with store.unit() as uow:  # the event was stored before: running it again is a duplicate
        conversations.claim_event(uow, service.keys.event(address.channel, "seen"), TODAY)

    def fails(uow: Any, now: datetime) -> Outcome:
        raise RuntimeError("this step fails after its claim")

    def never(uow: Any, now: datetime) -> Outcome:
        raise AssertionError("a duplicate must not run")

    duplicates = METRICS.duplicates.labels(address.channel)
    before = duplicates._value.get()
    service.database._executor = ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    service.database._executor.submit(gate.wait)  # the thread is busy, so both steps wait for the same batch
    steps = asyncio.gather(
        service.database._grouped(loop, partial(service._run, never, "seen", address)),
        service.database._grouped(loop, partial(service._run, fails, "new", address)),
        return_exceptions=True)
    await asyncio.sleep(0.05)
    assert len(service.database._batch) == 2
    gate.set()
    results = await steps
    assert isinstance(results[0], Outcome) and results[0].duplicate
    assert isinstance(results[1], RuntimeError)
    assert duplicates._value.get() - before == 1
    service.close()


def test_a_batch_that_fails_to_commit_stores_nothing(sqlite_store: Store) -> None:
    with pytest.raises(KeyError), sqlite_store.batch():
        with sqlite_store.unit() as uow:
            conversations.claim_event(uow, "lost", TODAY)
        raise KeyError("the batch itself failed")
    assert claimed(sqlite_store) == set()


async def test_answers_arriving_together_share_commits_and_each_is_stored_once(
        sqlite_store: Store, catalogue: SurveyCatalogue, clock: Clock) -> None:
    service = SurveyService(sqlite_store, catalogue, Keys(PEPPER), clock)
    service.publish_all()
    commits = []
    event.listen(sqlite_store.engine, "commit", lambda _connection: commits.append(1))
    people = [Address("telegram", "bot", str(1000 + n)) for n in range(40)]
    started = await asyncio.gather(*(service.call(service.begin, who, "sample", None, f"s{n}")
                                     for n, who in enumerate(people)))
    assert all(outcome.open for outcome in started)
    assert len(commits) < len(people) / 2, f"{len(commits)} commits for {len(people)} steps: not grouped"
    assert len(commits) >= -(-len(people) // BATCH_LIMIT), "a batch took more steps than BATCH_LIMIT"
    consented = await asyncio.gather(*(service.call(service.reply, who, "1", f"c{n}")
                                       for n, who in enumerate(people)))
    again = await asyncio.gather(*(service.call(service.reply, who, "1", f"c{n}")  # redelivered: nothing new
                                   for n, who in enumerate(people)))
    assert all(not outcome.duplicate for outcome in consented) and all(outcome.duplicate for outcome in again)
    answered = await asyncio.gather(*(service.call(service.reply, who, "1", f"a{n}")
                                      for n, who in enumerate(people)))
    assert all(outcome.open for outcome in answered)
    with sqlite_store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM answer")).scalar_one() == len(people)
    service.close()



async def test_a_use_case_joins_the_group_commit_because_it_is_marked_not_because_of_its_name(
        sqlite_store: Store, catalogue: SurveyCatalogue, clock: Clock) -> None:
    """The choice is explicit (joins_group_commit): the survey steps are marked, and a wrapper of one is grouped only
    when it is marked too."""
    marked = {name for name in dir(SurveyService) if getattr(getattr(SurveyService, name), "group_commit", False)}
    assert marked == {"begin", "handle", "reply"}
    service = SurveyService(sqlite_store, catalogue, Keys(PEPPER), clock)
    service.publish_all()
    commits = []
    event.listen(sqlite_store.engine, "commit", lambda _connection: commits.append(1))

    def begin(*args: Any) -> Outcome:
        return service.begin(*args)

    for use_case, grouped, wave in ((begin, False, "u"), (joins_group_commit(partial(begin)), True, "m")):
        commits.clear()
        people = [Address("telegram", "bot", f"{wave}{n}") for n in range(20)]
        await asyncio.gather(*(service.call(use_case, who, "sample", None, f"{wave}{n}")
                               for n, who in enumerate(people)))
        assert (len(commits) < len(people) / 2) is grouped, f"{len(commits)} commits for {len(people)} steps"
    service.close()


async def test_a_steady_stream_of_answers_does_not_keep_other_work_waiting(
        sqlite_store: Store, catalogue: SurveyCatalogue, clock: Clock) -> None:
    """SQLite has one database thread: after each batch the stream queues again behind other work handed over."""
    service = SurveyService(sqlite_store, catalogue, Keys(PEPPER), clock)
    service.publish_all()
    finished: list[str] = []

    async def step(n: int) -> None:
        await service.call(service.begin, Address("telegram", "bot", str(n)), "sample", None, f"b{n}")
        finished.append("answer")

    handed: list[int] = []

    async def other() -> None:
        while not finished:  # handed over once the stream is being stored
            await asyncio.sleep(0)
        handed.append(len(finished))
        await service.call(service.open_survey, Address("telegram", "bot", "1"))
        finished.append("other")

    await asyncio.gather(*(step(n) for n in range(6 * BATCH_LIMIT)), other())
    waited = finished.index("other") - handed[0]  # answers stored after it was handed over, before it
    assert waited <= 2 * BATCH_LIMIT, f"other work waited for {waited} answers"
    assert finished.index("other") < len(finished) - BATCH_LIMIT, "the stream was over before the other work came"
    service.close()


def test_writes_held_together_are_stored_in_order_and_undone_with_their_unit(store: Store) -> None:
    """Inside `together`, PostgreSQL gets the deferred writes joined to the next statement: every write lands, two
    audit links keep their order, and a check that fails in the joined statement undoes the writes it carried."""
    moment = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    with store.batch():
        with store.unit() as uow, uow.together():
            uow.audit("test.step", {"n": 0}, TODAY)
            uow.audit("test.step", {"n": 1}, TODAY)  # the same statement twice: sent apart, in order
            # joined to the link before it; its own result comes back
            assert conversations.claim_event(uow, "joined", TODAY)
        with store.unit() as uow, uow.together():
            uow.audit("test.step", {"n": 2}, TODAY)  # left waiting at the block's end, and sent then
    with pytest.raises(Conflict), store.unit() as uow, uow.together():
        uow.audit("test.step", {"n": 3}, TODAY)
        conversations.save(uow, "nobody", "sample", 1, 1, {}, expected_revision=5, now=moment)  # matches no row
    with store.engine.connect() as connection:
        links = connection.execute(text("SELECT prev_hash, hash, subject, action FROM audit_record ORDER BY seq")).all()
        events = connection.execute(text("SELECT key FROM processed_event")).scalars().all()
    assert [json.loads(subject)["n"] for _, _, subject, _ in links] == [0, 1, 2]
    assert all(later[0] == earlier[1] for earlier, later in itertools.pairwise(links))
    assert all(digest == chain_hash(prev, TODAY, action, subject) for prev, digest, subject, action in links)
    assert events == ["joined"]


def test_a_batch_reads_a_round_key_once_and_a_spoilt_batch_keeps_none(store: Store) -> None:
    with pytest.raises(BatchSpoilt), store.batch():
        with store.unit() as uow:
            rounds.salt(uow, "sample", 1, TODAY)
        with store.unit():
            raise RuntimeError("this step failed, taking the round's new key with the batch")
    with store.batch(), store.unit() as uow:
        made = rounds.salt(uow, "sample", 1, TODAY)
    with store.engine.connect() as connection:
        stored = connection.execute(text("SELECT salt FROM survey_key WHERE survey_id = 'sample'")).all()
    assert [bytes(row[0]) for row in stored] == [made]
    with store.batch():
        with store.unit() as uow:
            assert rounds.salt(uow, "sample", 1, TODAY) == made
            uow.session.execute(text("UPDATE survey_key SET salt = :other"), {"other": b"x" * 32})
        with store.unit() as uow:
            assert rounds.salt(uow, "sample", 1, TODAY) == made, "read again, where the batch should remember it"


def test_a_remembered_response_row_is_used_only_while_it_is_still_this_persons(
        store: Store, service: SurveyService) -> None:
    """On PostgreSQL the store remembers which response row an open conversation's answers went to, and the claim
    reads that row back to check it: a hint that names someone else's row, or a row since erased, is not used."""
    alice, bob = Address("telegram", "bot", "1"), Address("telegram", "bot", "2")
    for who in (alice, bob):
        service.begin(who, "sample", None, f"start-{who.user}")
        service.reply(who, "1", f"consent-{who.user}")
        service.reply(who, "1", f"first-{who.user}")  # the first answer makes the response row

    def answers_by_response() -> dict[int, int]:
        with store.engine.connect() as connection:
            return dict(connection.execute(text(  # type: ignore[arg-type]
                "SELECT response.id, count(answer.id) FROM response LEFT JOIN answer ON answer.response_id = "
                "response.id GROUP BY response.id ORDER BY response.id")).all())

    first, second = answers_by_response()
    store.responses[service.keys.session(alice)] = second  # a hint naming Bob's row
    service.reply(alice, "1", "second-1")
    assert answers_by_response() == {first: 2, second: 1}
    service.erase(alice)
    service.begin(alice, "sample", None, "start-again")
    service.reply(alice, "1", "consent-again")
    service.reply(alice, "1", "first-again")  # the remembered row is gone: a new one is made
    after = answers_by_response()
    assert first not in after and after[second] == 1 and sorted(after.values()) == [1, 1]


def pending_rows(store: Store) -> set[str]:
    """Pending replies' tokens as a second connection sees them: only what is committed."""
    with connect(str(store.engine.url)).connect() as other:
        return {row[0] for row in other.execute(text("SELECT token FROM pending_reply"))}


@pytest.mark.parametrize("opening", ["unit", "batch"])
def test_the_pending_reply_is_written_with_the_commit_and_a_failed_write_commits_nothing(
        store: Store, opening: str) -> None:
    """The pending reply is a transaction's last write, and on PostgreSQL its commit goes in the same round trip
    (SqlUnit.run_then_commit). Committed, it is there with the rest; if that write fails, nothing of the
    transaction is (the COMMIT behind the failed statement never runs)."""
    from storage.replies import Owed

    until = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    def step(key: str, payload: str) -> None:
        with contextlib.ExitStack() as stack:
            if opening == "batch":
                stack.enter_context(store.batch())
            uow = stack.enter_context(store.unit())
            assert conversations.claim_event(uow, key, TODAY)
            uow.owe(Owed(f"session-{key}", f"token-{key}", "slack", payload, until))

    step("kept", "sealed reply")
    assert claimed(store) == {"kept"} and pending_rows(store) == {"token-kept"}
    with pytest.raises(Exception):  # noqa: B017  # whatever the driver calls a value it cannot store
        step("refused", "a NUL \x00 no text column takes" if store.engine.dialect.name == "postgresql" else 1.5j)
    assert claimed(store) == {"kept"} and pending_rows(store) == {"token-kept"}, "the failed step left nothing"
    step("after", "sealed reply")  # and the connection it failed on serves the next step
    assert claimed(store) == {"kept", "after"}


def last_prompt(outcome: Outcome) -> Any:
    return [effect for effect in outcome.effects if isinstance(effect, engine.Ask)][-1].prompt


async def test_steps_claimed_together_store_every_answer_once_in_order(
        store: Store, catalogue: SurveyCatalogue, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a batch's presses are claimed in one statement at its start (group_commit.claims_ahead,
    conversations.claim_all). In one batch: everyone answers the first question, a redelivery of each press, and
    each person's answer to the second question right behind their first, which must read the conversation as their
    first press left it (read at the batch's start it would be a stale press, and the answer silently lost)."""
    service = SurveyService(store, catalogue, Keys(PEPPER), clock)
    service.publish_all()
    made: list[int] = []
    claim_all = conversations.claim_all
    monkeypatch.setattr(conversations, "claim_all", lambda uow, claims: (made.append(len(claims)),
                                                                         claim_all(uow, claims))[1])
    people = [Address("telegram", "bot", str(2000 + n)) for n in range(8)]
    first_turns = []
    for n, who in enumerate(people):
        service.begin(who, "sample", None, f"start-{n}")
        first_turns.append(last_prompt(service.reply(who, "1", f"consent-{n}")).turn)
    # what the second question's turn will be, from one more person taken through it alone
    control = Address("telegram", "bot", "1999")
    service.begin(control, "sample", None, "start-control")
    shown = last_prompt(service.reply(control, "1", "consent-control"))
    second_turn = last_prompt(service.handle(control, engine.Pick(shown.turn, 0), "first-control")).turn

    service.database._executor = ThreadPoolExecutor(max_workers=1)  # one thread, held until every step is queued
    hold = threading.Event()
    service.database._executor.submit(hold.wait)
    presses = []
    for n, who in enumerate(people):
        presses += [(who, engine.Pick(first_turns[n], 0), f"first-{n}"),
                    (who, engine.Pick(first_turns[n], 0), f"first-{n}"),  # redelivered
                    (who, engine.Pick(second_turn, 0), f"second-{n}")]
    steps = [asyncio.ensure_future(service.call(service.handle, *press)) for press in presses]
    await asyncio.sleep(0.05)  # every step queued behind the held thread: one batch
    hold.set()
    outcomes = await asyncio.gather(*steps)
    duplicates = [outcome.duplicate for outcome in outcomes]
    assert duplicates == [False, True, False] * len(people)
    if store.engine.dialect.name == "postgresql":
        assert made and made[0] == min(len(presses), BATCH_LIMIT), f"claims made together: {made}"
    with store.engine.connect() as connection:
        stored = connection.execute(text(
            "SELECT question_id, count(*) FROM answer GROUP BY question_id ORDER BY question_id")).all()
        events = connection.execute(text("SELECT count(*) FROM processed_event WHERE key IS NOT NULL")).scalar_one()
    assert dict(stored) == {"agency": len(people) + 1, "aware": len(people)}, "an answer was lost or doubled"
    assert events >= 2 * len(people)
    service.close()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    """Claims are made ahead on PostgreSQL only (SQLite claims in this process, at no round trip's cost)."""
    url = postgres_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server reachable at {describe(PG_ADMIN_URL)}: claims are made ahead there only")
    store = Store(connect(url))
    try:
        upgrade(store.engine)
        yield store
    finally:
        store.engine.dispose()
        drop_postgres(url)


def test_a_claim_made_ahead_hands_a_later_step_of_the_same_person_a_fresh_read(pg_store: Store) -> None:
    """conversations.claim_all (PostgreSQL): the batch's events are claimed at its start; each step's claim_event
    then finds its own; a second step on one conversation reads it again (after the first saved it); an event seen
    twice in the batch, or before it, is claimed once."""
    store = pg_store
    moment = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    with store.unit() as uow:
        conversations.save(uow, "s-alice", "sample", 1, 1, {"n": 0}, None, moment)
        conversations.save(uow, "s-bob", "sample", 1, 1, {"n": 0}, None, moment)
        assert conversations.claim_event(uow, "seen-before", TODAY)
    claims = [conversations.Claim(key, session, TODAY) for key, session in (
        ("a1", "s-alice"), ("b1", "s-bob"), ("a2", "s-alice"), ("a1", "s-alice"), ("seen-before", "s-bob"))]
    with store.batch():
        with store.unit() as uow:
            conversations.claim_all(uow, claims)
            assert uow.session.execute(text("SELECT count(*) FROM processed_event")).scalar_one() == 4
        with store.unit() as uow:
            assert conversations.claim_event(uow, "a1", TODAY, "s-alice")
            alice = conversations.read(uow, "s-alice")
            assert alice is not None and alice.state == {"n": 0}
            conversations.save(uow, "s-alice", "sample", 1, 1, {"n": 1}, alice.revision, moment)
        with store.unit() as uow:
            assert conversations.claim_event(uow, "b1", TODAY, "s-bob")
            bob = conversations.read(uow, "s-bob")
            assert bob is not None and bob.state == {"n": 0}
        with store.unit() as uow:
            assert conversations.claim_event(uow, "a2", TODAY, "s-alice")
            again = conversations.read(uow, "s-alice")
            assert again is not None and again.state == {"n": 1} and again.revision == alice.revision + 1
        with store.unit() as uow:
            assert not conversations.claim_event(uow, "a1", TODAY, "s-alice"), "the same event twice in a batch"
        with store.unit() as uow:
            assert not conversations.claim_event(uow, "seen-before", TODAY, "s-bob"), "an event seen before"
    assert claimed(store) == {"seen-before", "a1", "b1", "a2"}
