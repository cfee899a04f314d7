"""The plain-language check of a survey file's own words, for `surveybot surveys check`: warnings, never errors.

Young people's surveys are held to grade 6 and the glossary; practitioners' and partners' to grade 9. Every text a
respondent reads is checked: the intro, each question's text, hint, choices, scale labels and explanation, and the
thanks. Each warning names the file and the line of the field (a question's own line for its parts).
"""

from __future__ import annotations

import re

from bot.engine.survey import Audience, Survey
from bot.language.glossary import Glossary, check_text
from bot.services.surveyfiles import Problem


def _line_of(survey: Survey, key: str) -> int:
    for number, line in enumerate(survey.source.splitlines(), start=1):
        if re.match(rf"^{key}\s*:", line):
            return number
    return 1


def survey_texts(survey: Survey) -> list[tuple[int, str, str]]:
    """(line, what, text) for every piece of the survey a respondent reads."""
    texts = [(_line_of(survey, "intro"), "intro", survey.intro)]
    for q in survey.questions:
        texts.append((q.line, f"question `{q.id}`", q.text))
        for what, value in (("hint", q.hint), ("explanation", q.explanation), ("low label", q.low_label),
                            ("high label", q.high_label)):
            if value:
                texts.append((q.line, f"question `{q.id}` {what}", value))
        texts.extend((q.line, f"question `{q.id}` choice", choice) for choice in q.choices)
    texts.append((_line_of(survey, "thanks"), "thanks", survey.thanks))
    return texts


def survey_warnings(survey: Survey, glossary: Glossary) -> list[Problem]:
    young = survey.audience is Audience.YOUNG_PEOPLE
    warnings: list[Problem] = []
    for line, what, text in survey_texts(survey):
        for warning in check_text(text, glossary, young=young):
            warnings.append(Problem(survey.path, line, f"warning: {what} {warning}"))
    return warnings
