"""A problem found in a file someone edits (a survey, the safeguarding phrase list, the glossary), reported as
`file:line: message` so an editor or grep can go straight to it.

One module for the type, because every file the business unit writes is checked the same way and `surveybot surveys
check` prints them all alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class SurveyFileError(Exception):
    """A survey file has problems; the bot refuses to load it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
