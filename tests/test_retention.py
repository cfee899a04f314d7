"""Retention with the clock moving forward: keys destroyed, raw free text blanked, idle state and event keys purged,
every purge audited, and the audit chain still verifying afterwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.services.audit import verify
from bot.services.policy import Policy
from bot.services.retention import RoundNotFound, destroy_key, purge
from bot.services.service import SurveyService
from storage import responses as store_responses
from storage import rounds
from storage.unit_of_work import Store

from .conftest import Clock
from .test_privacy_service import ask, says, youth_until_change
from .test_service_storage import ALICE, WORKSPACE, complete_sample

POLICY = Policy()  # the defaults: key 30 days, text 90 days, idle state 30 days


def audit_actions(store: Store) -> list[tuple[str, dict]]:
    with store.unit() as uow:
        rows = uow.session.execute(text("SELECT action, subject FROM audit_record ORDER BY seq")).all()
    return [(action, json.loads(subject)) for action, subject in rows]


def elapsed(start: datetime, span: timedelta) -> datetime:
    """`span` of real time after `start`, shown in start's zone (wall-clock arithmetic would be off by the DST hour)."""
    return (start.astimezone(UTC) + span).astimezone(start.tzinfo)


def close_today(store: Store, clock: Clock, survey_id: str) -> None:
    with store.unit() as uow:
        rounds.set_closes_on(uow, survey_id, 1, clock.now.date(), clock.now.date())


def test_keys_go_after_30_days_and_raw_text_after_90(service: SurveyService, store: Store, clock: Clock) -> None:
    outcome = youth_until_change(service, ALICE)
    outcome = service.handle(ALICE, engine.Reply("More youth clubs please"))
    service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))  # finished
    close_today(store, clock, "you-said")
    start = clock.now

    clock.now = start + timedelta(days=29)
    assert purge(store, POLICY, clock.now).keys == ()
    clock.now = start + timedelta(days=30)
    report = purge(store, POLICY, clock.now)
    assert report.keys == (("you-said", 1),)
    assert "anonymous" in says(service.erase(ALICE))[0]
    with store.unit() as uow:
        assert store_responses.count(uow, "you-said", completed=True) == 1  # the answers stay, unlinkable

    clock.now = start + timedelta(days=89)
    assert purge(store, POLICY, clock.now).texts == ()
    clock.now = start + timedelta(days=90)
    report = purge(store, POLICY, clock.now)
    assert [(t.questions, t.answers) for t in report.texts] == [(("change", "matters.other"), 2)]
    with store.unit() as uow:
        values = dict(uow.session.execute(text("SELECT question_id, value FROM answer")).all())
    assert values["change"] == "null" and values["matters.other"] == "null" and values["listened"] != "null"
    assert purge(store, POLICY, clock.now).texts == ()  # nothing left to blank

    actions = audit_actions(store)
    purges = [subject for action, subject in actions if action == "purge"]
    assert len(purges) == 5  # one per run, found something or not
    assert purges[3]["texts"] == [{"survey": "you-said", "wave": 1, "questions": ["change", "matters.other"],
                                   "answers": 2}]
    assert [s for a, s in actions if a == "key.destroyed"] == [
        {"survey": "you-said", "wave": 1, "conversations": 0, "why": "retention"}]
    verdict = verify(store, service.keys)
    assert verdict.ok, verdict.problems  # blanking is on the record, so it is not tampering


def test_idle_conversations_go_after_30_days_or_24_hours_past_the_close(service: SurveyService, store: Store,
                                                                        clock: Clock) -> None:
    start = clock.now
    service.begin(ALICE, "sample")  # no close known
    bob = Address("telegram", WORKSPACE, "6")
    service.begin(bob, "you-said")
    close_today(store, clock, "you-said")  # bob's round closes at the end of today

    def open_sessions() -> int:
        with store.unit() as uow:
            return int(uow.session.execute(text("SELECT count(*) FROM conversation")).scalar_one())

    clock.now = start.replace(hour=23, minute=59) + timedelta(days=1)  # 24 h after the close: just under
    assert purge(store, POLICY, clock.now).conversations == 0
    clock.now = start.replace(hour=0, minute=0) + timedelta(days=2)
    assert purge(store, POLICY, clock.now).conversations == 1 and open_sessions() == 1
    touched = start.replace(minute=0)  # conversations keep the hour only
    clock.now = elapsed(touched, timedelta(days=30) - timedelta(minutes=1))  # the clocks went forward meanwhile
    assert purge(store, POLICY, clock.now).conversations == 0
    clock.now = elapsed(touched, timedelta(days=30))
    assert purge(store, POLICY, clock.now).conversations == 1 and open_sessions() == 0
    assert "no survey open" in says(service.handle(ALICE, engine.Reply("1")))[0]


def test_processed_event_keys_are_forgotten_after_a_week(service: SurveyService, store: Store,
                                                         clock: Clock) -> None:
    start = clock.now
    service.begin(ALICE, "sample", event_key="update-1")
    clock.now = start + timedelta(days=7)
    assert purge(store, POLICY, clock.now).events == 0
    clock.now = start + timedelta(days=8)
    assert purge(store, POLICY, clock.now).events == 1


def test_destroying_a_key_by_hand_ends_its_open_conversations(service: SurveyService, store: Store,
                                                              clock: Clock) -> None:
    complete_sample(service, ALICE)
    bob = Address("telegram", WORKSPACE, "7")
    outcome = service.begin(bob, "sample")
    service.handle(bob, engine.Pick(ask(outcome).turn, 0))
    assert destroy_key(store, "sample", 1, clock.now.date()) == 1
    assert "no survey open" in says(service.handle(bob, engine.Reply("1")))[0]
    with pytest.raises(RoundNotFound, match="already destroyed"):
        destroy_key(store, "sample", 1, clock.now.date())
    with pytest.raises(RoundNotFound, match="no wave 2"):
        destroy_key(store, "sample", 2, clock.now.date())
    assert ("key.destroyed", {"survey": "sample", "wave": 1, "conversations": 1, "why": "by hand"}) in \
        audit_actions(store)
    assert verify(store, service.keys).ok


def test_unfinished_anonymous_web_starts_are_forgotten_after_30_days(service: SurveyService, store: Store,
                                                                     clock: Clock) -> None:
    """A web visitor's yes stores a contact and a participation; if they never finish, both go after start_days.
    A finished web round and a Telegram contact stay."""
    left = Address("web", "link", "l" * 43)
    outcome = service.open_link(left, "sample")
    assert ask(outcome).kind == "consent"
    with store.unit() as uow:
        assert uow.session.execute(text("SELECT count(*) FROM contact")).scalar_one() == 0  # nothing before a yes
    assert ask(service.open_link(left, "sample", None, engine.Pick(ask(outcome).turn, 0))).number == 1
    complete_sample(service, Address("web", "link", "f" * 43))  # finished: kept
    service.begin(ALICE, "sample")  # a Telegram start: a contact campaigns can reach, kept

    def contacts() -> list[str]:
        with store.unit() as uow:
            return sorted(c for (c,) in uow.session.execute(text("SELECT channel FROM contact")))

    def participations() -> int:
        with store.unit() as uow:
            return int(uow.session.execute(text("SELECT count(*) FROM participation")).scalar_one())

    start = clock.now
    assert contacts() == ["telegram", "web", "web"] and participations() == 3
    assert purge(store, POLICY, start + timedelta(days=29)).starts == 0
    report = purge(store, POLICY, start + timedelta(days=30))
    assert report.starts == 1 and "1 unfinished web start(s) forgotten" in report.summary()
    assert contacts() == ["telegram", "web"] and participations() == 2
    assert audit_actions(store)[-1][1]["starts"] == 1
    assert purge(store, Policy(start_days=1), start + timedelta(days=60)).starts == 0
    assert verify(store, service.keys).ok


def test_the_web_start_setting_is_read_checked_and_documented() -> None:
    from pathlib import Path

    from bot.config import Settings, SettingsError

    assert Settings.from_env({}).privacy.start_days == 30
    assert Settings.from_env({"SURVEYBOT_START_DAYS": "7"}).privacy.start_days == 7
    with pytest.raises(SettingsError, match=r"^SURVEYBOT_START_DAYS should be a whole number of at least 1$"):
        Settings.from_env({"SURVEYBOT_START_DAYS": "0"})
    root = Path(__file__).parent.parent
    assert "SURVEYBOT_START_DAYS=30" in (root / "deploy" / ".env.example").read_text()
    assert "`SURVEYBOT_START_DAYS` | 30 |" in (root / "docs" / "privacy.md").read_text()
