"""The codebook that travels with every export: what each column holds, in the exact words that were asked.

One row per column per survey version, taken from the text as published (bot.reading.published_versions), so a
scrutineer can read a cell and know which question, which wording and which options produced it, even when the
wording changed between versions. The fixed columns (survey_id, version, wave, completed_on) come first.
"""

from __future__ import annotations

from bot.engine.survey import Kind, Question, Survey

HEADER = ("column", "version", "question_id", "kind", "wording", "options", "correct_answer", "range",
          "optional", "asked_only_if", "breakdown")

KIND_WORDS = {
    Kind.SINGLE: "single choice",
    Kind.MULTI: "multiple choice (answers joined with '; ')",
    Kind.YESNO: "yes/no",
    Kind.SCALE: "scale",
    Kind.NUMBER: "number",
    Kind.TEXT: "free text (scrubbed of identifiers before it was stored)",
    Kind.KNOWLEDGE: "knowledge check",
}

FIXED = (
    ("survey_id", "The survey's id."),
    ("version", "The version of the survey this person answered; each version's wording is listed below."),
    ("wave", "The survey round (wave) the response belongs to."),
    ("completed_on", "The date the response was completed (a date only, never a time)."),
)


def rows(versions: list[Survey]) -> list[dict[str, str]]:
    """Every codebook row: the fixed columns, then each version's columns in the order they were asked."""
    listed = [{**dict.fromkeys(HEADER, ""), "column": column, "version": "all", "wording": wording}
              for column, wording in FIXED]
    for survey in sorted(versions, key=lambda s: s.version):
        for question in survey.questions:
            listed.append(_question_row(survey.version, question))
            if question.other:
                listed.append({**dict.fromkeys(HEADER, ""), "column": question.other_id,
                               "version": str(survey.version), "question_id": question.id,
                               "kind": KIND_WORDS[Kind.TEXT],
                               "wording": f"The words typed after \"Other, please say\" in {question.id}.",
                               "optional": "yes", "asked_only_if": f"{question.id} includes \"Other, please say\""})
    return listed


def _question_row(version: int, question: Question) -> dict[str, str]:
    low_high = ""
    if question.kind is Kind.SCALE:
        low_high = (f"{_number(question.low)} ({question.low_label or 'lowest'}) to "
                    f"{_number(question.high)} ({question.high_label or 'highest'})")
    elif question.kind is Kind.NUMBER:
        low_high = f"{_number(question.low)} to {_number(question.high)}" + (
            " (whole numbers)" if question.integer else "")
    elif question.kind is Kind.TEXT:
        low_high = f"up to {question.max_length} characters"
    condition = ""
    if question.ask_if is not None:
        condition = f"{question.ask_if.question} is " + " or ".join(f"\"{a}\"" for a in question.ask_if.answers)
    return {
        "column": question.id,
        "version": str(version),
        "question_id": question.id,
        "kind": KIND_WORDS[question.kind],
        "wording": question.text,
        "options": " | ".join(question.options()) if question.kind is not Kind.SCALE else "",
        "correct_answer": question.correct or "",
        "range": low_high,
        "optional": "yes" if question.optional else "no",
        "asked_only_if": condition,
        "breakdown": question.breakdown or "",
    }


def _number(value: int | float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)
