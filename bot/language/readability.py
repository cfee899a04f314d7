"""Reading level, computed offline: syllables, sentences and the Flesch-Kincaid grade. Pure functions.

Flesch-Kincaid grade = 0.39 x (words per sentence) + 11.8 x (syllables per word) - 15.59.

Syllables are counted by rule, not looked up, so any word gets an answer. The heuristics, in order:

1. Only letters count: "don't" is "dont", and a token with no letters (a phone number, "999") is not a word. A word
   with letters from outside a-z only counts as one syllable.
2. Each run of vowels is a syllable ("a e i o u", and "y" after a consonant: "my", "happy"; "y" at the start of a
   word is a consonant: "yes").
3. A silent final "e" takes one away ("make", "home"), but not "-le" after a consonant ("little", "table"), nor
   "-ee" ("free"), nor a word whose only vowel it is ("the", "me").
4. "-ed" is silent unless after "t" or "d" ("liked" 1, "wanted" 2); "-es" is silent unless after s, x, z, ch, sh,
   or the soft c and g ("makes" 1, "boxes" 2, "places" 2).
5. Some vowel pairs are two syllables, not one: "ia" ("media"), "io" not after c, s, t or x ("radio", but "action"),
   "eo" at the end ("video", but "people"), "ua" not after g or q ("usual", but "guard"), "uo" ("fluoride"), "iu"
   ("stadium"), and "ie" in "-ier"/"-iest" ("happier").
6. Every word has at least one syllable, and no more syllables than letters.

Good enough for grading whole texts (most everyday words come out right; tests/test_language.py checks a word list),
which is what the grade needs: the odd miscount moves a text's grade very little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LETTERS = re.compile(r"[^a-z]")
_TWO_SYLLABLE_PAIRS = re.compile(r"ia|(?<![cstx])io|eo$|(?<![gq])ua|uo|iu|ie(?=r$|st$)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+|\n+")
_TOKEN = re.compile(r"[\w'’-]+")


def syllables(word: str) -> int:
    """How many syllables a word has, by the rules above; 0 for a token with no letters."""
    letters = _LETTERS.sub("", word.casefold())
    if not letters:
        return 1 if any(ch.isalpha() for ch in word) else 0  # a word in another alphabet: count it as one
    count = len([m for m in re.finditer(r"[aeiou]+|y+", letters) if _is_vowel_run(letters, m.start(), m.group())])
    count -= _silent_ending(letters, count)
    count += len(_TWO_SYLLABLE_PAIRS.findall(letters))
    return max(1, min(count, len(letters)))


def _silent_ending(letters: str, count: int) -> int:
    """1 when the word ends in a silent "e", "-ed" or "-es" (rules 3 and 4), else 0."""
    if count < 2:
        return 0
    if letters.endswith("e") and not letters.endswith(("ee", "ye")):
        sounded_le = letters.endswith("le") and len(letters) > 2 and letters[-3] not in "aeiouy"
        return 0 if sounded_le else 1
    if letters.endswith("ed"):
        return 0 if letters.endswith(("ted", "ded", "eed")) else 1
    if letters.endswith("es"):
        return 0 if letters.endswith(("ses", "xes", "zes", "ches", "shes", "ces", "ges", "ees")) else 1
    return 0


def _is_vowel_run(letters: str, start: int, run: str) -> bool:
    if run[0] != "y":
        return True
    return start > 0  # "y" opening a word ("yes", "you") is a consonant; elsewhere it sounds as a vowel


def words(text: str) -> list[str]:
    """The words of a text: tokens with at least one letter."""
    return [t for t in _TOKEN.findall(text) if any(ch.isalpha() for ch in t)]


def sentences(text: str) -> list[str]:
    """Sentences: split at . ! ? followed by a space, and at line breaks (each bullet or line is its own)."""
    parts = (p.strip(" •-\t") for p in _SENTENCE_END.split(text))
    return [p for p in parts if words(p)]


@dataclass(frozen=True)
class Reading:
    words: int
    sentences: int
    syllables: int

    @property
    def grade(self) -> float:
        """Flesch-Kincaid grade level (US school grade; UK year is about one more). 0 for no words."""
        if not self.words:
            return 0.0
        return 0.39 * self.words / self.sentences + 11.8 * self.syllables / self.words - 15.59


def reading(text: str) -> Reading:
    found = words(text)
    return Reading(len(found), max(1, len(sentences(text))), sum(syllables(w) for w in found))


def grade(text: str) -> float:
    return reading(text).grade
