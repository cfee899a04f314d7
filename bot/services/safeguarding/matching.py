"""Does a message look like a disclosure, or the HELP word? Pure: no I/O, no framework, no state.

The safeguarding lead's phrase list (bot/services/safeguarding/phrases.yaml, or their edited copy) is compiled once
into a
`Matcher`. A message and every phrase go through the same `fold`, so that what young people really type still
matches:

* case, accents and look-alike letters: "K1LL" and "kíll" read as "kill" (1→i, 3→e, 4→a, 0→o, 5→s, 7→t, @→a, $→s,
  and 2→"to");
* spacing and dotting tricks: "k i l l", "k.i.l.l", "my self" and "myself" all join up, because a phrase is compared
  with runs of whole words glued together;
* doubled letters and dropped g's: letters typed twice count once ("kil" = "kill", "runing" = "running") and a word
  ending "in" or "ing" ends the same ("hurtin" = "hurting");
* a few texting words ("u", "ur", "im");
* a slip in a longer word: a phrase's words of 5 letters or more may have one letter wrong, missing, extra or
  swapped ("mysef", "sucide"), of 10 or more two. Short words must match exactly and so must the first letter, so
  "kill time" never reads as "kill me" and "put myself forward" never as "cut myself".

A phrase must start and end on word boundaries, so "skill myself" does not hold "kill myself". The list, not this
module, decides what fires: see the comments in phrases.yaml for the judgement calls (such as "this homework is
killing me", which does not fire).

The HELP word fires when it is the whole message, give or take "me", "please" and punctuation ("help", "HELP!",
"help me please"); inside a sentence ("can you help me with this question") it does not, so it never gets in the way
of an ordinary answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CATEGORIES = ("self-harm", "abuse", "exploitation", "domestic-abuse", "immediate-danger", "running-away", "bullying")
ASKED_FOR_HELP = "asked-for-help"  # the HELP word: not a phrase category
ALL_CATEGORIES = (*CATEGORIES, ASKED_FOR_HELP)
DEFAULT_HELP_WORD = "help"
SHORTEST = 4  # letters, once folded: anything shorter would fire on ordinary words
LONGEST_INPUT = 10_000  # characters looked at (the engine refuses answers over 4,000 anyway)

_LEET = str.maketrans({"1": "i", "2": " to ", "3": "e", "4": "a", "@": "a", "0": "o", "5": "s", "$": "s",
                       "7": "t", "+": "t"})
_TEXTING = {"u": "you", "ur": "your", "im": "i am", "r": "are", "ya": "you", "pls": "please", "plz": "please"}
_JOINERS = re.compile(r"(?<=[a-z])[.*_'’](?=[a-z])")
_NOT_LETTERS = re.compile(r"[^a-z]+")
_DOUBLES = re.compile(r"([a-z])\1+")
_COURTESY = frozenset({"me", "please", "pls", "plz", "now"})


@dataclass(frozen=True)
class Match:
    category: str
    help_word: bool = False  # the HELP word, rather than a phrase


def _squash(word: str, dropped_g: bool = True) -> str:
    word = _DOUBLES.sub(r"\1", word)
    if dropped_g and word.endswith("ing") and len(word) > 4:
        word = word[:-1]
    return word


def words_of(text: str, dropped_g: bool = True, texting: bool = True) -> list[str]:
    """The message as folded words: lower case, plain letters, look-alikes read as letters, tricks undone."""
    text = unicodedata.normalize("NFKD", text[:LONGEST_INPUT]).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_LEET)
    text = _JOINERS.sub("", text)
    raw = [w for w in _NOT_LETTERS.split(text) if w]
    words: list[str] = []
    for word in raw:  # squashed before the texting words are read, so folding twice changes nothing ("uu" is "you")
        word = _squash(word, dropped_g)
        words.extend(_TEXTING.get(word, word).split() if texting else [word])
    return words


def fold(text: str) -> str:
    """A phrase as the matcher compares it: its folded words glued together."""
    return "".join(words_of(text))


def _within(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein distance (adjacent swaps count once) of at most `limit`, stopping early."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return False
        previous2, previous = previous, current
    return previous[-1] <= limit


def slips_allowed(word: str) -> int:
    """Typing slips a phrase's word may have: none below 5 letters, one from 5, two from 10."""
    return 2 if len(word) >= 10 else 1 if len(word) >= 5 else 0


class Matcher:
    """A compiled phrase list: `check(text)` says which category, if any, a message falls in."""

    def __init__(self, phrases: Mapping[str, Iterable[str]], help_word: str = DEFAULT_HELP_WORD) -> None:
        self.help_word = fold(help_word)
        self.glued: dict[str, str] = {}  # the whole phrase glued together -> category
        self.by_letter: dict[str, list[tuple[tuple[str, ...], str]]] = {}  # first letter -> (words, category)
        self.longest = 0
        for category, items in phrases.items():
            for phrase in items:
                words = tuple(words_of(phrase))
                glued = _DOUBLES.sub(r"\1", "".join(words))
                if len(glued) < SHORTEST:
                    continue
                # spelt out letter by letter, "-ing" keeps its g ("k i l l i n g") and "u" is a letter, not "you"
                for dropped_g in (True, False):
                    for texting in (True, False):
                        key = _DOUBLES.sub(r"\1", "".join(words_of(phrase, dropped_g, texting)))
                        self.glued.setdefault(key, category)
                self.by_letter.setdefault(glued[0], []).append((words, category))
                self.longest = max(self.longest, len(glued))

    def check(self, text: str) -> Match | None:
        """The first category the message falls in (in the order of CATEGORIES), the HELP word, or None."""
        words = words_of(text)
        if not words:
            return None
        if self.help_word and self.help_word in words and set(words) <= {self.help_word, *_COURTESY}:
            return Match(ASKED_FOR_HELP, help_word=True)
        found: set[str] = set()
        for spelt in (words, words_of(text, texting=False)):
            for start in range(len(spelt)):
                glued = ""
                for end in range(start, len(spelt)):  # spacing tricks: "k i l l my self"
                    glued += spelt[end]
                    if len(glued) > self.longest + 4:
                        break
                    category = self.glued.get(_DOUBLES.sub(r"\1", glued))
                    if category is not None:
                        found.add(category)
        for start in range(len(words)):
            for phrase, category in self.by_letter.get(words[start][0], ()):  # slips: "kil mysef", "sucide"
                if category not in found and _same_words(words, start, phrase):
                    found.add(category)
        if not found:
            return None
        return Match(min(found, key=CATEGORIES.index))


def _same_words(words: list[str], start: int, phrase: tuple[str, ...]) -> bool:
    if start + len(phrase) > len(words):
        return False
    for given, wanted in zip(words[start:start + len(phrase)], phrase, strict=True):
        if given != wanted and not _within(given, wanted, slips_allowed(wanted)):
            return False
    return True
