"""The safeguarding alerts raised so far and whether each was acknowledged, read back from the audit log.

Alerts are not stored anywhere else, by design: the service audits that one was raised (`safeguarding.alert`: its
reference, category and whether the young person agreed to be contacted; no words, no ids, no handle), that several
went out as one grouped message (`safeguarding.grouped`), and that someone acknowledged one
(`safeguarding.acknowledged`, by bot.services.care.Care.acknowledge, which the chat's Acknowledge button and the
console's both call). This module only reads those records, with the same rules `acknowledge` applies: one
reference is one case (a named alert that follows an anonymous one keeps its reference); an anonymous alert is
acknowledged by a press on it or on the grouped message that carried it; a named one only by a press made once it
was named, because a named alert arriving after the anonymous one was acknowledged is news.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from storage import evidence
from storage.unit_of_work import Store

RAISED, GROUPED, ACKNOWLEDGED = "safeguarding.alert", "safeguarding.grouped", "safeguarding.acknowledged"


@dataclass
class Case:
    """One alert reference: what the lead can know of it, which is all the audit log holds."""

    ref: str
    raised_on: date
    categories: list[str] = field(default_factory=list)
    named: bool = False  # the young person agreed to be contacted (their handle went only to the lead's chat)
    grouped_in: str = ""  # the reference of the grouped message it was posted in, if it was held for one
    acknowledged_on: date | None = None


def cases(store: Store) -> list[Case]:
    """Every alert raised, newest first."""
    with store.unit() as uow:
        records = evidence.records_of(uow, (RAISED, GROUPED, ACKNOWLEDGED))
    found: dict[str, Case] = {}
    groups: dict[str, str] = {}  # an alert's reference -> the grouped message's
    acks: list[tuple[str, date, bool]] = []
    for record in records:
        subject = _subject(record.subject)
        ref = str(subject.get("alert", ""))
        if not ref:
            continue
        if record.action == RAISED:
            case = found.setdefault(ref, Case(ref, record.on))
            category = str(subject.get("category", ""))
            if category and category not in case.categories:
                case.categories.append(category)
            case.named = case.named or bool(subject.get("consent"))
        elif record.action == GROUPED:
            for member in subject.get("alerts", []) if isinstance(subject.get("alerts"), list) else []:
                groups.setdefault(str(member), ref)
        else:
            acks.append((ref, record.on, bool(subject.get("named"))))
    for case in found.values():
        case.grouped_in = groups.get(case.ref, "")
        days = [on for ref, on, named in acks
                if (ref == case.ref and (named or not case.named)) or
                (not case.named and case.grouped_in and ref == case.grouped_in)]
        case.acknowledged_on = min(days) if days else None
    return list(reversed(found.values()))  # first raised, in the chain's order: newest first


def _subject(text: str) -> dict[str, Any]:
    try:
        subject = json.loads(text)
    except ValueError:
        return {}
    return subject if isinstance(subject, dict) else {}
