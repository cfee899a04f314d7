"""Tests for surveybot."""
