"""Migrations go up and down cleanly and match the models exactly, on an empty and on a populated database (SQLite
and PostgreSQL): going down to 0001 and up again keeps every answer and the audit chain verifying."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from bot.channels.port import Address
from bot.services.audit import verify
from bot.services.roles import Role, Roles
from bot.services.service import SurveyService
from storage import campaigns as store_campaigns
from storage import contacts as store_contacts
from storage import database
from storage.models import Campaign, Contact
from storage.unit_of_work import Store

from . import dataset
from .conftest import Clock


def columns(store: Store, table: str) -> set[str]:
    return {column["name"] for column in inspect(store.engine).get_columns(table)}


def differences(store: Store) -> list[object]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_0002_up_down_up(store: Store) -> None:
    assert differences(store) == []
    assert {"closes_on", "min_group", "min_group_text"} <= columns(store, "survey_key")
    database.downgrade(store.engine, "0001")
    assert "role_grant" not in database.tables(store.engine)
    assert not {"closes_on", "min_group", "min_group_text"} & columns(store, "survey_key")
    database.upgrade(store.engine)
    assert differences(store) == [] and "role_grant" in database.tables(store.engine)


YOUSAID_TABLES = {"feedback_theme", "feedback_item", "we_did", "we_did_reaction"}


def test_0004_up_down_up(store: Store) -> None:
    assert differences(store) == [] and set(database.tables(store.engine)) >= YOUSAID_TABLES
    database.downgrade(store.engine, "0003")
    assert not YOUSAID_TABLES & set(database.tables(store.engine))
    database.upgrade(store.engine)
    assert differences(store) == [] and set(database.tables(store.engine)) >= YOUSAID_TABLES


def test_the_quick_head_check_names_alembics_head(store: Store) -> None:
    """storage.database.HEAD lets a current database skip loading Alembic at start; it must be the real head."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(database.alembic_config(store.engine)).get_current_head() == database.HEAD
    with store.engine.connect() as connection:
        assert database.current_revision(connection) == database.HEAD
    database.downgrade(store.engine, "0001")
    with store.engine.connect() as connection:
        assert database.current_revision(connection) == "0001"
    database.upgrade(store.engine)  # not at HEAD: the real upgrade runs
    assert differences(store) == []


def populate(service: SurveyService, clock: Clock, store: Store) -> dict[str, int]:
    """Two waves of answers (tests/dataset.py), a role, a campaign with its outbox: every table has rows."""
    dataset.build(service, clock)
    Roles(store, service.keys, clock).grant(Role.ADMIN, Address("telegram", "1", "424242"))
    with store.unit() as uow:
        contact = uow.session.get(Contact, store_contacts.ensure(
            uow,             "lookup-1", "telegram", service.keys.seal(Address("telegram", "1", "7")), clock().date()))
        assert contact is not None
        campaign = Campaign(code="spring", survey_id="sample", version=1, tags="[]", opens_at=clock(),
                            closes_at=clock() + timedelta(days=7), reminders="[]", created_on=clock().date())
        uow.session.add(campaign)
        uow.session.flush()
        store_campaigns.claim_step(uow, campaign.id or 0, 1, "invite", clock().date())
        store_campaigns.plan(uow, campaign, 1, "invite", [contact])
    return rows(store)


def rows(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {table: int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() or 0)
                for table in database.tables(store.engine) if table != "alembic_version"}


def test_down_and_up_again_on_a_populated_database_keeps_the_evidence(service: SurveyService, clock: Clock,
                                                                    store: Store) -> None:
    before = populate(service, clock, store)
    assert all(before[t] > 0 for t in ("response", "answer", "audit_record", "survey_key", "role_grant", "outbox"))
    assert verify(store, service.keys).ok
    database.downgrade(store.engine, "0001")
    kept = rows(store)
    for table in ("response", "answer", "audit_record", "survey_key", "survey_version", "contact", "conversation"):
        assert kept[table] == before[table], f"{table} lost rows going down to 0001"
    assert "outbox" not in kept and "role_grant" not in kept
    database.upgrade(store.engine)
    assert differences(store) == []
    after = rows(store)
    for table in ("response", "answer", "audit_record", "survey_key", "survey_version", "contact"):
        assert after[table] == before[table]
    assert verify(store, service.keys).ok, "the evidence still verifies after a round trip through 0001"
    # and the bot carries on: a new person answers into the upgraded schema
    dataset.answer(service, Address("telegram", "9", "99999"), 2, dataset.wave_two()[0])
    assert rows(store)["response"] == before["response"] + 1 and verify(store, service.keys).ok


def test_a_populated_database_goes_all_the_way_down_and_up(service: SurveyService, clock: Clock,
                                                           store: Store) -> None:
    populate(service, clock, store)
    database.downgrade(store.engine, "base")
    assert database.tables(store.engine) in ([], ["alembic_version"])
    database.upgrade(store.engine)
    assert differences(store) == [] and rows(store)["response"] == 0
