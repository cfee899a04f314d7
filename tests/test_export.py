"""Exports: every template in every format (SQLite and PostgreSQL), a formula-injection corpus neutralised in CSV and
XLSX alike (the XLSX read back with only zipfile and xml), codebooks, waves, and the progress line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from datetime import date
from pathlib import Path

import pytest

from bot import reading
from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine.survey import Survey
from bot.reporting import codebook, export
from bot.reporting.progress import Progress
from bot.services import audit
from bot.services.service import SurveyService
from bot.services.surveyfiles import parse_survey
from storage import evidence
from storage import responses as store_responses
from storage.sql import SqlStore
from storage.unit_of_work import Store

from . import dataset
from .conftest import SAMPLE

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
TEMPLATES = ("policy-awareness", "you-said", "wood-partner-survey")
CORPUS = ("=1+1", "+1", "-2", "@SUM(A1)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0", '=HYPERLINK("http://x.invalid")',
          "-", "plain words", "a = b")


def unescape(text: str) -> str:
    """XLSX writes characters XML can't hold (a carriage return) as _xHHHH_; Excel reads them back as characters."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda found: chr(int(found.group(1), 16)), text)


def read_xlsx(path: Path) -> dict[str, list[list[object]]]:
    """Every sheet's rows as Python values, read with the standard library; fails if any cell holds a formula."""
    sheets: dict[str, list[list[object]]] = {}
    with zipfile.ZipFile(path) as book:
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                      for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", NS)]
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        names = [sheet.get("name") for sheet in workbook.find("m:sheets", NS)]  # type: ignore[union-attr]
        for number, name in enumerate(names, 1):
            root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{number}.xml"))
            assert root.find(".//m:f", NS) is None, f"a formula in sheet {name}"
            rows = []
            for row in root.iter(f"{{{NS['m']}}}row"):
                values: list[object] = []
                for c in row.findall("m:c", NS):
                    column = "".join(ch for ch in c.get("r", "") if ch.isalpha())
                    index = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(column))) - 1
                    values += [""] * (index - len(values))
                    kind = c.get("t")
                    if kind == "inlineStr":
                        values.append(unescape("".join(t.text or "" for t in c.iter(f"{{{NS['m']}}}t"))))
                    elif kind == "s":
                        values.append(unescape(shared[int(c.find("m:v", NS).text)]))  # type: ignore[union-attr,arg-type]
                    else:
                        text = c.find("m:v", NS).text  # type: ignore[union-attr]
                        values.append(float(text) if "." in text else int(text))  # type: ignore[arg-type,operator]
                rows.append(values)
            sheets[str(name)] = rows
    return sheets


def take(service: SurveyService, who: Address, survey_id: str) -> None:
    """Complete a survey answering every question the simplest way: the first option, 1, or a few words."""
    outcome = service.begin(who, survey_id)
    for _ in range(80):
        ask = next((e for e in outcome.effects if isinstance(e, engine.Ask)), None)
        if ask is None:
            break
        prompt = ask.prompt
        if prompt.kind == "multi":
            service.handle(who, engine.Toggle(prompt.turn, 0))
            outcome = service.handle(who, engine.Done(prompt.turn))
        elif prompt.options:
            outcome = service.handle(who, engine.Pick(prompt.turn, 0))
        else:
            outcome = service.handle(who, engine.Reply("1" if prompt.kind == "number" else "Some words"))
    assert any(isinstance(e, engine.Finish) and e.completed for e in outcome.effects), survey_id


@pytest.mark.parametrize("survey_id", TEMPLATES)
def test_every_template_exports_in_every_format(service: SurveyService, store: Store, tmp_path: Path,
                                                survey_id: str) -> None:
    take(service, Address("telegram", dataset.WORKSPACE, "4242"), survey_id)
    versions = [service.catalogue.latest(survey_id)]
    header = export.columns(versions)
    text = io.StringIO(newline="")
    assert export.write_csv(store, survey_id, header, text) == 1
    rows = list(csv.reader(io.StringIO(text.getvalue())))
    assert rows[0] == header and len(rows) == 2 and rows[1][:3] == [survey_id, str(versions[0].version), "1"]
    assert rows[1][3] == "2026-03-02"  # a date, never a time
    answered = dict(zip(header, rows[1], strict=True))
    assert all(answered[q.id] for q in versions[0].questions if not q.optional and q.ask_if is None)
    data = io.StringIO()
    assert export.write_json(store, survey_id, header, data) == 1
    (record,) = json.loads(data.getvalue())
    assert list(record) == header and "respondent" not in record
    xlsx = tmp_path / "export.xlsx"
    assert export.write_xlsx(store, survey_id, header, versions, xlsx, date(2026, 3, 2)) == 1
    sheets = read_xlsx(xlsx)
    assert list(sheets) == ["Responses", "Codebook"]
    width = len(header)
    assert [[str(v) for v in row] + [""] * (width - len(row)) for row in sheets["Responses"]] == rows
    book = {row[0]: row for row in sheets["Codebook"][1:]}
    assert sheets["Codebook"][0] == list(codebook.HEADER)
    for question in versions[0].questions:
        line = book[question.id]
        assert line[4] == export.neutralise(question.text)  # the exact wording
        if question.kind.value not in ("scale", "number", "text"):
            assert line[5] == " | ".join(question.options())


def test_a_formula_injection_corpus_is_neutralised_in_csv_and_xlsx(store: Store, service: SurveyService,
                                                                   tmp_path: Path) -> None:
    # Some of these cannot come through a chat (the engine trims tabs and drops carriage returns), so they are
    # stored directly: an export must be safe whatever the database holds.
    today = date(2026, 3, 2)
    with store.unit() as uow:
        for number, words in enumerate(CORPUS):
            response = store_responses.open_response(uow, f"corpus-{number:02d}", "sample", 1, 1, "test", today)
            store_responses.put_answer(uow, response, "agency", "Police", today)
            store_responses.put_answer(uow, response, "sources", ["Briefing", "Other, please say"], today)
            store_responses.put_answer(uow, response, "sources.other", words, today)
            store_responses.put_answer(uow, response, "comment", words, today)
            store_responses.put_answer(uow, response, "visits", 7, today)
            store_responses.complete(uow, response, today)
    versions = [service.catalogue.latest("sample")]
    header = export.columns(versions)
    text = io.StringIO(newline="")
    export.write_csv(store, "sample", header, text)
    rows = list(csv.reader(io.StringIO(text.getvalue())))[1:]
    xlsx = tmp_path / "corpus.xlsx"
    export.write_xlsx(store, "sample", header, versions, xlsx, today)
    sheet = read_xlsx(xlsx)["Responses"][1:]
    for where, table in (("csv", rows), ("xlsx", [[str(v) for v in row] for row in sheet])):
        assert len(table) == len(CORPUS)
        for row in table:
            for value in row:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (where, value)
        comments = [row[header.index("comment")] for row in table]
        assert comments == ["'" + w if w[0] in "=+-@\t\r" else w for w in CORPUS], where
        assert {row[header.index("visits")] for row in table} == {"7"}  # numbers stay numbers
    assert {row[header.index("visits")] for row in sheet} == {7}


AWKWARD = ("a, b", 'say "hi"', "two\nlines", "cr\r", "", " padded ", "ünïcødé — “quoted”", "=1+1", "'", ",", '"',
           "\u2028", "semi; colon")


def test_csv_is_byte_for_byte_what_csv_writer_makes_of_the_cells(store: Store, service: SurveyService) -> None:
    # write_csv builds each line from memoised fields rather than through csv.writer row by row: the bytes must be
    # those csv.writer makes of the same cells, whatever the answers hold (quotes, commas, line breaks, numbers,
    # empty text, answers to questions the header does not have, a response with no answers at all).
    today = date(2026, 3, 2)
    with store.unit() as uow:
        for number, words in enumerate(AWKWARD):
            response = store_responses.open_response(uow, f"awkward-{number:02d}", "sample", 1, 1 + number % 2, "test",
                                                     today)
            store_responses.put_answer(uow, response, "agency", words or "Police", today)
            sources = [words, "Other, please say"] if number % 3 else []
            store_responses.put_answer(uow, response, "sources", sources, today)
            store_responses.put_answer(uow, response, "comment", words, today)
            store_responses.put_answer(uow, response, "visits", [7, 2.5, 0, None][number % 4], today)
            store_responses.put_answer(uow, response, "retired_question", "gone", today)
            store_responses.complete(uow, response, today)
        nothing = store_responses.open_response(uow, "nothing-answered", "sample", 1, 1, "test", today)
        store_responses.complete(uow, nothing, today)
    header = export.columns([service.catalogue.latest("sample")])
    made = io.StringIO(newline="")
    assert export.write_csv(store, "sample", header, made) == len(AWKWARD) + 1
    data = io.StringIO()
    export.write_json(store, "sample", header, data)
    expected = io.StringIO(newline="")
    writer = csv.writer(expected)
    writer.writerow(header)
    for record in json.loads(data.getvalue()):
        fixed = [record[name] for name in export.FIXED_COLUMNS]
        writer.writerow(fixed + ["" if record[c] is None else export.cell(record[c]) for c in header[len(fixed):]])
    assert made.getvalue() == expected.getvalue()
    assert '"two\nlines"' in made.getvalue() and '"say ""hi"""' in made.getvalue()


def test_a_bare_sql_store_exports_and_audits_as_the_orm_store_does(store: Store, service: SurveyService) -> None:
    # `surveybot export` runs on storage.sql.SqlStore (bot.reading), with no ORM session: the same rows, and an
    # audit record that extends the chain verify checks, on SQLite and on PostgreSQL.
    for number in range(3):
        dataset.answer(service, Address("telegram", dataset.WORKSPACE, str(number)), 1,
                       dataset.Person(agency=number % 2, aware=True, sources=(0, 3), other="=1+1", comment="a, \"b\""))
    bare = SqlStore(store.engine)
    header = export.columns([service.catalogue.latest("sample")])
    made = {}
    for name, source in (("orm", store), ("bare", bare)):
        text = io.StringIO(newline="")
        assert export.write_csv(source, "sample", header, text) == 3 == export.count(source, "sample")
        made[name] = text.getvalue()
    assert made["bare"] == made["orm"]
    (published,) = reading.published_versions(bare, "sample")
    assert published.source == service.catalogue.latest("sample").source
    export.record(bare, "sample", "csv", 3, hashlib.sha256(made["bare"].encode()).hexdigest(), date(2026, 3, 2))
    verdict = audit.verify(store, service.keys)
    assert verdict.ok, verdict.problems
    with store.unit() as uow:
        assert [r.action for r in evidence.audit_records(uow)][-1] == "export"


def test_json_keeps_types_and_codebooks_list_every_version(store: Store, service: SurveyService) -> None:
    dataset.answer(service, Address("telegram", dataset.WORKSPACE, "1"), 1,
                   dataset.Person(agency=0, aware=True, sources=(0, 3), other="=1+1", comment="-minus"))
    header = export.columns([service.catalogue.latest("sample")])
    data = io.StringIO()
    export.write_json(store, "sample", header, data)
    (record,) = json.loads(data.getvalue())
    assert record["sources"] == ["Briefing", "Other, please say"] and record["visits"] == 10
    assert record["sources.other"] == "=1+1" and record["comment"] == "-minus"  # JSON is data, not a spreadsheet
    second = parse_survey(SAMPLE.read_text().replace("version: 1", "version: 2").replace(
        "text: Did you know the policy?", "text: Before today, did you know the policy?"), "sample v2")
    rows = codebook.rows([service.catalogue.latest("sample"), second])
    aware = [(row["version"], row["wording"]) for row in rows if row["column"] == "aware"]
    assert aware == [("1", "Did you know the policy?"), ("2", "Before today, did you know the policy?")]
    assert [row["column"] for row in rows[:4]] == list(export.FIXED_COLUMNS)
    other = next(row for row in rows if row["column"] == "sources.other")
    assert other["asked_only_if"] == "sources includes \"Other, please say\""
    text = io.StringIO(newline="")
    export.write_codebook_csv([second], text)
    assert next(csv.reader(io.StringIO(text.getvalue()))) == list(codebook.HEADER)


def test_an_export_of_one_wave_holds_only_that_wave(tmp_path: Path, sample: Survey) -> None:
    store = dataset.store_copy(tmp_path)
    header = export.columns([sample])
    for wave, completed_on, expected in ((1, "2026-03-02", 20), (2, "2026-03-09", 20), (None, None, 40)):
        text = io.StringIO(newline="")
        assert export.write_csv(store, "sample", header, text, wave) == expected
        rows = list(csv.DictReader(io.StringIO(text.getvalue())))
        assert len(rows) == expected == export.count(store, "sample", wave)
        if wave is not None:
            assert {(r["wave"], r["completed_on"]) for r in rows} == {(str(wave), completed_on)}
    store.engine.dispose()


class Screen(io.StringIO):
    """A terminal, as far as Progress can tell."""

    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_and_says_nothing_elsewhere() -> None:
    screen, pipe = Screen(), io.StringIO()
    for stream in (screen, pipe):
        progress = Progress("exporting", 2000, stream)
        progress.INTERVAL = 0
        for _ in range(2000):
            progress.advance()
        progress.finish()
    assert pipe.getvalue() == ""
    drawn = screen.getvalue()
    assert drawn.startswith("\rexporting: 512 of 2,000 (25%)") and drawn.endswith("\rexporting: 2,000 of 2,000 "
                                                                                    "(100%)\n")
