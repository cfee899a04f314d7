"""Privacy in the service, on SQLite and PostgreSQL: the notice, scrubbing before storage, thresholds locked."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine.conversation import Ask, Say
from bot.services.audit import verify
from bot.services.policy import Policy
from bot.services.privacy import Keys
from bot.services.scrubbing import Scrubber
from bot.services.service import Outcome, SurveyService
from bot.services.surveyfiles import SurveyCatalogue
from storage import rounds
from storage.unit_of_work import Store

from .conftest import PEPPER, Clock
from .test_service_storage import ALICE, USER_ID, WORKSPACE, complete_sample, dump

NAMES = ("Jo Bloggs", "Riverside Academy", "Parkfield Estate")
DISCLOSING = ("Ask Jo Bloggs at Riverside Academy, 07700 900123 or jo.bloggs@example.org, "
              "NI QQ 12 34 56 A, or @jobloggs")
OTHER_WORDS = "my mum's friend on 07700 900456"


@pytest.fixture
def scrubbing(store: Store, catalogue: SurveyCatalogue, clock: Clock) -> SurveyService:
    svc = SurveyService(store, catalogue, Keys(PEPPER), clock, policy=Policy(), scrubber=Scrubber(NAMES))
    svc.publish_all()
    return svc


def ask(outcome: Outcome) -> engine.Prompt:
    return next(e.prompt for e in outcome.effects if isinstance(e, Ask))


def says(outcome: Outcome) -> list[str]:
    return [e.text for e in outcome.effects if isinstance(e, Say)]


def youth_until_change(service: SurveyService, who: Address) -> Outcome:
    """Answer you-said up to its free-text question, choosing "Other" (with words) on the multiple choice."""
    outcome = service.begin(who, "you-said")
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 0))  # consent
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 2))  # feel_home
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 3))  # feel_safe
    turn = ask(outcome).turn
    service.handle(who, engine.Toggle(turn, 7))  # Other, please say
    outcome = service.handle(who, engine.Done(turn))
    outcome = service.handle(who, engine.Reply(OTHER_WORDS))
    return service.handle(who, engine.Pick(ask(outcome).turn, 1))  # listened


def stored_values(store: Store) -> dict[str, object]:
    with store.unit() as uow:
        rows = uow.session.execute(text("SELECT question_id, value FROM answer")).all()
    return {question: json.loads(value) for question, value in rows}


def test_the_notice_comes_after_the_intro_and_before_consent(service: SurveyService, store: Store,
                                                             clock: Clock) -> None:
    outcome = service.begin(ALICE, "you-said")
    kinds = [type(e).__name__ for e in outcome.effects]
    assert kinds == ["Say", "Say", "Ask"]
    notice = says(outcome)[1]
    assert "until 30 days after the survey ends" in notice and "Nobody watches this chat live" in notice
    assert "groups of 10 or more young people" in notice
    with store.unit() as uow:
        rounds.set_closes_on(uow, "policy-awareness", 1, date(2026, 3, 31), clock.now.date())
    adult = says(service.begin(Address("telegram", WORKSPACE, "2"), "policy-awareness"))[1]
    assert "until 29 April 2026" in adult and "fewer than 5 people" in adult and "fewer than 10" in adult


def test_free_text_is_scrubbed_before_it_is_stored_and_the_audit_agrees(scrubbing: SurveyService,
                                                                       store: Store) -> None:
    outcome = youth_until_change(scrubbing, ALICE)
    assert ask(outcome).question_id == "change"
    answered = scrubbing.handle(ALICE, engine.Reply(DISCLOSING))
    shown = next(e for e in answered.effects if isinstance(e, engine.Answered))
    assert shown.answer == DISCLOSING  # the person sees their own words; those are never stored
    everything = dump(store)  # the conversation is still open: its state is stored too
    for secret in ("Jo Bloggs", "Bloggs", "Riverside", "07700", "900123", "900456", "example.org", "QQ 12",
                   "@jobloggs", USER_ID, WORKSPACE):
        assert secret not in everything, secret
    values = stored_values(store)
    assert values["change"] == "Ask [name] at [name], [phone] or [email], NI [ni number], or [handle]"
    assert values["matters.other"] == "my mum's friend on [phone]"
    scrubbing.handle(ALICE, engine.Pick(ask(answered).turn, 0))  # hear_back: finished
    assert verify(store, scrubbing.keys).ok


def test_ordinary_words_and_dates_are_stored_as_typed(scrubbing: SurveyService, store: Store) -> None:
    youth_until_change(scrubbing, ALICE)
    plain = "More clubs after school on 12/03/2026 and 2026-03-12, maybe 3 or 4 a week. Call 999 or 0800 1111."
    scrubbing.handle(ALICE, engine.Reply(plain))
    assert stored_values(store)["change"] == plain


def test_thresholds_are_locked_by_the_first_answer(store: Store, catalogue: SurveyCatalogue, clock: Clock) -> None:
    first = SurveyService(store, catalogue, Keys(PEPPER), clock, policy=Policy(min_group=6, min_group_text=12))
    first.publish_all()
    outcome = first.begin(ALICE, "sample")
    with store.unit() as uow:
        key = rounds.get(uow, "sample", 1)
        assert key is not None and key.min_group is None  # not locked before any answer
    first.handle(ALICE, engine.Pick(ask(outcome).turn, 0))  # consent: still nothing stored
    complete_sample(first, Address("telegram", WORKSPACE, "3"))
    later = SurveyService(store, catalogue, Keys(PEPPER), clock, policy=Policy(min_group=8, min_group_text=20))
    notice = says(later.begin(Address("telegram", WORKSPACE, "4"), "sample"))[1]
    assert "fewer than 6 people" in notice and "fewer than 12" in notice  # the locked numbers, not the new ones
    with store.unit() as uow:
        key = rounds.get(uow, "sample", 1)
    assert key is not None and (key.min_group, key.min_group_text) == (6, 12)


def test_a_partner_surveys_own_threshold_of_3_is_locked_with_its_round(store: Store, catalogue: SurveyCatalogue,
                                                                       clock: Clock) -> None:
    """The shipped partner survey sets `min_group: 3`; the round locks 3 with its first answer, and a later setting
    changes nothing."""
    service = SurveyService(store, catalogue, Keys(PEPPER), clock, policy=Policy())
    service.publish_all()
    outcome = service.begin(ALICE, "wood-partner-survey")
    assert "fewer than 3 people" in says(outcome)[1]
    outcome = service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))  # consent: nothing stored yet
    service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))  # "Health": the first answer locks the round
    later = SurveyService(store, catalogue, Keys(PEPPER), clock, policy=Policy(min_group=8, min_group_text=20))
    assert "fewer than 3 people" in says(later.begin(Address("telegram", WORKSPACE, "4"), "wood-partner-survey"))[1]
    with store.unit() as uow:
        key = rounds.get(uow, "wood-partner-survey", 1)
    assert key is not None and (key.min_group, key.min_group_text) == (3, 10)


def test_a_closed_round_takes_no_more_answers_but_delete_still_works(service: SurveyService, store: Store,
                                                                    clock: Clock) -> None:
    complete_sample(service, ALICE)
    bob = Address("telegram", WORKSPACE, "5")
    outcome = service.begin(bob, "sample")
    outcome = service.handle(bob, engine.Pick(ask(outcome).turn, 0))
    with store.unit() as uow:
        rounds.set_closes_on(uow, "sample", 1, clock.now.date(), clock.now.date())
    clock.now = clock.now.replace(day=clock.now.day + 1)
    assert "closed" in says(service.handle(bob, engine.Pick(ask(outcome).turn, 0)))[0]
    assert "deleted" in says(service.erase(ALICE))[0]
