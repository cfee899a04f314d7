"""Migration 0002 goes up and down cleanly and matches the models exactly (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from storage import database
from storage.unit_of_work import Store


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
