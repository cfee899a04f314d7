"""Everything `surveybot surveys check` checks, in one place, so the command line and the web console's survey
editor find exactly the same problems.

Errors: every survey file (each problem with its line), survey ids across files, and the safeguarding phrase list
and language glossary in use. Warnings (worth fixing, never a reason to refuse): the plain-language check of every
survey's own words (bot.language.surveys), made only when the glossary could be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.engine.survey import Survey
from bot.language.glossary import Glossary, load_glossary
from bot.language.surveys import survey_warnings
from bot.services.problems import Problem, SurveyFileError
from bot.services.safeguarding.phrases import load_phrases
from bot.services.surveyfiles import check_files


@dataclass(frozen=True)
class Checked:
    surveys: list[Survey]
    problems: list[Problem]
    warnings: list[Problem]


def check_surveys(paths: Iterable[Path], phrases: Path | None = None, glossary: Path | None = None,
                  texts: Iterable[tuple[str, str]] = ()) -> Checked:
    """Check survey files (and `texts`, survey files not yet written: see bot.services.surveyfiles.check_files),
    with the phrase list and glossary at the given paths (None: the shipped ones)."""
    surveys, problems = check_files(paths, texts)
    loaded_glossary: Glossary | None = None
    try:
        load_phrases(phrases)
    except SurveyFileError as exc:
        problems.extend(exc.problems)
    try:
        loaded_glossary = load_glossary(glossary)
    except SurveyFileError as exc:
        problems.extend(exc.problems)
    warnings = ([w for s in surveys for w in survey_warnings(s, loaded_glossary)]
                if loaded_glossary is not None else [])
    return Checked(surveys, problems, warnings)
