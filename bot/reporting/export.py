"""Exports for the scrutineer: one row per completed response, a column per question, and nothing that identifies.

Rows are streamed a batch at a time (storage.results), so memory does not grow with the number of responses: CSV and
JSON are written as they are read, and XLSX goes through xlsxwriter's constant_memory mode, which flushes each row
to disk. Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) are
neutralised with a leading apostrophe, in CSV and XLSX alike, so the two hold the same text; numbers stay numbers,
and XLSX cells are always written as text or number, never as a formula.

Every export comes with a codebook (bot.reporting.codebook): the second sheet of an XLSX file, and a sidecar file
next to a CSV (`<out>.codebook.csv`) or JSON export (`<out>.codebook.json`), so the JSON stays a plain array of rows.

An export is record-level evidence for the scrutineer, not an aggregate: it is not suppressed (docs/privacy.md says
why that is acceptable), its free text is the scrubbed text that was stored, and every export is audited with its
row count and the SHA-256 of exactly what was written.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import xlsxwriter

from bot.engine.survey import Survey
from bot.reporting import codebook
from bot.reporting.progress import Progress
from storage import results
from storage.unit_of_work import Store


class Writable(Protocol):
    def write(self, text: str, /) -> int: ...


class Fingerprinted:
    """Passes text on to `out` while hashing it, so the export's audit record names the exact bytes written.

    Text is gathered into chunks of about 64 KB before it is hashed and written: a CSV writer hands over one row at a
    time, and a call per row for each was a tenth of a large export's time. Call `flush` before `out` closes."""

    CHUNK = 65_536

    def __init__(self, out: Writable) -> None:
        self.out = out
        self._hash = hashlib.sha256()
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str, /) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self.CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            chunk = "".join(self._parts)
            self._parts, self._size = [], 0
            self._hash.update(chunk.encode("utf-8"))
            self.out.write(chunk)

    def sha256(self) -> str:
        assert not self._parts, "flush before asking for the fingerprint"
        return self._hash.hexdigest()


FIXED_COLUMNS = ("survey_id", "version", "wave", "completed_on")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx", "json")
RESPONSES_SHEET, CODEBOOK_SHEET = "Responses", "Codebook"


_FORMULA = frozenset(FORMULA_STARTS)


def neutralise(text: str) -> str:
    return "'" + text if text[:1] in _FORMULA else text


def cell(value: Any) -> str | int | float:
    """A stored answer as a flat cell: lists joined with "; ", skipped or not asked as empty. (The common kinds are
    tested first, by exact type: this runs once per answer of an export.)"""
    kind = type(value)
    if kind is str:
        return "'" + value if value[:1] in _FORMULA else value
    if value is None:
        return ""
    if kind is int or kind is float:
        return value  # type: ignore[no-any-return]
    if kind is list:
        return neutralise("; ".join(str(v) for v in value))
    return neutralise(str(value))


def columns(versions: list[Survey]) -> list[str]:
    """Every question column across the versions, in the order of the newest version, then any older extras."""
    ordered: list[str] = []
    for survey in sorted(versions, key=lambda s: -s.version):
        ordered.extend(c for c in survey.columns() if c not in ordered)
    return [*FIXED_COLUMNS, *ordered]


_CACHE_LIMIT = 50_000  # choice answers repeat endlessly; free text does not, so the memo is emptied when full
_UNSEEN: Any = object()


def _cells(header: list[str]) -> Callable[[results.CompletedResponse, list[str]], list[Any]]:
    """A function turning one response into its row of cells. Each stored answer (question id and JSON text, as one
    string) becomes its column and cell once, memoised: an export of a million answers holds a few hundred
    different choice answers, so most answers cost one dictionary lookup."""
    where = {column: index for index, column in enumerate(header) if index >= len(FIXED_COLUMNS)}
    blank = [""] * len(header)
    memo: dict[str, tuple[int, str | int | float] | None] = {}

    def row(head: results.CompletedResponse, answers: list[str]) -> list[Any]:
        cells = blank.copy()
        cells[0], cells[1], cells[2] = head.survey_id, head.version, head.wave
        cells[3] = head.completed_on.isoformat() if head.completed_on else ""
        for answer in answers:
            found = memo.get(answer, _UNSEEN)
            if found is _UNSEEN:
                if len(memo) >= _CACHE_LIMIT:
                    memo.clear()
                question_id, _, raw = answer.partition(results.UNIT)
                index = where.get(question_id)
                found = memo[answer] = None if index is None else (index, cell(json.loads(raw)))
            if found is not None:
                cells[found[0]] = found[1]
        return cells

    return row


def records(store: Store, survey_id: str, wave: int | None = None
            ) -> Iterator[tuple[results.CompletedResponse, list[str]]]:
    """The export's responses, each with its answers as results.completed gives them."""
    with store.unit() as uow:
        yield from results.completed(uow, survey_id, wave)


def count(store: Store, survey_id: str, wave: int | None = None) -> int:
    with store.unit() as uow:
        return results.count_completed(uow, survey_id, wave)


def write_csv(store: Store, survey_id: str, header: list[str], out: Writable, wave: int | None = None,
              progress: Progress | None = None) -> int:
    writer = csv.writer(out)
    writer.writerow(header)
    row = _cells(header)
    written = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal written
        for head, answers in records(store, survey_id, wave):
            written += 1
            if progress is not None:
                progress.advance()
            yield row(head, answers)

    writer.writerows(rows())
    return written


def write_json(store: Store, survey_id: str, header: list[str], out: Writable, wave: int | None = None,
               progress: Progress | None = None) -> int:
    """A JSON array written row by row (values keep their types: lists stay lists; nothing is neutralised, since
    no spreadsheet runs JSON)."""
    out.write("[")
    written = 0
    questions = header[len(FIXED_COLUMNS):]
    for head, answers in records(store, survey_id, wave):
        item: dict[str, Any] = {
            "survey_id": head.survey_id, "version": head.version, "wave": head.wave,
            "completed_on": head.completed_on.isoformat() if head.completed_on else "",
        }
        stored = dict(results.pairs(answers))
        for column in questions:
            raw = stored.get(column)
            item[column] = None if raw is None else json.loads(raw)
        out.write(("," if written else "") + "\n  " + json.dumps(item, ensure_ascii=False))
        written += 1
        if progress is not None:
            progress.advance()
    out.write("\n]\n" if written else "]\n")
    return written


def write_xlsx(store: Store, survey_id: str, header: list[str], versions: list[Survey], path: Path,
               made_on: date, wave: int | None = None, progress: Progress | None = None) -> int:
    """An Excel workbook: the responses on the first sheet, the codebook on the second. Every cell is written as a
    string or a number explicitly, never through xlsxwriter's guessing, so nothing can become a formula or a link;
    the file's creation date is `made_on` (no time), so the same data gives the same file."""
    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
        "strings_to_numbers": False, "tmpdir": str(path.parent)})
    workbook.set_properties({"created": datetime(made_on.year, made_on.month, made_on.day),
                             "title": f"{survey_id} responses"})
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet(RESPONSES_SHEET)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(header) - 1, 18)
    for col, name in enumerate(header):
        sheet.write_string(0, col, name, bold)
    row = _cells(header)
    written = 0
    for head, answers in records(store, survey_id, wave):
        written += 1
        for col, value in enumerate(row(head, answers)):
            if isinstance(value, str):
                if value:
                    sheet.write_string(written, col, value)
            else:
                sheet.write_number(written, col, value)
        if progress is not None:
            progress.advance()
    book = workbook.add_worksheet(CODEBOOK_SHEET)
    book.set_column(0, len(codebook.HEADER) - 1, 24)
    for col, name in enumerate(codebook.HEADER):
        book.write_string(0, col, name, bold)
    for number, entry in enumerate(codebook.rows(versions), start=1):
        for col, name in enumerate(codebook.HEADER):
            if entry[name]:
                book.write_string(number, col, neutralise(entry[name]))
    workbook.close()
    return written


def write_codebook_csv(versions: list[Survey], out: Writable) -> None:
    writer = csv.writer(out)
    writer.writerow(codebook.HEADER)
    for entry in codebook.rows(versions):
        writer.writerow([neutralise(entry[name]) for name in codebook.HEADER])


def write_codebook_json(versions: list[Survey], out: Writable) -> None:
    out.write(json.dumps(codebook.rows(versions), ensure_ascii=False, indent=2) + "\n")


def codebook_path(out: Path, fmt: str) -> Path:
    """Where the codebook of a CSV or JSON export goes: beside it, `<out>.codebook.csv` or `.codebook.json`."""
    return out.with_name(f"{out.name}.codebook.{'json' if fmt == 'json' else 'csv'}")


def record(store: Store, survey_id: str, fmt: str, rows: int, sha256: str, today: date, *, wave: int | None = None,
           codebook_sha256: str | None = None, via: str | None = None, who: str | None = None) -> None:
    """The `export` audit record: which survey (and wave), in what form, how many rows, the hash of what was
    written, and for a chat request the channel and a keyed fingerprint of who asked."""
    subject: dict[str, Any] = {"survey": survey_id, "format": fmt, "rows": rows, "sha256": sha256}
    if wave is not None:
        subject["wave"] = wave
    if codebook_sha256 is not None:
        subject["codebook_sha256"] = codebook_sha256
    if via is not None:
        subject["via"] = via
    if who is not None:
        subject["who"] = who
    with store.unit() as uow:
        uow.audit("export", subject, today)
