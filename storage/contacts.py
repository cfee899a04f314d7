"""Contacts (the people campaigns can reach, by a keyed lookup and a sealed address) and their participation.

Functions over an open UnitOfWork. Participation says who started or finished a round, for reminders only: it is never
linked to the answers. The statements the answer path runs are plain SQL on the driver's cursor (storage.sql); tags,
audiences and opting out are in storage.campaigns.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import col, select

from storage.models import Contact
from storage.sql import Sql
from storage.unit_of_work import UnitOfWork

# Both SQLite (3.35+) and PostgreSQL speak this SQL.
SELECT_CONTACT = Sql("SELECT id FROM contact WHERE lookup = :lookup")
INSERT_CONTACT = Sql(
    "INSERT INTO contact (channel, lookup, address, tags, opted_out, unreachable, joined_on) "
    "VALUES (:channel, :lookup, :address, '[]', false, false, :today) RETURNING id")
MARK_PARTICIPATION = Sql(
    "INSERT INTO participation (contact_id, survey_id, wave, invited, started, completed, reminders) "
    "VALUES (:contact_id, :survey_id, :wave, false, true, :completed, 0) "
    "ON CONFLICT (contact_id, survey_id, wave) DO UPDATE SET started = true, "
    "completed = participation.completed OR excluded.completed")
MARK_SENT = Sql(
    "INSERT INTO participation (contact_id, survey_id, wave, invited, started, completed, reminders) "
    "VALUES (:contact_id, :survey_id, :wave, :invited, false, false, :reminders) "
    "ON CONFLICT (contact_id, survey_id, wave) DO UPDATE SET invited = participation.invited OR excluded.invited, "
    "reminders = participation.reminders + excluded.reminders")


def find(uow: UnitOfWork, lookup: str) -> Contact | None:
    return uow.session.exec(select(Contact).where(Contact.lookup == lookup)).first()


def ensure(uow: UnitOfWork, lookup: str, channel: str, sealed_address: str, today: date) -> int:
    """The contact's id, adding the contact (with no tags) the first time they are seen."""
    found = uow.run(SELECT_CONTACT, {"lookup": lookup}).fetchone()
    if found is not None:
        return int(found[0])
    made = uow.run(INSERT_CONTACT, {"channel": channel, "lookup": lookup, "address": sealed_address,
                                    "today": today}).fetchone()
    return int(made[0])


def readdress(uow: UnitOfWork, lookup: str, sealed_address: str) -> None:
    """A contact's sealed address written again: how to reach them changed (a Teams route), who they are did not."""
    uow.session.execute(update(Contact).where(col(Contact.lookup) == lookup).values(address=sealed_address))


def mark_unreachable(uow: UnitOfWork, lookup: str) -> None:
    uow.session.execute(update(Contact).where(col(Contact.lookup) == lookup).values(unreachable=True))


def mark_participation(uow: UnitOfWork, contact_id: int, survey_id: str, wave: int, completed: bool) -> None:
    """Started (and perhaps finished) this round: for reminders only, never linked to the answers."""
    uow.run(MARK_PARTICIPATION, {"contact_id": contact_id, "survey_id": survey_id, "wave": wave,
                                 "completed": completed})


def mark_sent(uow: UnitOfWork, contact_id: int, survey_id: str, wave: int, reminder: bool) -> None:
    """An invitation (or a reminder) went to this contact for this round. An upsert, like mark_participation,
    because the person may be starting the survey at the same moment in another transaction."""
    uow.run(MARK_SENT, {"contact_id": contact_id, "survey_id": survey_id, "wave": wave,
                        "invited": not reminder, "reminders": 1 if reminder else 0})
