"""The "Language that cares" glossary (glossary.yaml, or a partnership's edited copy), and the plain-language check
that uses it: `check_text` says what is wrong with one piece of text a young person (or a practitioner) will read.

Rules, from shared notes on young people and docs/safeguarding.md:
* young people: Flesch-Kincaid grade 6 or below; practitioners: grade 9 or below;
* no sentence over 20 words;
* no glossary word (whole words, any case), with the kinder word suggested.

The grade is only judged on a text of at least MIN_WORDS_FOR_GRADE words: the formula means nothing on a button
label ("Safeguarding" alone would score grade 30), while its sentences and words are still checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from bot.language.readability import reading, sentences, words
from bot.services.surveyfiles import Problem, SurveyFileError

YOUNG_GRADE = 6.0
ADULT_GRADE = 9.0
LONGEST_SENTENCE = 20
MIN_WORDS_FOR_GRADE = 10
SHIPPED = "glossary.yaml"


class GlossaryError(SurveyFileError):
    """The glossary file has problems, reported as `file:line: message`."""


@dataclass(frozen=True)
class Glossary:
    terms: tuple[tuple[str, str, re.Pattern[str]], ...]  # (term, kinder word, whole-word pattern)

    @classmethod
    def of(cls, pairs: dict[str, str]) -> Glossary:
        ordered = sorted(pairs.items(), key=lambda item: -len(item[0]))  # "care leavers" before "care leaver"
        return cls(tuple((term, kinder, re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE))
                         for term, kinder in ordered))

    def uses(self, text: str) -> list[tuple[str, str]]:
        """The glossary terms a text uses, with their kinder words; a longer term hides the shorter one inside it."""
        found: list[tuple[str, str]] = []
        taken: list[tuple[int, int]] = []
        for term, kinder, pattern in self.terms:
            for hit in pattern.finditer(text):
                if not any(a <= hit.start() < b for a, b in taken):
                    taken.append(hit.span())
                    if (term, kinder) not in found:
                        found.append((term, kinder))
        return found


def shipped_path() -> Path:
    return Path(str(resources.files("bot.language").joinpath(SHIPPED)))


def load_glossary(path: Path | None = None) -> Glossary:
    """The glossary at `path` (the shipped one when None). Raises GlossaryError naming the file and line."""
    path = path or shipped_path()
    where = str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise GlossaryError([Problem(where, 0, f"cannot read the glossary: {reason}")]) from None
    try:
        root = yaml.compose(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise GlossaryError([Problem(where, mark.line + 1 if mark else 1, "this is not valid YAML")]) from None
    if not isinstance(root, yaml.MappingNode):
        raise GlossaryError([Problem(where, 1, "the glossary should be `word: kinder word` lines")])
    pairs: dict[str, str] = {}
    problems: list[Problem] = []
    for key, value in root.value:
        line = key.start_mark.line + 1
        if not (isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode)) or not (
                key.value.strip() and value.value.strip()):
            problems.append(Problem(where, line, "each line should be `word or phrase: kinder word`"))
        elif key.value.strip().casefold() in {k.casefold() for k in pairs}:
            problems.append(Problem(where, line, f"`{key.value}` is listed twice"))
        else:
            pairs[key.value.strip()] = value.value.strip()
    if problems:
        raise GlossaryError(problems)
    return Glossary.of(pairs)


def check_text(text: str, glossary: Glossary, young: bool = True) -> list[str]:
    """What is hard or unkind in one text, as short warnings (empty when it is fine)."""
    warnings: list[str] = []
    limit = YOUNG_GRADE if young else ADULT_GRADE
    measured = reading(text)
    if measured.words >= MIN_WORDS_FOR_GRADE and measured.grade > limit:
        warnings.append(f"reads at grade {measured.grade:.1f}; aim for {limit:.0f} or below (shorter sentences, "
                        "shorter words)")
    for sentence in sentences(text):
        count = len(words(sentence))
        if count > LONGEST_SENTENCE:
            warnings.append(f"a sentence has {count} words; keep each to {LONGEST_SENTENCE} or fewer: "
                            f"“{sentence[:60]}…”")
    if young:
        for term, kinder in glossary.uses(text):
            warnings.append(f"uses “{term}”; say “{kinder}” instead")
    return warnings
