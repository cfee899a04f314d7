"""Anonymous web starts that were never finished: forgotten after a while (bot.services.retention).

A person on the open web link becomes a contact (keyed lookup, sealed address) with a participation row when they
agree to take part. Nobody can invite or remind them, so once they have not finished any round for a while the
rows serve nothing and are deleted. A finished round keeps its contact: "you said" feedback and /delete's answer
("your answers are anonymous now") need to know which rounds they took part in.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete
from sqlmodel import col, select

from storage.models import Contact, Outbox, Participation
from storage.unit_of_work import UnitOfWork


def forget_unfinished(uow: UnitOfWork, joined_before: date) -> int:
    """Delete web contacts who joined before `joined_before` and have finished no round, with their participation
    rows; returns how many contacts went."""
    finished = select(Participation.contact_id).where(col(Participation.completed))
    planned = select(Outbox.contact_id)
    stale = list(uow.session.exec(select(Contact.id).where(
        Contact.channel == "web", col(Contact.joined_on) < joined_before,
        col(Contact.id).not_in(finished), col(Contact.id).not_in(planned))))
    if not stale:
        return 0
    uow.session.execute(delete(Participation).where(col(Participation.contact_id).in_(stale)))
    uow.session.execute(delete(Contact).where(col(Contact.id).in_(stale)))
    return len(stale)
