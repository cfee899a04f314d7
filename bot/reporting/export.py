"""Exports for the scrutineer: one row per completed response, a column per question, and nothing that identifies.

Rows are streamed a batch at a time, so memory does not grow with the number of responses. Text cells that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) are neutralised with a leading
apostrophe; numbers stay numbers.

An export is record-level evidence for the scrutineer, not an aggregate: it is not suppressed (docs/privacy.md says
why that is acceptable), its free text is the scrubbed text that was stored, and every export is audited with its
row count and the SHA-256 of exactly what was written.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from datetime import date
from typing import Any, Protocol

from bot.engine.survey import Survey
from storage.unit_of_work import Store


class Writable(Protocol):
    def write(self, text: str, /) -> int: ...


class Fingerprinted:
    """Passes text on to `out` while hashing it, so the export's audit record names the exact bytes written."""

    def __init__(self, out: Writable) -> None:
        self.out = out
        self._hash = hashlib.sha256()

    def write(self, text: str, /) -> int:
        self._hash.update(text.encode("utf-8"))
        return self.out.write(text)

    def sha256(self) -> str:
        return self._hash.hexdigest()


FIXED_COLUMNS = ("survey_id", "version", "wave", "completed_on")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any) -> str | int | float:
    """A stored answer as a flat cell: lists joined with "; ", skipped or not asked as empty."""
    if value is None:
        return ""
    if isinstance(value, list):
        return neutralise("; ".join(str(v) for v in value))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return value
    return neutralise(str(value))


def columns(versions: list[Survey]) -> list[str]:
    """Every question column across the versions, in the order of the newest version, then any older extras."""
    ordered: list[str] = []
    for survey in sorted(versions, key=lambda s: -s.version):
        ordered.extend(c for c in survey.columns() if c not in ordered)
    return [*FIXED_COLUMNS, *ordered]


def rows(store: Store, survey_id: str, header: list[str]) -> Iterator[dict[str, Any]]:
    with store.unit() as uow:
        for response, answers in uow.completed_rows(survey_id):
            row: dict[str, Any] = {
                "survey_id": response.survey_id,
                "version": response.version,
                "wave": response.wave,
                "completed_on": response.completed_on.isoformat() if response.completed_on else "",
            }
            for column in header[len(FIXED_COLUMNS):]:
                row[column] = answers.get(column)
            yield row


def write_csv(store: Store, survey_id: str, header: list[str], out: Writable) -> int:
    writer = csv.writer(out)
    writer.writerow(header)
    count = 0
    for row in rows(store, survey_id, header):
        writer.writerow([cell(row[c]) for c in header])
        count += 1
    return count


def write_json(store: Store, survey_id: str, header: list[str], out: Writable) -> int:
    """A JSON array written row by row (values keep their types: lists stay lists)."""
    out.write("[")
    count = 0
    for row in rows(store, survey_id, header):
        out.write(("," if count else "") + "\n  " + json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def record(store: Store, survey_id: str, fmt: str, rows: int, sha256: str, today: date) -> None:
    """The `export` audit record: which survey, in what form, how many rows, and the hash of what was written."""
    with store.unit() as uow:
        uow.audit("export", {"survey": survey_id, "format": fmt, "rows": rows, "sha256": sha256}, today)
