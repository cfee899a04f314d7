"""What a running bot stored, read back for a test's assertions: shared by the channels' end-to-end harnesses (the
Slack and Teams `Bot`s), so each channel checks its answers, audit records and completions the same way."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import inspect, text

from bot.app import App
from storage import responses as store_responses


class Stored:
    """Read-only views of `self.app`'s database; mixed into a harness dataclass that has an `app` field."""

    app: App

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.app.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def audited(self, action: str) -> list[dict[str, Any]]:
        """The subjects of the audit records of one action, oldest first."""
        return audited(self.app, action)

    def recorded(self, question: str) -> int:
        """How many times an answer to `question` was recorded, from the audit chain."""
        return sum(1 for s in self.audited("answer.recorded") if s["question"] == question)

    def completed(self, survey_id: str) -> int:
        with self.app.store.unit() as uow:
            return store_responses.count(uow, survey_id, completed=True)

    def dump(self) -> str:
        """Every row of every table, as text (to look for what must never be stored)."""
        lines = []
        with self.app.engine.connect() as connection:
            for table in inspect(self.app.engine).get_table_names():
                lines.extend(f"{table}: {tuple(row)!r}" for row in connection.execute(text(f'SELECT * FROM "{table}"')))
        return "\n".join(lines)


def audited(app: App, action: str) -> list[dict[str, Any]]:
    """The subjects of the audit records of one action, oldest first."""
    with app.engine.connect() as connection:
        rows = connection.execute(text("SELECT subject FROM audit_record WHERE action = :a ORDER BY seq"),
                                  {"a": action}).all()
    return [json.loads(row[0]) for row in rows]
