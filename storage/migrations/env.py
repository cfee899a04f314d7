"""Alembic environment: the engine comes from storage.database (never from an ini file), models from storage.models."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from storage import models  # noqa: F401  (registers every table on SQLModel.metadata)

target_metadata = SQLModel.metadata
engine = context.config.attributes.get("engine")


def run() -> None:
    if engine is None:
        raise RuntimeError("run migrations through `surveybot db upgrade`, which supplies the database")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
