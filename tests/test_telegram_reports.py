"""/report and /export in Telegram: the real bot against the fake Bot API, over the two-wave dataset. Someone without
the role gets a plain no; a scrutineer gets the file as a document in the chat, and the request is audited."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from bot.services.roles import Role, Roles, parse_who

from . import dataset
from .fakes.telegram_api import FakeTelegram
from .test_telegram import USER, running


async def test_a_scrutineer_gets_the_report_and_an_export_as_documents(tmp_path: Path) -> None:
    dataset.store_copy(tmp_path / "data").engine.dispose()
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        fake.user_sends_text(USER, "/report sample 2 compare 1")
        refused = await fake.next_message(USER, timeout=10)
        assert refused["text"] == "Sorry: to export results and evidence you need the admin or scrutineer role."
        person = parse_who(f"telegram:{USER}", fake.token.split(":", 1)[0])
        Roles(app.store, app.keys, app.service.clock).grant(Role.SCRUTINEER, person)

        fake.user_sends_text(USER, "/export sample")
        assert (await fake.next_message(USER, timeout=10))["text"].startswith("Which format?")
        fake.user_sends_text(USER, "/report sample 2 compare 1")
        report = await fake.next_message(USER, timeout=30)
        assert report["document"]["file_name"] == "sample-wave2-report.html"
        assert report["caption"] == "Report: Sample of every kind, wave 2, compared with wave 1."
        page = fake.files[report["document"]["file_id"]].data.decode()
        assert "“Yes” to “Did you know the policy?” rose from 40% to 75% (a significant change)." in page
        fake.user_sends_text(USER, "/export sample csv 1")
        exported = await fake.next_message(USER, timeout=30)
        assert exported["document"]["file_name"] == "sample-wave1.csv"
        assert len(fake.files[exported["document"]["file_id"]].data.decode().splitlines()) == 21
        with app.engine.connect() as connection:
            audited = [(action, json.loads(subject)) for action, subject in connection.execute(text(
                "SELECT action, subject FROM audit_record WHERE action IN ('report', 'export') ORDER BY seq"))]
        assert [(action, subject["via"]) for action, subject in audited] == [("report", "telegram"),
                                                                             ("export", "telegram")]
        assert str(USER) not in json.dumps(audited)
