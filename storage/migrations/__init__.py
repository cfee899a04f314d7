"""Alembic migrations for the surveybot schema."""
