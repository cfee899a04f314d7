"""Personal links from email invitations (bot.services.invitations): functions over an open UnitOfWork.

A row holds a keyed hash of a link's token, never the token itself, and the keyed contact lookup it opens for. An
`invite` link belongs to one campaign round and is deleted when that round's key is destroyed (with it the token
could not be made again anyway). A `stop` link (the unsubscribe link) belongs to the contact alone.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, text
from sqlmodel import col

from storage.models import PersonalLink
from storage.unit_of_work import UnitOfWork

INVITE, STOP = "invite", "stop"
KEEP = text("INSERT INTO personal_link (digest, kind, lookup, campaign_id, survey_id, wave, made_on) "
            "VALUES (:digest, :kind, :lookup, :campaign_id, :survey_id, :wave, :today) ON CONFLICT DO NOTHING")


def keep(uow: UnitOfWork, digest: str, kind: str, lookup: str, today: date, campaign_id: int | None = None,
         survey_id: str | None = None, wave: int | None = None) -> None:
    """Remember a link (again: the same person's link for the same round is the same token, so this is a no-op)."""
    uow.session.connection().execute(KEEP, {"digest": digest, "kind": kind, "lookup": lookup, "today": today,
                                            "campaign_id": campaign_id, "survey_id": survey_id, "wave": wave})


def find(uow: UnitOfWork, digest: str) -> PersonalLink | None:
    return uow.session.get(PersonalLink, digest)


def forget_round(uow: UnitOfWork, survey_id: str, wave: int) -> int:
    """The round's key is destroyed: its invitation links die with it."""
    result = uow.session.execute(delete(PersonalLink).where(
        col(PersonalLink.kind) == INVITE, col(PersonalLink.survey_id) == survey_id, col(PersonalLink.wave) == wave))
    return int(result.rowcount)  # type: ignore[attr-defined]
