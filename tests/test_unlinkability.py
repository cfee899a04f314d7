"""Issue 19 item 3: after a round's key is destroyed, someone holding the database *and* the pepper must not be able
to tell which contact gave which response, on SQLite and PostgreSQL.

The attacker here is the one the issue describes: they unseal the addresses of the round's completed contacts and
line them up against the completed responses by every order the database keeps (participation ids, contact ids,
join dates, physical row order), channel by channel. Before destruction that re-links everyone (the attack is real);
after it, no ordering does better than a random guess would.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.services.audit import verify
from bot.services.campaigns import reminder
from bot.services.privacy import Keys
from bot.services.retention import destroy_key
from bot.services.service import Outcome, SurveyService
from storage import campaigns as store_campaigns
from storage import contacts as store_contacts
from storage import responses as store_responses
from storage.models import Campaign
from storage.unit_of_work import Store

from . import dataset
from .conftest import PEPPER, Clock
from .test_privacy_cli import Cli
from .test_reporting_cli import SAMPLE_ONLY
from .test_service_storage import WORKSPACE, ask

WEB = [Address("web", "link", f"browser-token-{n:02d}") for n in range(10)]
TELEGRAM = [Address("telegram", WORKSPACE, str(5550001000 + n)) for n in range(6)]


def answer_sample(service: SurveyService, who: Address, visits: int) -> Outcome:
    """The sample survey, with `visits` as the mark that tells us (not the attacker's database) whose answers are
    whose."""
    outcome = service.begin(who, "sample")
    for choice in (0, 0, 1, 3):  # consent, agency, aware: No, confidence
        outcome = service.handle(who, engine.Pick(ask(outcome).turn, choice))
    outcome = service.handle(who, engine.Reply(str(visits)))
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 1))
    return service.handle(who, engine.Reply("fine"))


def everyone_answers(service: SurveyService, clock: Clock) -> dict[int, Address]:
    """Sixteen people finish, half on one day and half on the next; returns each one's mark."""
    truth: dict[int, Address] = {}
    people = [person for pair in zip(WEB, TELEGRAM + [None] * 4, strict=True) for person in pair if person]
    for number, person in enumerate(people):
        if number == len(people) // 2:
            clock.now += timedelta(days=1)
        answer_sample(service, person, visits=number + 1)
        truth[number + 1] = person
    return truth


def physical(store: Store) -> str:
    """The column that gives a table's physical row order."""
    return "ctid" if store.engine.dialect.name == "postgresql" else "rowid"


def contact_orders(store: Store) -> dict[str, str]:
    """Every way the contact side can be put in order, as ORDER BY clauses over participation p and contact c."""
    return {
        "participation id": "p.id",
        "contact id": "c.id",
        "join date, then contact id": "c.joined_on, c.id",
        "participation's physical order": f"p.{physical(store)}",
        "contact's physical order": f"c.{physical(store)}",
    }


def response_orders(store: Store) -> dict[str, str]:
    return {
        "response id": "r.id",
        "start date, then id": "r.started_on, r.id",
        "completion date, then id": "r.completed_on, r.id",
        "response's physical order": f"r.{physical(store)}",
    }


def completed_contacts(store: Store, keys: Keys, order: str) -> list[Address]:
    with store.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT c.address FROM participation p JOIN contact c ON c.id = p.contact_id "
            f"WHERE p.survey_id = 'sample' AND p.wave = 1 AND p.completed ORDER BY {order}")).all()
    return [keys.unseal(address) for (address,) in rows]


def completed_responses(store: Store, order: str) -> list[tuple[str, int]]:
    """(channel, mark) of each completed response, in the given order."""
    with store.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT r.channel, a.value FROM response r JOIN answer a ON a.response_id = r.id "
            f"WHERE r.survey_id = 'sample' AND r.completed AND a.question_id = 'visits' ORDER BY {order}")).all()
    return [(channel, int(json.loads(value))) for channel, value in rows]


def linked(contacts: list[Address], responses: list[tuple[str, int]], truth: dict[int, Address]) -> int:
    """How many people the zip attack names correctly: channel by channel, the n-th contact with the n-th
    response."""
    right = 0
    for channel in ("web", "telegram"):
        people = [c for c in contacts if c.channel == channel]
        marks = [mark for kind, mark in responses if kind == channel]
        right += sum(truth[mark] == person for person, mark in zip(people, marks, strict=True))
    return right


def best_attack(store: Store, truth: dict[int, Address]) -> tuple[int, str]:
    keys = Keys(PEPPER)  # the attacker holds the pepper too
    results = []
    for contact_name, contact_order in contact_orders(store).items():
        contacts = completed_contacts(store, keys, contact_order)
        for response_name, response_order in response_orders(store).items():
            score = linked(contacts, completed_responses(store, response_order), truth)
            results.append((score, f"{contact_name} against {response_name}"))
    return max(results)


@pytest.fixture
def answered(service: SurveyService, clock: Clock) -> dict[int, Address]:
    return everyone_answers(service, clock)


def test_the_attack_links_everyone_while_the_key_exists(store: Store, answered: dict[int, Address]) -> None:
    score, how = best_attack(store, answered)
    assert score == len(answered), how


def test_after_key_destruction_no_order_in_the_database_links_anyone(store: Store, answered: dict[int, Address],
                                                                     clock: Clock) -> None:
    destroy_key(store, "sample", 1, clock.now.date())
    score, how = best_attack(store, answered)
    # A random guess names one person right on average (two, over both channels); eight or more of sixteen happens
    # by chance about once in a hundred thousand runs.
    assert score < len(answered) // 2, f"{score} of {len(answered)} linked by {how}"
    with store.unit() as uow:
        assert uow.session.execute(text("SELECT count(*) FROM conversation")).scalar() == 0
        contacts = uow.session.execute(text("SELECT count(DISTINCT joined_on) FROM contact")).scalar()
    assert contacts == 1  # one join date for the whole round: dates cannot pair people up either


def test_the_round_still_counts_verifies_and_reaches_its_people_after_destruction(
        service: SurveyService, store: Store, answered: dict[int, Address], clock: Clock) -> None:
    keys = Keys(PEPPER)
    before = sorted(c.identity() for c in completed_contacts(store, keys, "p.id"))
    destroy_key(store, "sample", 1, clock.now.date())
    assert sorted(c.identity() for c in completed_contacts(store, keys, "p.id")) == before
    assert verify(store, keys).ok
    with store.unit() as uow:
        assert store_responses.count(uow, "sample", completed=True) == len(answered)
        found = store_contacts.find(uow, keys.contact_lookup(TELEGRAM[0]))
    assert found is not None and found.channel == "telegram"
    erased = service.erase(TELEGRAM[0]).effects[0].text  # type: ignore[union-attr]
    assert "anonymous" in erased  # the person is still told their round's answers are anonymous now


def send_step(store: Store, clock: Clock, step: str, reminder: bool) -> None:
    """Plan one campaign step for its audience and deliver every message, as the broadcaster does."""
    with store.unit() as uow:
        campaign = store_campaigns.by_code(uow, "autumn")
        assert campaign is not None
        store_campaigns.plan(uow, campaign, 1, step, store_campaigns.audience(uow, campaign, 1, reminder))
    while True:
        with store.unit() as uow:
            lease = store_campaigns.lease_next(uow, "telegram", clock.now, timedelta(minutes=5))
            if lease is None:
                return
            store_campaigns.finish(uow, lease, "sent", "sample")


def reminded(store: Store, keys: Keys) -> set[bytes]:
    """Completed contacts whom the database shows got a reminder (an outbox row, or a count)."""
    with store.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT c.address FROM participation p JOIN contact c ON c.id = p.contact_id "
            "WHERE p.survey_id = 'sample' AND p.wave = 1 AND p.completed AND (p.reminders > 0 OR EXISTS ("
            "SELECT 1 FROM outbox o WHERE o.contact_id = c.id AND o.wave = 1 AND o.step <> 'invite'))")).all()
    return {keys.unseal(address).identity() for (address,) in rows}


def test_reminders_cannot_split_early_from_late_finishers_after_destruction(
        service: SurveyService, store: Store, clock: Clock) -> None:
    keys = Keys(PEPPER)
    people = [Address("telegram", WORKSPACE, str(5550002000 + n)) for n in range(12)]
    with store.unit() as uow:
        for who in people:
            store_campaigns.upsert_contact(uow, keys.contact_lookup(who), "telegram", keys.seal(who), ["all"],
                                           clock.now.date())
        uow.session.add(Campaign(code="autumn", survey_id="sample", version=1, tags=json.dumps(["all"]),
                                 opens_at=clock.now, closes_at=clock.now + timedelta(days=14),
                                 created_on=clock.now.date()))
    send_step(store, clock, "invite", reminder=False)
    early, late = people[:6], people[6:]
    for number, who in enumerate(early):
        answer_sample(service, who, visits=number + 1)
    clock.now += timedelta(days=3)
    send_step(store, clock, reminder(1), reminder=True)
    clock.now += timedelta(days=1)
    for number, who in enumerate(late):
        answer_sample(service, who, visits=number + 7)
    # The attack: the reminded finishers are exactly those whose responses were completed after the reminder.
    assert reminded(store, keys) == {who.identity() for who in late}
    destroy_key(store, "sample", 1, clock.now.date())
    assert reminded(store, keys) == set()
    with store.unit() as uow:
        campaign = store_campaigns.by_code(uow, "autumn")
        assert campaign is not None
        counts = store_campaigns.outbox_counts(uow, campaign.id or 0, 1)
        people_counts = store_campaigns.participation_counts(uow, "sample", 1)
    assert counts == {("invite", "sent"): 12}  # the invitations, and so `campaign show`'s "invited", stay
    assert people_counts == {"invited": 12, "started": 12, "completed": 12}


def test_keys_destroy_from_the_command_line_scrambles_and_the_chain_still_verifies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    dataset.store_copy(tmp_path / "data").engine.dispose()
    surveybot = Cli(tmp_path, monkeypatch, capsys)

    def contact_side() -> list[tuple[int, int]]:
        with sqlite3.connect(tmp_path / "data" / "surveybot.db") as connection:
            return connection.execute("SELECT p.id, p.contact_id FROM participation p WHERE p.survey_id = 'sample' "
                                      "AND p.wave = 1 ORDER BY p.id").fetchall()

    before = contact_side()
    assert len(before) >= 10
    destroyed = surveybot("keys", "destroy", "sample", "--wave", "1", **SAMPLE_ONLY)
    assert destroyed.returncode == 0, destroyed.stderr
    assert "can no longer be linked to anyone" in destroyed.stdout and "the channel" in destroyed.stdout
    after = contact_side()
    assert len(after) == len(before) and not {row[0] for row in after} & {row[0] for row in before}
    verified = surveybot("audit", "verify", **SAMPLE_ONLY)
    assert verified.returncode == 0 and verified.stdout.startswith("audit chain OK"), verified.stderr
