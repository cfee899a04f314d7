""""You said, we did" tables: feedback items, themes, replies and reactions, as functions over an open UnitOfWork.

Feedback items hold scrubbed words, the round and a date; nothing here knows a person. Replies go out through the
campaign outbox (storage.campaigns) to the round's completion list: participation rows, never the answers.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from storage.campaigns import REPLY_STEP
from storage.models import (
    Campaign,
    Contact,
    FeedbackItem,
    FeedbackTheme,
    Outbox,
    Participation,
    SurveyKey,
    SurveyVersion,
    WeDid,
    WeDidReaction,
)
from storage.unit_of_work import UnitOfWork


def reply_step(reply_id: int) -> str:
    return f"{REPLY_STEP}{reply_id}"


# --- feedback ---------------------------------------------------------------------------------------------------------

def add_item(uow: UnitOfWork, survey_id: str, wave: int, source: str, text: str, today: date,
             response_id: int | None = None) -> FeedbackItem:
    row = FeedbackItem(survey_id=survey_id, wave=wave, source=source, text=text, received_on=today,
                       response_id=response_id)
    uow.session.add(row)
    uow.session.flush()
    return row


def drop_items_of_response(uow: UnitOfWork, response_id: int) -> int:
    result = uow.session.execute(delete(FeedbackItem).where(col(FeedbackItem.response_id) == response_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def blank_items(uow: UnitOfWork, survey_id: str, wave: int) -> int:
    """Blank a round's feedback words when its raw free text is due to go (retention); returns how many."""
    result = uow.session.execute(update(FeedbackItem).where(
        col(FeedbackItem.survey_id) == survey_id, col(FeedbackItem.wave) == wave, col(FeedbackItem.text) != "",
    ).values(text=""))
    return int(result.rowcount)  # type: ignore[attr-defined]


def items(uow: UnitOfWork, survey_id: str | None = None, wave: int | None = None,
          new_only: bool = False) -> list[FeedbackItem]:
    query = select(FeedbackItem).order_by(col(FeedbackItem.id))
    if survey_id is not None:
        query = query.where(FeedbackItem.survey_id == survey_id)
    if wave is not None:
        query = query.where(FeedbackItem.wave == wave)
    if new_only:
        query = query.where(col(FeedbackItem.theme_id).is_(None))
    return list(uow.session.exec(query))


def items_by_id(uow: UnitOfWork, ids: list[int]) -> list[FeedbackItem]:
    return list(uow.session.exec(select(FeedbackItem).where(col(FeedbackItem.id).in_(ids))))


def youth_round_of(uow: UnitOfWork, lookup: str, audience: str) -> tuple[str, int] | None:
    """The newest round of a survey for `audience` that this contact is in (invited or started), or None."""
    youth = select(SurveyVersion.survey_id).where(SurveyVersion.audience == audience)
    row = uow.session.exec(
        select(Participation.survey_id, Participation.wave).join(Contact, col(Contact.id) == Participation.contact_id)
        .outerjoin(SurveyKey, (col(SurveyKey.survey_id) == Participation.survey_id)
                   & (col(SurveyKey.wave) == Participation.wave))
        .where(Contact.lookup == lookup, col(Participation.survey_id).in_(youth))
        # a destroyed round's rows were rewritten under new ids (storage.rounds.scramble_contact_side): live first
        .order_by(col(SurveyKey.destroyed_on).is_not(None), col(Participation.id).desc()).limit(1)).first()
    return (row[0], row[1]) if row is not None else None


# --- themes -----------------------------------------------------------------------------------------------------------

def theme_named(uow: UnitOfWork, survey_id: str, wave: int, name: str) -> FeedbackTheme | None:
    return uow.session.exec(select(FeedbackTheme).where(
        FeedbackTheme.survey_id == survey_id, FeedbackTheme.wave == wave, FeedbackTheme.name == name)).first()


def ensure_theme(uow: UnitOfWork, survey_id: str, wave: int, name: str, today: date) -> FeedbackTheme:
    row = theme_named(uow, survey_id, wave, name)
    if row is None:
        row = FeedbackTheme(survey_id=survey_id, wave=wave, name=name, created_on=today)
        uow.session.add(row)
        uow.session.flush()
    return row


def theme(uow: UnitOfWork, theme_id: int) -> FeedbackTheme | None:
    return uow.session.get(FeedbackTheme, theme_id)


def themes(uow: UnitOfWork, survey_id: str | None = None, wave: int | None = None) -> list[FeedbackTheme]:
    query = select(FeedbackTheme).order_by(col(FeedbackTheme.id))
    if survey_id is not None:
        query = query.where(FeedbackTheme.survey_id == survey_id)
    if wave is not None:
        query = query.where(FeedbackTheme.wave == wave)
    return list(uow.session.exec(query))


def set_theme(uow: UnitOfWork, item_ids: list[int], theme_id: int | None) -> None:
    uow.session.execute(update(FeedbackItem).where(col(FeedbackItem.id).in_(item_ids)).values(theme_id=theme_id))


def item_counts(uow: UnitOfWork, theme_ids: list[int]) -> dict[int, int]:
    rows = uow.session.exec(select(FeedbackItem.theme_id, func.count()).where(
        col(FeedbackItem.theme_id).in_(theme_ids)).group_by(col(FeedbackItem.theme_id)))
    return {int(t): int(n) for t, n in rows if t is not None}


# --- replies ----------------------------------------------------------------------------------------------------------

def add_reply(uow: UnitOfWork, theme_id: int, text: str, status: str, writer: str, today: date) -> WeDid:
    row = WeDid(theme_id=theme_id, text=text, status=status, written_by=writer, written_on=today)
    uow.session.add(row)
    uow.session.flush()
    return row


def reply(uow: UnitOfWork, reply_id: int) -> WeDid | None:
    return uow.session.get(WeDid, reply_id)


def replies(uow: UnitOfWork, theme_ids: list[int] | None = None) -> list[WeDid]:
    query = select(WeDid).order_by(col(WeDid.id))
    if theme_ids is not None:
        query = query.where(col(WeDid.theme_id).in_(theme_ids))
    return list(uow.session.exec(query))


def due_replies(uow: UnitOfWork, now: datetime) -> list[WeDid]:
    """Approved replies asked to be sent, whose time has come and which are not planned yet."""
    return list(uow.session.exec(select(WeDid).where(
        col(WeDid.approved_by).is_not(None), col(WeDid.send_after).is_not(None), col(WeDid.send_after) <= now,
        col(WeDid.planned_on).is_(None)).order_by(col(WeDid.id))))


def campaign_of_round(uow: UnitOfWork, survey_id: str) -> Campaign | None:
    """The newest campaign running the round's survey: its outbox carries the reply."""
    return uow.session.exec(select(Campaign).where(Campaign.survey_id == survey_id)
                            .order_by(col(Campaign.id).desc()).limit(1)).first()


def completers(uow: UnitOfWork, survey_id: str, wave: int) -> list[Contact]:
    """Everyone who completed the round, still reachable and opted in: from the completion list, not the answers."""
    return list(uow.session.exec(
        select(Contact).join(Participation, col(Participation.contact_id) == Contact.id)
        .where(Participation.survey_id == survey_id, Participation.wave == wave,
               col(Participation.completed).is_(True), col(Contact.opted_out).is_(False),
               col(Contact.unreachable).is_(False))
        .order_by(col(Contact.id))))


def was_sent(uow: UnitOfWork, reply_id: int, lookup: str) -> bool:
    """Did this person get this reply? Only they may react to it."""
    found = uow.session.exec(
        select(Outbox.id).join(Contact, col(Contact.id) == Outbox.contact_id)
        .where(Contact.lookup == lookup, Outbox.step == reply_step(reply_id), Outbox.status == "sent")).first()
    return found is not None


def sent_counts(uow: UnitOfWork, reply_ids: list[int]) -> dict[int, int]:
    steps = {reply_step(i): i for i in reply_ids}
    rows = uow.session.exec(select(Outbox.step, func.count()).where(
        col(Outbox.step).in_(list(steps)), Outbox.status == "sent").group_by(Outbox.step))
    return {steps[step]: int(n) for step, n in rows}


# --- reactions --------------------------------------------------------------------------------------------------------

def react(uow: UnitOfWork, reply_id: int, voter: str, kind: str, today: date) -> str:
    """Store a reaction; "new", "changed" or "same" (a double tap)."""
    row = uow.session.exec(select(WeDidReaction).where(
        WeDidReaction.reply_id == reply_id, WeDidReaction.voter == voter)).first()
    if row is None:
        uow.session.add(WeDidReaction(reply_id=reply_id, voter=voter, kind=kind, reacted_on=today))
        uow.session.flush()
        return "new"
    if row.kind == kind:
        return "same"
    row.kind, row.reacted_on = kind, today
    uow.session.add(row)
    return "changed"


def reaction_counts(uow: UnitOfWork, reply_ids: list[int]) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = {i: Counter() for i in reply_ids}
    rows = uow.session.exec(select(WeDidReaction.reply_id, WeDidReaction.kind, func.count()).where(
        col(WeDidReaction.reply_id).in_(reply_ids)).group_by(col(WeDidReaction.reply_id), col(WeDidReaction.kind)))
    for reply_id, kind, n in rows:
        counts[reply_id][kind] = int(n)
    return counts
