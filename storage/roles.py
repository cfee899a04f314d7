"""Role grants, found by the keyed contact lookup (never a platform id). Functions over an open UnitOfWork."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete
from sqlmodel import col, select

from storage.models import RoleGrant
from storage.unit_of_work import UnitOfWork


def grant(uow: UnitOfWork, role: str, lookup: str, sealed_address: str, today: date) -> bool:
    """False when the grant already exists."""
    if has(uow, role, lookup):
        return False
    uow.session.add(RoleGrant(role=role, lookup=lookup, address=sealed_address, granted_on=today))
    uow.session.flush()
    return True


def revoke(uow: UnitOfWork, role: str, lookup: str) -> bool:
    """False when there was no such grant."""
    result = uow.session.execute(delete(RoleGrant).where(col(RoleGrant.role) == role,
                                                         col(RoleGrant.lookup) == lookup))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def has(uow: UnitOfWork, role: str, lookup: str) -> bool:
    found = uow.session.exec(select(RoleGrant.id).where(RoleGrant.role == role, RoleGrant.lookup == lookup)).first()
    return found is not None


def grants(uow: UnitOfWork, role: str | None = None) -> list[RoleGrant]:
    query = select(RoleGrant).order_by(col(RoleGrant.role), col(RoleGrant.id))
    if role is not None:
        query = query.where(RoleGrant.role == role)
    return list(uow.session.exec(query))
