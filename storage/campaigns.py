"""Campaigns, their audiences and the outbox: functions over an open UnitOfWork, sharing its transaction.

Steps are claimed with a unique row (campaign, wave, step), so a restart or a second process cannot run one twice.
Messages are planned as outbox rows and committed before any is sent; a sender leases one row at a time
(`claimed_until`, and FOR UPDATE SKIP LOCKED on PostgreSQL so two senders never take the same row), sends, and marks it.
A crash between sending and marking can repeat that one message when the lease runs out: at most one per crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, func, text, update
from sqlmodel import col, select

from storage import contacts as store_contacts
from storage.models import Campaign, CampaignStep, Contact, Outbox, Participation
from storage.unit_of_work import UnitOfWork

LOOKUPS_PER_SELECT = 1000  # under every SQLite build's limit on a statement's parameters
REPLY_STEP = "wedid-"  # the outbox step of a "we did" reply (storage.yousaid), sent to a round's completers

CLAIM_STEP = text("INSERT INTO campaign_step (campaign_id, wave, step, run_on, planned) "
                  "VALUES (:campaign_id, :wave, :step, :today, 0) ON CONFLICT DO NOTHING RETURNING step")
PLAN = text("INSERT INTO outbox (campaign_id, wave, step, contact_id, channel, status, attempts) "
            "VALUES (:campaign_id, :wave, :step, :contact_id, :channel, 'pending', 0) ON CONFLICT DO NOTHING")


@dataclass(frozen=True)
class Lease:
    outbox_id: int
    campaign_id: int
    wave: int
    step: str
    contact_id: int
    sealed_address: str


# --- contacts ---------------------------------------------------------------------------------------------------------

def tags_of(contact: Contact) -> list[str]:
    return list(json.loads(contact.tags))


def upsert_contact(uow: UnitOfWork, lookup: str, channel: str, sealed: str, tags: Iterable[str],
                   today: date) -> tuple[Contact, bool]:
    """Add a contact, or add tags to an existing one; returns (contact, created)."""
    created = store_contacts.find(uow, lookup) is None
    row = uow.session.get(Contact, store_contacts.ensure(uow, lookup, channel, sealed, today))
    assert row is not None
    merged = sorted(set(tags_of(row)) | set(tags))
    if merged != tags_of(row):
        row.tags = json.dumps(merged)
        uow.session.add(row)
        uow.session.flush()
    return row, created


def upsert_contacts(uow: UnitOfWork, batch: Sequence[tuple[str, str, str, Iterable[str]]], today: date) -> int:
    """Add or tag many contacts (lookup, channel, sealed address, tags) in a few statements, for `contacts import`,
    which streams a file through here a batch at a time inside one transaction; returns how many were new.

    Built for a million rows: no ORM objects (the session would hold them all), the driver's own executemany
    (SQLAlchemy's per-row work was most of the time), and new rows inserted in lookup order, so the unique index on
    the (random) lookup is written page by page rather than all over, with a larger page cache on SQLite."""
    wanted: dict[str, tuple[str, str, set[str]]] = {}
    for lookup, channel, sealed, tags in batch:
        if lookup in wanted:
            wanted[lookup][2].update(tags)
        else:
            wanted[lookup] = (channel, sealed, set(tags))
    table = Contact.__table__  # type: ignore[attr-defined]
    lookups = list(wanted)
    found = {row.lookup: (row.id, row.tags)
             for start in range(0, len(lookups), LOOKUPS_PER_SELECT)
             for row in uow.session.execute(select(table.c.id, table.c.lookup, table.c.tags).where(
                 table.c.lookup.in_(lookups[start:start + LOOKUPS_PER_SELECT])))}
    changed = []
    for lookup, (contact_id, stored) in found.items():
        merged = sorted(set(json.loads(stored)) | wanted[lookup][2])
        if merged != json.loads(stored):
            changed.append({"contact_id": contact_id, "merged": json.dumps(merged)})
    if changed:
        uow.session.execute(update(table).where(table.c.id == bindparam("contact_id"))
                            .values(tags=bindparam("merged")), changed)
    connection = uow.session.connection()
    sqlite = connection.dialect.paramstyle == "qmark"
    day: object = today.isoformat() if sqlite else today  # SQLite keeps dates as ISO text
    new = [(channel, lookup, sealed, json.dumps(sorted(tags)), False, False, day)
           for lookup, (channel, sealed, tags) in sorted(wanted.items()) if lookup not in found]
    if new:
        cursor = connection.connection.cursor()
        try:
            if sqlite:
                cursor.execute("PRAGMA cache_size = -32768")  # 32 MB, for this connection (one CLI command)
            mark = "?" if sqlite else "%s"
            cursor.executemany("INSERT INTO contact (channel, lookup, address, tags, opted_out, unreachable, "
                               f"joined_on) VALUES ({', '.join([mark] * 7)})", new)
        finally:
            cursor.close()
    return len(new)


def set_tags(uow: UnitOfWork, contact_id: int, add: Iterable[str], remove: Iterable[str]) -> Contact | None:
    row = uow.session.get(Contact, contact_id)
    if row is None:
        return None
    row.tags = json.dumps(sorted((set(tags_of(row)) | set(add)) - set(remove)))
    uow.session.add(row)
    return row


def contacts(uow: UnitOfWork, tag: str | None = None) -> list[Contact]:
    rows = list(uow.session.exec(select(Contact).order_by(col(Contact.id))))
    return [r for r in rows if tag is None or tag in tags_of(r)]


def opt_out(uow: UnitOfWork, lookup: str) -> bool:
    result = uow.session.execute(update(Contact).where(col(Contact.lookup) == lookup).values(opted_out=True))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- campaigns --------------------------------------------------------------------------------------------------------

def by_code(uow: UnitOfWork, code: str) -> Campaign | None:
    return uow.session.exec(select(Campaign).where(Campaign.code == code)).first()


def all_campaigns(uow: UnitOfWork, running_only: bool = False) -> list[Campaign]:
    query = select(Campaign).order_by(col(Campaign.id))
    if running_only:
        query = query.where(col(Campaign.stopped).is_(False))
    return list(uow.session.exec(query))


def claim_step(uow: UnitOfWork, campaign_id: int, wave: int, step: str, today: date) -> bool:
    found = uow.session.connection().execute(CLAIM_STEP, {"campaign_id": campaign_id, "wave": wave, "step": step,
                                                          "today": today}).first()
    return found is not None


def steps_run(uow: UnitOfWork, campaign_id: int) -> list[CampaignStep]:
    return list(uow.session.exec(select(CampaignStep).where(CampaignStep.campaign_id == campaign_id)
                                 .order_by(col(CampaignStep.wave), col(CampaignStep.run_on))))


def audience(uow: UnitOfWork, campaign: Campaign, wave: int, reminder: bool) -> list[Contact]:
    """Who a step goes to. An invitation: every reachable, opted-in contact with one of the campaign's tags (all when
    it has none) on one of its channels. A reminder: those invited to this wave who have not completed it and have
    not had the most reminders allowed."""
    tags, channels = set(json.loads(campaign.tags)), set(json.loads(campaign.channels))
    query = select(Contact).where(col(Contact.opted_out).is_(False), col(Contact.unreachable).is_(False))
    chosen = [c for c in uow.session.exec(query)
              if (not tags or tags & set(tags_of(c))) and (not channels or c.channel in channels)]
    if not reminder:
        return chosen
    status = {p.contact_id: p for p in uow.session.exec(select(Participation).where(
        Participation.survey_id == campaign.survey_id, Participation.wave == wave))}
    return [c for c in chosen if c.id in status and status[c.id].invited and not status[c.id].completed
            and status[c.id].reminders < campaign.max_reminders]


def plan(uow: UnitOfWork, campaign: Campaign, wave: int, step: str, people: Iterable[Contact]) -> int:
    rows = [{"campaign_id": campaign.id, "wave": wave, "step": step, "contact_id": c.id, "channel": c.channel}
            for c in people]
    if rows:
        uow.session.connection().execute(PLAN, rows)
    uow.session.execute(update(CampaignStep).where(
        col(CampaignStep.campaign_id) == campaign.id, col(CampaignStep.wave) == wave, col(CampaignStep.step) == step,
    ).values(planned=len(rows)))
    return len(rows)


def lease_next(uow: UnitOfWork, channel: str, now: datetime, lease: timedelta) -> Lease | None:
    """Take the next pending message for `channel` whose lease (if any) has run out. Leases are kept in UTC."""
    now = now.astimezone(UTC)
    query = (select(Outbox).where(Outbox.channel == channel, Outbox.status == "pending")
             .where((col(Outbox.claimed_until).is_(None)) | (col(Outbox.claimed_until) < now))
             .order_by(col(Outbox.id)).limit(1))
    if uow.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = uow.session.exec(query).first()
    if row is None:
        return None
    row.claimed_until, row.attempts = now + lease, row.attempts + 1
    uow.session.add(row)
    contact = uow.session.get(Contact, row.contact_id)
    assert row.id is not None and contact is not None
    return Lease(row.id, row.campaign_id, row.wave, row.step, row.contact_id, contact.address)


def finish(uow: UnitOfWork, lease: Lease, status: str, survey_id: str) -> None:
    """Mark a leased message `sent`, `unreachable` or `skipped`; a sent one updates the person's participation."""
    uow.session.execute(update(Outbox).where(col(Outbox.id) == lease.outbox_id).values(status=status))
    if status == "unreachable":
        uow.session.execute(update(Contact).where(col(Contact.id) == lease.contact_id).values(unreachable=True))
    if status != "sent" or lease.step.startswith(REPLY_STEP):  # a "we did" reply is not an invitation
        return
    # one upsert: the person may be starting the survey in this very moment, making the same row
    store_contacts.mark_sent(uow, lease.contact_id, survey_id, lease.wave, reminder=lease.step != "invite")


def release(uow: UnitOfWork, lease: Lease) -> None:
    """Give a message back (the platform asked us to wait): it will be taken again."""
    uow.session.execute(update(Outbox).where(col(Outbox.id) == lease.outbox_id).values(claimed_until=None))


def contact_is_current(uow: UnitOfWork, contact_id: int) -> bool:
    """Still reachable and opted in, checked again just before sending."""
    row = uow.session.get(Contact, contact_id)
    return row is not None and not row.opted_out and not row.unreachable


def outbox_counts(uow: UnitOfWork, campaign_id: int, wave: int | None = None) -> dict[tuple[str, str], int]:
    """(step, status) -> count."""
    query = select(Outbox.step, Outbox.status, func.count()).where(Outbox.campaign_id == campaign_id)
    if wave is not None:
        query = query.where(Outbox.wave == wave)
    return {(step, status): int(n) for step, status, n in uow.session.exec(query.group_by(Outbox.step, Outbox.status))}


def participation_counts(uow: UnitOfWork, survey_id: str, wave: int) -> dict[str, int]:
    rows = list(uow.session.exec(select(Participation).where(
        Participation.survey_id == survey_id, Participation.wave == wave)))
    return {"invited": sum(r.invited for r in rows), "started": sum(r.started for r in rows),
            "completed": sum(r.completed for r in rows)}


def pending(uow: UnitOfWork) -> int:
    return int(uow.session.exec(select(func.count()).select_from(Outbox).where(Outbox.status == "pending")).one())
