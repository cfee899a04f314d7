"""Typed answers: what a message someone typed means for the question asked, or the kind re-ask to send instead,
and how an answer is said back to them.

Apart from the step rules because this is the part that reads input from outside: everything here is a pure
function of the words and the question, tested with Hypothesis (tests/test_engine_properties.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.engine import messages as msg
from bot.engine.state import Value
from bot.engine.survey import NO, OTHER_LABEL, YES, Kind, Question

# control and invisible direction characters, and lone surrogates (JSON may carry "\ud800", which no database or
# UTF-8 file can store)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Typed text as we keep it: normalised, without control or invisible direction characters, trimmed."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


@dataclass(frozen=True)
class Parsed:
    value: Value


@dataclass(frozen=True)
class Problem:
    message: str


def parse_answer(question: Question, text: str) -> Parsed | Problem:
    """What a typed message means for this question, or the kind re-ask to send instead."""
    cleaned = clean_text(text)
    options = question.options()
    if question.kind is Kind.TEXT:
        if not cleaned:
            return Problem(msg.EMPTY_TEXT)
        if len(cleaned) > question.max_length:
            return Problem(msg.TOO_LONG.format(length=len(cleaned), limit=question.max_length))
        return Parsed(cleaned)
    if question.kind is Kind.NUMBER:
        return _parse_number(question, cleaned)
    if question.kind is Kind.SCALE:
        assert question.low is not None and question.high is not None
        number = _parse_number(question, cleaned)
        if isinstance(number, Problem) or not isinstance(number.value, int):
            return Problem(msg.SCALE_RANGE.format(low=int(question.low), high=int(question.high)))
        return number
    if question.kind is Kind.YESNO:
        choice = match_yes_no(cleaned)
        return Problem(msg.YES_OR_NO) if choice is None else Parsed((YES, NO)[choice])
    if question.kind is Kind.MULTI:
        picks = _match_many(cleaned, options)
        if picks is None:
            return Problem(msg.CHOOSE_SOME)
        return Parsed([options[i] for i in picks])
    index = match_label(cleaned, options)
    return Problem(msg.CHOOSE_ONE) if index is None else Parsed(options[index])


def number_rule(question: Question) -> str:
    template = msg.WHOLE_NUMBER if question.integer else msg.ANY_NUMBER
    return template.format(low=show_answer(question.low), high=show_answer(question.high))


_NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d{1,12})(\.\d{1,6})?$")


def _parse_number(question: Question, text: str) -> Parsed | Problem:
    assert question.low is not None and question.high is not None
    raw = text.replace(" ", "")
    if not _NUMBER.match(raw) or (question.integer and "." in raw):
        return Problem(number_rule(question))
    number: int | float = float(raw.replace(",", "")) if "." in raw else int(raw.replace(",", ""))
    if not question.low <= number <= question.high:
        return Problem(number_rule(question))
    return Parsed(number)


_YES_WORDS = frozenset({"y", "yes", "yeah", "yep", "yup", "ok", "okay", "sure", "1"})
_NO_WORDS = frozenset({"n", "no", "nope", "nah", "2"})


def match_yes_no(text: str) -> int | None:
    word = text.strip().casefold().rstrip(".!")
    if word in _YES_WORDS:
        return 0
    if word in _NO_WORDS:
        return 1
    return None


def match_label(text: str, options: tuple[str, ...]) -> int | None:
    """An option by its number (1-based) or by its exact words, ignoring case."""
    word = text.strip().casefold().rstrip(".")
    if word.isdigit() and word.isascii():
        number = int(word)
        return number - 1 if 1 <= number <= len(options) else None
    for index, option in enumerate(options):
        if option.casefold() == word:
            return index
    return None


def _match_many(text: str, options: tuple[str, ...]) -> list[int] | None:
    whole = match_label(text, options)
    if whole is not None:
        return [whole]
    parts = [part for part in re.split(r"[,;\s]+" if re.fullmatch(r"[\d,;\s]+", text) else r"[,;]", text)
             if part.strip()]
    picks = [match_label(part, options) for part in parts]
    if not picks or any(p is None for p in picks):
        return None
    return sorted({p for p in picks if p is not None})


def show_answer(value: object) -> str:
    """An answer as it is said back: on the question it answered, and as the answer given before when reopened."""
    if value is None:
        return msg.SKIPPED
    if isinstance(value, list):
        return _listed([msg.SOMETHING_ELSE if v == OTHER_LABEL else str(v) for v in value])
    if value == OTHER_LABEL:
        return msg.SOMETHING_ELSE
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _listed(items: list[str]) -> str:
    """Ticked options as a person would say them back: "A, B and something else". The options' own commas would
    make a plain comma list ambiguous, so the last one is joined with "and"."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
