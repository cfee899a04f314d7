"""Reports and exports asked for in a chat: the commands as typed, the role check, the files, and the audit record
naming the channel and a keyed fingerprint of who asked (never their id)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import App, build
from bot.channels.port import Address
from bot.config import Settings
from bot.reporting.delivery import HELP, Request, RequestError, deliverable, parse_request
from bot.services.roles import Forbidden, Role, Roles

from . import dataset
from .conftest import PEPPER, Clock
from .test_reporting_cli import SAMPLE_ONLY

SCRUTINEER = Address("slack", "T0123", "U0SCRUTINY")
STRANGER = Address("telegram", "777", "55501234")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    dataset.store_copy(tmp_path / "data").engine.dispose()
    made = build(Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), **SAMPLE_ONLY}), clock=Clock())
    yield made
    made.engine.dispose()


@pytest.mark.parametrize(("typed", "request_"), [
    ("/report sample", Request("report", "sample")),
    ("/report@surveybot sample 2 compare 1", Request("report", "sample", 2, 1)),
    ("/export sample xlsx", Request("xlsx", "sample")),
    ("export sample CSV 1", Request("csv", "sample", 1)),
    ("/evidence sample 2", Request("evidence", "sample", 2)),
])
def test_commands_as_people_type_them(typed: str, request_: Request) -> None:
    assert parse_request(typed) == request_


@pytest.mark.parametrize(("typed", "message"), [
    ("/report", HELP),
    ("/export sample", "Which format? For example: /export sample xlsx (or csv, json)."),
    ("/report sample two", "“two” is not a wave number. Waves are 1, 2, 3..."),
    ("/report sample 2 compare", "Compare with which wave? For example: compare 1"),
])
def test_commands_that_cannot_be_understood_say_how(typed: str, message: str) -> None:
    with pytest.raises(RequestError) as raised:
        parse_request(typed)
    assert str(raised.value) == message


def test_only_a_scrutineer_or_admin_gets_a_file_and_every_file_is_audited(app: App) -> None:
    with pytest.raises(Forbidden, match="you need the admin or scrutineer role"):
        deliverable(app, STRANGER, Request("report", "sample"))
    roles = Roles(app.store, app.keys, app.service.clock)
    roles.grant(Role.SCRUTINEER, SCRUTINEER)
    report = deliverable(app, SCRUTINEER, Request("report", "sample", 2, 1))
    assert report.filename == "sample-wave2-report.html" and b"rose from 40% to 75%" in report.data
    assert report.caption == "Report: Sample of every kind, wave 2, compared with wave 1."
    workbook = deliverable(app, SCRUTINEER, Request("xlsx", "sample", 1))
    assert workbook.filename == "sample-wave1.xlsx" and zipfile.ZipFile(io.BytesIO(workbook.data)).testzip() is None
    assert workbook.caption.startswith("20 completed response(s). Record-level and pseudonymous")
    rows = deliverable(app, SCRUTINEER, Request("csv", "sample"))
    assert len(rows.data.decode().splitlines()) == 41
    with app.store.unit() as uow:
        records = [(action, json.loads(subject)) for action, subject in uow.session.execute(text(
            "SELECT action, subject FROM audit_record WHERE action IN ('role.granted', 'report', 'export') "
            "ORDER BY seq"))]
    (granted, who), *done = records
    assert granted == "role.granted"
    assert [action for action, _ in done] == ["report", "export", "export"]
    for _, subject in done:
        assert subject["via"] == "slack" and subject["who"] == who["who"]  # matches the grant; no platform id
    dumped = json.dumps(records)
    assert "U0SCRUTINY" not in dumped and "T0123" not in dumped


def test_a_missing_survey_or_wave_and_an_unsigned_server_get_plain_answers(app: App, tmp_path: Path) -> None:
    Roles(app.store, app.keys, app.service.clock).grant(Role.ADMIN, SCRUTINEER)
    with pytest.raises(RequestError, match="There is no survey called “nothing”"):
        deliverable(app, SCRUTINEER, Request("report", "nothing"))
    with pytest.raises(RequestError, match=r"“sample” has no wave 5 \(it has 1, 2\)\."):
        deliverable(app, SCRUTINEER, Request("csv", "sample", 5))
    production = build(Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), "SURVEYBOT_ENV":
                                          "production", **SAMPLE_ONLY}), clock=Clock())
    with pytest.raises(RequestError, match="the server has no signing key set up"):
        deliverable(production, SCRUTINEER, Request("evidence", "sample"))
    production.engine.dispose()
    pack = deliverable(app, SCRUTINEER, Request("evidence", "sample"))
    assert pack.filename == "sample-evidence.zip" and pack.caption.startswith("Evidence pack: 10 files, signed")
    assert PEPPER.decode() not in pack.caption
