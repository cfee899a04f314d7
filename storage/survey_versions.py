"""Published survey versions: the exact text of every survey that collected answers, frozen once it has.

Functions over an open UnitOfWork, on the ORM session (these run at start-up and in reports, not per answer).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select as sa_select
from sqlmodel import col, select

from storage import results
from storage.models import Response, SurveyVersion
from storage.unit_of_work import UnitOfWork


def published(uow: UnitOfWork, survey_id: str, version: int) -> SurveyVersion | None:
    return uow.session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == survey_id, SurveyVersion.version == version)
    ).first()


def publish(uow: UnitOfWork, survey_id: str, version: int, title: str, audience: str, source: str,
            today: date) -> str:
    """Store a survey version's exact text. Returns "new", "same", "updated" or "frozen" (changed after answers)."""
    digest = results.digest(source)
    row = published(uow, survey_id, version)
    if row is None:
        uow.session.add(SurveyVersion(survey_id=survey_id, version=version, title=title, audience=audience,
                                      source=source, digest=digest, published_on=today))
        return "new"
    if row.digest == digest:
        return "same"
    if has_answers(uow, survey_id, version):
        return "frozen"
    row.source, row.digest, row.title, row.audience = source, digest, title, audience
    uow.session.add(row)
    return "updated"


def published_versions(uow: UnitOfWork, survey_id: str) -> list[SurveyVersion]:
    return list(uow.session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == survey_id).order_by(col(SurveyVersion.version))
    ))


def has_answers(uow: UnitOfWork, survey_id: str, version: int) -> bool:
    found = uow.session.exec(
        select(Response.id).where(Response.survey_id == survey_id, Response.version == version).limit(1)
    ).first()
    return found is not None


def listed(uow: UnitOfWork) -> list[tuple[str, int, str, str, date, bool]]:
    """Every published version of every survey, without its text: (survey id, version, title, audience, published
    on, whether it has answers), by id then version. A few rows per survey, each answer check one indexed row."""
    query = (sa_select(col(SurveyVersion.survey_id), col(SurveyVersion.version), col(SurveyVersion.title),
                       col(SurveyVersion.audience), col(SurveyVersion.published_on))
             .order_by(col(SurveyVersion.survey_id), col(SurveyVersion.version)))
    rows = uow.session.execute(query).all()
    return [(sid, int(version), title, audience, on, has_answers(uow, sid, int(version)))
            for sid, version, title, audience, on in rows]
