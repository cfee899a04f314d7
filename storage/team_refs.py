"""The Teams teams the bot was added to (bot.services.contacts keeps them, bot.services.contact_book finds them):
functions over an open UnitOfWork. A row holds keyed hashes of the team's id and name and its sealed reference,
never the id or the name as such.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func
from sqlmodel import col, select

from storage.models import TeamRef
from storage.unit_of_work import UnitOfWork


def keep(uow: UnitOfWork, lookup: str, named: str | None, sealed: str, today: date) -> None:
    """Add the team, or refresh its reference (moved to another service URL) and its name (renamed); `named` is None
    when the activity said no name, which leaves the one known (a new team is then found by its id alone)."""
    row = uow.session.exec(select(TeamRef).where(TeamRef.lookup == lookup)).first()
    if row is None:
        row = TeamRef(lookup=lookup, named=named or lookup, address=sealed, kept_on=today)
    else:
        row.named, row.address, row.kept_on = named or row.named, sealed, today
    uow.session.add(row)
    uow.session.flush()


def forget(uow: UnitOfWork, lookup: str) -> None:
    uow.session.execute(delete(TeamRef).where(col(TeamRef.lookup) == lookup))


def found(uow: UnitOfWork, lookup: str, named: str) -> list[str]:
    """The sealed references of the teams whose id hashes to `lookup` or whose name hashes to `named`."""
    return list(uow.session.execute(select(col(TeamRef.address)).where(
        (col(TeamRef.lookup) == lookup) | (col(TeamRef.named) == named)).order_by(col(TeamRef.id))).scalars())


def count(uow: UnitOfWork) -> int:
    return int(uow.session.execute(select(func.count()).select_from(TeamRef)).scalar_one())
