"""The console's Audit section (/admin/audit): the chain's status as `surveybot audit verify` reports it, and the
latest records, newest first, 50 a page (older pages by `?before=SEQ`). For whoever may read results (the admin
and the scrutineer: Action.READ_RESULTS).

The status is bot.services.audit.verify, the command's own check, run afresh for every view (off the event loop):
the whole chain rehashed and every answer checked against it. The records are shown as they are stored: the day,
the action and the subject's fields. Every use case audits fingerprints and row numbers, never a platform id or a
person's words, so the subject can be shown as it is; it is escaped like any text, and a subject someone has
edited into something unreadable is shown as its raw text.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from aiohttp import web

from bot.console.site import PREFIX, Console, Refusal
from bot.services import audit
from bot.services.console_access import Person
from bot.services.roles import Action
from storage.evidence import Record

HOME = f"{PREFIX}/audit"
PAGE_SIZE = 50
_SEQ = re.compile(r"^[1-9][0-9]{0,17}$")


def register(console: Console) -> None:
    @console.page(HOME, Action.READ_RESULTS)
    async def log(request: web.Request, person: Person) -> web.StreamResponse:
        before_text = request.query.get("before")
        if before_text is not None and not _SEQ.match(before_text):
            raise Refusal(400, "That is not a record number. Please use the links on the audit page.")
        before = int(before_text) if before_text is not None else None
        verdict = await console.work(audit.verify, console.core.store, console.core.keys)
        records = await console.work(audit.latest, console.core.store, PAGE_SIZE + 1, before)
        older = records[PAGE_SIZE - 1].seq if len(records) > PAGE_SIZE else None
        return console.render(person, "audit/log.html", current=HOME, verdict=verdict, before=before,
                              records=[shown(record) for record in records[:PAGE_SIZE]], older=older)


def shown(record: Record) -> dict[str, Any]:
    """A record for the page: its number, day, action, and its subject as (field, value) pairs in text."""
    try:
        subject = json.loads(record.subject)
    except ValueError:
        subject = None
    if isinstance(subject, dict):
        fields = [(str(name), _text(value)) for name, value in subject.items()]
    else:
        fields = [("subject", record.subject)]
    return {"seq": record.seq, "on": _day(record.on), "action": record.action, "fields": fields}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _day(on: date) -> str:
    return f"{on.day} {on:%B %Y}"
