"""PostgreSQL may drop the bot's connections at any time (a restart, a failover, an administrator's
pg_terminate_backend, an idle timeout). The pool no longer pings every connection it hands out (a round trip of every
transaction: storage.database._check_out), so these tests hold that a dropped connection is still never used: the next
answer, on its own or in a group commit, is stored and answered as if nothing had happened."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.services.privacy import Keys
from bot.services.service import Outcome, SurveyService
from bot.services.surveyfiles import SurveyCatalogue
from storage import database
from storage.unit_of_work import Store

from .conftest import PEPPER, PG_ADMIN_URL, Clock, drop_postgres, postgres_url


@pytest.fixture
def pg_service(catalogue: SurveyCatalogue, clock: Clock) -> Iterator[tuple[SurveyService, str]]:
    url = postgres_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server reachable at {database.describe(PG_ADMIN_URL)}: dropping connections "
                    "needs one")
    engine_ = database.connect(url)
    try:
        database.upgrade(engine_)
        service = SurveyService(Store(engine_), catalogue, Keys(PEPPER), clock)
        service.publish_all()
        yield service, url
        service.close()
    finally:
        engine_.dispose()
        drop_postgres(url)


def drop_every_connection(url: str) -> int:
    """What an administrator (or a restarting server) does: end every session on the bot's database, waiting until
    each has gone."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            ended = connection.execute(text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": url.rsplit("/", 1)[1]}).scalar_one()
    finally:
        admin.dispose()
    return int(ended)


def asked(outcome: Outcome) -> engine.Prompt:
    return next(e.prompt for e in outcome.effects if isinstance(e, engine.Ask))


def recorded(service: SurveyService) -> int:
    """Answers recorded so far, from the audit chain (each answer appends one link)."""
    with service.store.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM audit_record WHERE action = 'answer.recorded'")).scalar_one())


def test_an_answer_after_postgresql_dropped_every_connection_is_stored(
        pg_service: tuple[SurveyService, str]) -> None:
    service, url = pg_service
    alice = Address("slack", "T1", "U1")
    outcome = service.begin(alice, "sample", None, "start")
    outcome = service.handle(alice, engine.Pick(asked(outcome).turn, 0), "consent")
    outcome = service.handle(alice, engine.Pick(asked(outcome).turn, 0), "agency")
    before = recorded(service)

    assert drop_every_connection(url) >= 1  # the pool's idle connection was among them

    outcome = service.handle(alice, engine.Pick(asked(outcome).turn, 1), "aware")  # No: on to confidence
    assert asked(outcome).question_id == "confidence"
    assert recorded(service) == before + 1


def test_a_group_commit_after_postgresql_dropped_every_connection_is_stored(
        pg_service: tuple[SurveyService, str]) -> None:
    service, url = pg_service
    people = [Address("slack", "T1", f"U{n}") for n in range(8)]
    shown: dict[Address, Outcome] = {}

    async def everyone(step: str) -> None:
        """Each person presses the first button of the question they were shown, all at once (group commits)."""
        outcomes = await asyncio.gather(*(
            service.call(service.handle, person, engine.Pick(asked(shown[person]).turn, 0), f"{step}-{person.user}")
            for person in people))
        shown.update(zip(people, outcomes, strict=True))

    async def survey() -> None:
        begun = await asyncio.gather(*(service.call(service.begin, person, "sample", None, f"start-{person.user}")
                                       for person in people))
        shown.update(zip(people, begun, strict=True))
        await everyone("consent")
        await everyone("agency")  # the pool now holds the connections of several transactions
        assert drop_every_connection(url) >= 1
        await everyone("aware")  # Yes: on to sources

    before = recorded(service)
    asyncio.run(survey())
    assert all(asked(outcome).question_id == "sources" for outcome in shown.values())
    assert recorded(service) == before + 2 * len(people)  # agency, then aware: each person's stored once
