"""The service on real databases (SQLite and the PostgreSQL server): answers stored once, under a pseudonym, by date."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import inspect, text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine.conversation import Ask
from bot.services.privacy import Keys
from bot.services.retention import destroy_key
from bot.services.service import Outcome, SurveyService
from bot.services.surveyfiles import SurveyCatalogue, SurveyFileError, parse_survey
from storage import responses as store_responses
from storage import survey_versions
from storage.unit_of_work import Store

from .conftest import PEPPER, SAMPLE, Clock

USER_ID = "98765432123"
WORKSPACE = "T0SECRETWS"
ALICE = Address("telegram", WORKSPACE, USER_ID)


def ask(outcome: Outcome) -> engine.Prompt:
    return next(e.prompt for e in outcome.effects if isinstance(e, Ask))


def complete_sample(service: SurveyService, who: Address, agency: int = 0) -> Outcome:
    """Answer the sample survey with buttons where there are buttons."""
    outcome = service.begin(who, "sample")
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 0))  # consent
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, agency))
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 1))  # aware: No
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 3))  # confidence 4
    outcome = service.handle(who, engine.Reply("7"))
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 1))
    return service.handle(who, engine.Reply("All fine"))


def dump(store: Store) -> str:
    """Every row of every table, as text."""
    lines = []
    with store.engine.connect() as connection:
        for table in inspect(store.engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                lines.append(f"{table}: {tuple(row)!r}")
    return "\n".join(lines)


def test_a_completed_survey_is_stored_once_by_date_under_a_pseudonym(service: SurveyService, store: Store,
                                                                    clock: Clock) -> None:
    outcome = complete_sample(service, ALICE)
    assert any(isinstance(e, engine.Finish) and e.completed for e in outcome.effects)
    assert not outcome.open
    with store.unit() as uow:
        rows = list(store_responses.completed_rows(uow, "sample"))
    assert len(rows) == 1
    response, answers = rows[0]
    assert response.completed_on == clock.now.date() and response.started_on == clock.now.date()
    assert answers == {"agency": "Police", "aware": "No", "confidence": 4, "visits": 7,
                       "first_step": "Talk to your lead", "comment": "All fine"}
    assert len(response.respondent) == 64 and USER_ID not in response.respondent
    again = service.begin(ALICE, "sample")
    assert [e.text for e in again.effects if isinstance(e, engine.Say)] == [
        "You have already finished this survey. Thank you!"]
    with store.unit() as uow:
        assert store_responses.count(uow, "sample") == 1


def test_no_stored_row_holds_the_platform_id_workspace_or_exact_time(service: SurveyService, store: Store,
                                                                   clock: Clock) -> None:
    bob = Address("telegram", WORKSPACE, "55501234")
    complete_sample(service, ALICE)
    service.begin(bob, "sample")  # an open conversation too
    everything = dump(store)
    assert "sample" in everything  # the dump did read the tables
    assert USER_ID not in everything
    assert WORKSPACE not in everything and "55501234" not in everything
    assert clock.now.strftime("%H:%M") not in everything and "09:30" not in everything


def test_a_person_resumes_after_a_restart(store: Store, catalogue: SurveyCatalogue, clock: Clock) -> None:
    first = SurveyService(store, catalogue, Keys(PEPPER), clock)
    first.publish_all()
    outcome = first.begin(ALICE, "sample")
    outcome = first.handle(ALICE, engine.Pick(ask(outcome).turn, 0))
    first.handle(ALICE, engine.Pick(ask(outcome).turn, 1))
    restarted = SurveyService(store, catalogue, Keys(PEPPER), clock)  # a new process: nothing in memory
    resumed = restarted.begin(ALICE, "sample")
    prompt = ask(resumed)
    assert prompt.question_id == "aware" and prompt.number == 2


def test_redelivered_events_and_stale_taps_record_once(service: SurveyService, store: Store) -> None:
    outcome = service.begin(ALICE, "sample", event_key="u1")
    consent = ask(outcome).turn
    assert service.begin(ALICE, "sample", event_key="u1").duplicate
    outcome = service.handle(ALICE, engine.Pick(consent, 0), event_key="u2")
    agency_turn = ask(outcome).turn
    first = service.handle(ALICE, engine.Pick(agency_turn, 1), event_key="u3")
    assert not first.duplicate
    assert service.handle(ALICE, engine.Pick(agency_turn, 1), event_key="u3").duplicate  # same update again
    stale = service.handle(ALICE, engine.Pick(agency_turn, 0), event_key="u4")  # double tap, other option
    assert [type(e).__name__ for e in stale.effects] == ["Notice"]
    with store.unit() as uow:
        audit = uow.session.execute(text("SELECT action FROM audit_record WHERE action = 'answer.recorded'")).all()
        values = uow.session.execute(text("SELECT value FROM answer")).scalars().all()
    assert len(audit) == 1 and [json.loads(v) for v in values] == ["Health"]


def test_concurrent_answers_from_one_person_are_applied_one_at_a_time(service: SurveyService, store: Store) -> None:
    outcome = service.begin(ALICE, "sample")
    outcome = service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))
    turn = ask(outcome).turn
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: service.handle(ALICE, engine.Pick(turn, i % 3)), range(8)))
    winners = [r for r in results if any(isinstance(e, engine.Record) for e in r.effects)]
    assert len(winners) == 1
    with store.unit() as uow:
        count = uow.session.execute(text("SELECT count(*) FROM answer")).scalar_one()
    assert count == 1


def test_delete_erases_my_answers_only(service: SurveyService, store: Store) -> None:
    bob = Address("telegram", WORKSPACE, "42")
    complete_sample(service, ALICE)
    complete_sample(service, bob, agency=1)
    said = service.erase(ALICE)
    assert "deleted" in said.effects[0].text  # type: ignore[union-attr]
    with store.unit() as uow:
        remaining = [answers["agency"] for _, answers in store_responses.completed_rows(uow, "sample")]
        actions = uow.session.execute(text("SELECT action FROM audit_record")).scalars().all()
    assert remaining == ["Health"]
    assert "response.erased" in actions
    assert "no answers" in service.erase(ALICE).effects[0].text  # type: ignore[union-attr]
    assert service.begin(ALICE, "sample").open  # erased answers can be given again


def test_a_destroyed_key_makes_answers_unlinkable(service: SurveyService, store: Store, clock: Clock) -> None:
    complete_sample(service, ALICE)
    destroy_key(store, "sample", 1, clock.now.date())
    assert "anonymous" in service.erase(ALICE).effects[0].text  # type: ignore[union-attr]
    stranger = Address("telegram", WORKSPACE, "777")  # never took part: nothing to say about anonymity
    assert "no answers" in service.erase(stranger).effects[0].text  # type: ignore[union-attr]
    with store.unit() as uow:
        assert store_responses.count(uow, "sample", completed=True) == 1
        (salt,) = uow.session.execute(text("SELECT salt FROM survey_key")).one()
    assert salt is None
    assert "closed" in service.begin(ALICE, "sample").effects[0].text  # type: ignore[union-attr]


def test_changed_wording_after_answers_is_refused(service: SurveyService, store: Store, clock: Clock) -> None:
    complete_sample(service, ALICE)
    edited = parse_survey(SAMPLE.read_text().replace("Which agency?", "Which agency are you in?"), str(SAMPLE))
    changed = SurveyService(store, SurveyCatalogue([edited]), Keys(PEPPER), clock)
    with pytest.raises(SurveyFileError, match="wording is frozen"):
        changed.publish_all()
    with store.unit() as uow:
        assert "Which agency?" in (survey_versions.published(uow, "sample", 1).source)  # type: ignore[union-attr]


def test_unknown_survey_and_no_open_conversation_get_kind_answers(service: SurveyService) -> None:
    assert "can't find that survey" in service.begin(ALICE, "nope").effects[0].text  # type: ignore[union-attr]
    assert "no survey open" in service.handle(ALICE, engine.Reply("hi")).effects[0].text  # type: ignore[union-attr]


def test_dates_follow_the_clock(service: SurveyService, store: Store, clock: Clock) -> None:
    outcome = service.begin(ALICE, "sample")
    outcome = service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))
    clock.now += timedelta(days=2)
    service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))
    with store.unit() as uow:
        (answered_on,) = uow.session.execute(text("SELECT answered_on FROM answer")).scalars().all()
    assert str(answered_on) == str(clock.now.date())


def test_processes_starting_together_publish_each_survey_once(store: Store, catalogue: SurveyCatalogue,
                                                               clock: Clock) -> None:
    """Several bot processes starting at once on a new database all publish the same survey versions: the later
    ones break the unique key, start again and find them there, rather than failing to start."""
    import threading

    services = [SurveyService(store, catalogue, Keys(PEPPER), clock) for _ in range(4)]
    together = threading.Barrier(len(services))

    def start(service: SurveyService) -> None:
        together.wait()
        service.publish_all()

    with ThreadPoolExecutor(len(services)) as pool:
        for done in [pool.submit(start, s) for s in services]:
            done.result()  # raised Conflict before publishing retried
    with store.unit() as uow:
        versions = uow.session.execute(text("SELECT count(*) FROM survey_version")).scalar_one()
        published = uow.session.execute(text("SELECT count(*) FROM audit_record WHERE action = 'survey.new'"))
        assert versions == len(catalogue.all()) == published.scalar_one()
