"""Persistence for surveybot. Imports nothing from bot/: the dependency runs one way."""
