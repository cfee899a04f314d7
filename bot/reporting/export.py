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
import io
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol

from bot.engine.messages import REMOVED_FOR_SAFETY
from bot.engine.survey import Survey
from bot.reporting import codebook
from bot.reporting.progress import Progress
from storage import results
from storage.sql import Units, day


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
        if value.startswith(REMOVED_FOR_SAFETY):
            return ""  # held back by the safeguarding check: blank like a skipped answer, as the category says too much
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


def _cells(header: list[str]) -> Callable[[results.CompletedResponse, list[str]], list[Any]]:
    """A function turning one response into its row of cells (for XLSX, which writes each cell by its type)."""
    where = {column: index for index, column in enumerate(header) if index >= len(FIXED_COLUMNS)}
    blank = [""] * len(header)
    memo = results.Decoded(lambda question_id, value: (where[question_id], cell(value)) if question_id in where
                           else None)

    def row(head: results.CompletedResponse, answers: list[str]) -> list[Any]:
        cells: list[Any] = blank.copy()
        cells[0], cells[1], cells[2] = head.survey_id, head.version, head.wave
        cells[3] = head.completed_on.isoformat() if head.completed_on else ""
        for found in map(memo.__getitem__, answers):
            if found is not None:
                cells[found[0]] = found[1]
        return cells

    return row


def _csv_text(values: tuple[Any, ...]) -> str:
    """Values (at least two) as csv.writer writes them on one line, without the line's ending."""
    line = io.StringIO()
    csv.writer(line).writerow(values)
    return line.getvalue()[:-len(csv.excel.lineterminator)]


def _csv_lines(header: list[str]) -> Callable[[tuple[Any, ...]], str]:
    """A function turning one row of results.completed_batches into its CSV line, ending included.

    The same bytes as csv.writer writing the row of cells (tests/test_export.py holds it to that), in half the time:
    each distinct stored answer becomes its column and its CSV field once (the csv module itself quotes the field,
    memoised), and so does each distinct start of a row (survey, version, wave, day). A row is then a dictionary of
    fields joined in C, with no Python-level step per column. A cell's quoting depends on nothing but the cell
    (csv.QUOTE_MINIMAL), so fields made apart join into the line csv.writer would have written."""
    questions = header[len(FIXED_COLUMNS):]
    start = object()  # the row's first four fields, under a key no question id can be
    blank: dict[Any, str] = dict.fromkeys(questions, "")
    pick = itemgetter(start, *questions)  # at least two keys, so always a tuple
    fields = results.Decoded(lambda question_id, value: (question_id, _csv_text((cell(value), ""))[:-1]))
    answer = fields.__getitem__
    starts: dict[tuple[Any, ...], str] = {}
    ending = csv.excel.lineterminator

    def line(row: tuple[Any, ...]) -> str:
        _, survey_id, version, wave, completed_on, joined = row
        cells = blank.copy()
        head = starts.get((survey_id, version, wave, completed_on))
        if head is None:
            on = day(completed_on)
            head = starts[survey_id, version, wave, completed_on] = _csv_text(
                (survey_id, version, wave, on.isoformat() if on else ""))
        cells[start] = head
        if joined:
            cells.update(map(answer, joined.split(results.RECORD)))
        return ",".join(pick(cells)) + ending

    return line


def records(store: Units, survey_id: str, wave: int | None = None
            ) -> Iterator[tuple[results.CompletedResponse, list[str]]]:
    """The export's responses, each with its answers as results.completed gives them."""
    with store.unit() as uow:
        yield from results.completed(uow, survey_id, wave)


def count(store: Units, survey_id: str, wave: int | None = None) -> int:
    with store.unit() as uow:
        return results.count_completed(uow, survey_id, wave)


def write_csv(store: Units, survey_id: str, header: list[str], out: Writable, wave: int | None = None,
              progress: Progress | None = None) -> int:
    """The header, then each batch of rows as one piece of text (see _csv_lines)."""
    csv.writer(out).writerow(header)
    line = _csv_lines(header)
    written = 0
    with store.unit() as uow:
        for rows in results.completed_batches(uow, survey_id, wave):
            out.write("".join(map(line, rows)))
            written += len(rows)
            if progress is not None:
                progress.advance(len(rows))
    return written


def write_json(store: Units, survey_id: str, header: list[str], out: Writable, wave: int | None = None,
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
            value = None if raw is None else json.loads(raw)
            item[column] = None if isinstance(value, str) and value.startswith(REMOVED_FOR_SAFETY) else value
        out.write(("," if written else "") + "\n  " + json.dumps(item, ensure_ascii=False))
        written += 1
        if progress is not None:
            progress.advance()
    out.write("\n]\n" if written else "]\n")
    return written


def write_xlsx(store: Units, survey_id: str, header: list[str], versions: list[Survey], path: Path,
               made_on: date, wave: int | None = None, progress: Progress | None = None) -> int:
    """An Excel workbook: the responses on the first sheet, the codebook on the second. Every cell is written as a
    string or a number explicitly, never through xlsxwriter's guessing, so nothing can become a formula or a link;
    the file's creation date is `made_on` (no time), so the same data gives the same file."""
    import xlsxwriter  # only XLSX needs it: a CSV export starts without it

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


def record(store: Units, survey_id: str, fmt: str, rows: int, sha256: str, today: date, *, wave: int | None = None,
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
