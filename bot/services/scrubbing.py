"""Scrub free-text answers before they are stored.

Why this exists: a free-text answer is the one place where a respondent (or someone they mention) can be named,
phoned or located, and the stored answers must stay pseudonymous (docs: privacy.md, "Scrubbing free text"). Every
free-text answer goes through `Scrubber.scrub` before it is written anywhere; what is stored is the cleaned text, and
`Scrubbed.found` (the tags used, never the originals) is what may be counted.

Pure and offline: regular expressions plus a few check-digit rules, no model, no I/O. Each kind of identifier has
one compiled pattern below, applied in a fixed order (links before emails before handles, and so on) so that an
earlier tag is never split by a later pattern. A replacement is always a tag such as `[phone]`; text already tagged
is never scrubbed again, so scrubbing is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

KINDS: tuple[str, ...] = (
    "link",
    "email",
    "handle",
    "phone",
    "nhs number",
    "ni number",
    "upn",
    "postcode",
    "name",
)
"""Every tag `scrub` can produce, in the order the patterns are applied; the tag text is `[kind]`."""

# --- one pattern per kind -------------------------------------------------------------------------------------

# Characters a link may contain (RFC 3986 and then some); trailing sentence punctuation is trimmed afterwards.
_URL_CHARS = r"[^\s<>\"\[\]{}|\\^`]"
# Top-level domains we accept for a bare domain without "www." or a scheme ("example.org/page", "bbc.co.uk"). A
# short, common list, in lower case only, keeps "e.g." and a missed space ("I said no.Info was...") out; with a
# scheme or "www." any host is accepted.
_BARE_TLDS = "com|org|net|uk|io|gov|edu|info|biz|ie|eu|app|dev|tv"

# Links: "https://...", "ftp://...", "www.example.org/...", or a bare domain with a common TLD. The look-behind
# keeps us out of the middle of a word or an email address ("jo@example.org" is left for the email pattern).
_URL = re.compile(
    rf"""
    (?<![\w.@-])
    (?:
        (?:https?|ftp)://{_URL_CHARS}+
      | www\.{_URL_CHARS}+
      | (?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?-i:{_BARE_TLDS})
        (?![\w-]|\.[\w-]|@)
        (?:[/?#]{_URL_CHARS}*)?
    )
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Emails: a local part, "@", dot-separated domain labels and an alphabetic TLD. Not anchored to known TLDs: any
# address-shaped text is personal enough to remove.
_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![\w-])")

# @handles (Telegram, Slack, X, Instagram): "@" then a letter or "_" then word characters, dots inside allowed.
# Emails are already gone; the look-behind stops "jo@host" matching as a handle, and a digit after "@" ("@3pm",
# "see you @ 5") is not a handle.
_HANDLE = re.compile(r"(?<![\w@.+-])@[^\W\d]\w*(?:\.\w+)*")

# One separator between groups of digits: a space (also no-break, thin or zero-width space), a dash or a dot,
# optionally padded with spaces ("07700 900123", "07700-900-123", "0113 - 496 0000").
_SP = r"[ \t\u00a0\u2009\u202f\u200b]"
_SEP = rf"(?:{_SP}?[-.\u2010-\u2013]{_SP}?|{_SP})"

# UK phone numbers, national ("07700 900123", "(0113) 496 0000", "0808 157 0192") or international ("+44 7700
# 900123", "0044 20 7946 0018", "+44 (0)20 7946 0018"). The pattern finds a run of digit groups (later groups have
# at least 3 digits, so dates like "01 02 2023" don't chain); `_phone_length` then keeps the longest prefix that is a
# full UK number by length and prefix. Short codes and helplines ("999", "111", Childline's "0800 1111") are not
# full-length numbers, so they stay.
_PHONE = re.compile(
    rf"""
    (?<![\w+£$€])
    (?:
        (?P<intl>(?:\+|00)44|\(\+44\)){_SEP}?
        (?:\(0\){_SEP}?)?
        (?P<inum>(?:\([1-9][0-9]{{1,4}}\)|[1-9][0-9]{{0,9}})(?:{_SEP}[0-9]{{3,10}}){{0,4}})
      |
        (?P<num>(?:\(0[1-9][0-9]{{1,4}}\)|0[1-9][0-9]{{0,9}})(?:{_SEP}[0-9]{{3,10}}){{0,4}})
    )
    (?![\w])
    """,
    re.VERBOSE,
)

# NHS numbers: 10 digits, as "943 476 5919", "943-476-5919" or "9434765919" (same separator both times). Only
# tagged when the mod-11 check digit is right (`_nhs_valid`), which keeps most other 10-digit numbers out.
_NHS = re.compile(r"(?<![\w])[0-9]{3}([ -]?)[0-9]{3}\1[0-9]{4}(?![\w])")

# National Insurance numbers: two prefix letters, six digits (solid or as three pairs with the same separator),
# an optional suffix A-D: "QQ 12 34 56 A", "QQ123456A", "JT-12-34-56-D", "qq123456a". Prefix letters never include
# D, F, I, Q, U or V, except "QQ", the never-issued example used in tests and training. The digits are required, so
# "AB" in a sentence never matches; a lower-case prefix only counts when written solid, so words like "on" or "at"
# before a date ("on 2024-03-12", "at 12 30 45") don't match; a spaced suffix must be a capital ("... 56 a lot").
_NI = re.compile(
    r"""
    (?<![\w])
    (?: (?:[A-CEGHJ-PR-TW-Z]{2}|QQ)[ -]?
      | (?i:[A-CEGHJ-PR-TW-Z]{2}|QQ)(?=[0-9]) )
    (?:[0-9]{6}|[0-9]{2}(?P<sep>[ -])[0-9]{2}(?P=sep)[0-9]{2})
    (?:[A-Da-d]|[ -][A-D])?
    (?![\w])
    """,
    re.VERBOSE,
)

# Unique Pupil Numbers: 13 characters, a check letter then 12 digits, or (temporary UPNs) a letter, 11 digits and a
# letter. The check letter isn't verified: any code of exactly this shape identifies a child.
_UPN = re.compile(r"(?<![\w])[A-Za-z][0-9]{11}[0-9A-Za-z](?![\w])")

# Full UK postcodes, any case, with or without the space: outward code (area letters that exist, a district
# digit and an optional digit or letter) then inward code (digit and two letters, never C I K M O V):
# "SW1A 1AA", "GL1 2EH", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT". Outward codes alone ("the A1", "M6") are
# not enough to locate anyone and are kept. `_postcode_length` drops lower-case ordinals ("A1 2nd").
_POSTCODE = re.compile(
    r"(?<![\w])(?:[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-Z]?|GIR)[ \t\u00a0]?(?P<inward>[0-9][ABD-HJLNP-UW-Z]{2})(?![\w])",
    re.IGNORECASE,
)

# Tags already in the text (from an earlier scrub): kept as they are and never scrubbed again.
_EXISTING_TAG = re.compile(r"\[(?:" + "|".join(re.escape(kind) for kind in KINDS) + r")\]")

# --- validators: how much of a match to keep (None = not this kind) ----------------------------------------------

_Accept = Callable[[re.Match[str]], int | None]


def _whole(match: re.Match[str]) -> int | None:
    return len(match.group())


def _url_length(match: re.Match[str]) -> int | None:
    """Drop trailing sentence punctuation (and a closing bracket that doesn't belong to the link)."""
    url = match.group()
    while url and url[-1] in ".,;:!?'\")":
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    bare = re.sub(r"^(?:(?:https?|ftp)://|www\.)", "", url, flags=re.IGNORECASE)
    return len(url) if bare else None


def _uk_number(digits: str) -> bool:
    """True for a full-length UK number in national form (leading 0)."""
    if len(digits) not in (10, 11) or digits[0] != "0":
        return False
    if digits[1] in "18":  # geographic 01 and freephone/non-geographic 08 have 10- and 11-digit numbers
        return True
    return digits[1] in "23579" and len(digits) == 11  # 02 London etc., 03, 05, 07 mobiles, 09


def _phone_length(match: re.Match[str]) -> int | None:
    """The longest prefix of the digit groups that is a full UK number ("07700 900123 2 kids" keeps " 2 kids")."""
    group = "inum" if match.group("intl") else "num"
    start = match.start(group) - match.start()
    body = match.group(group)
    for run in reversed(list(re.finditer(r"[0-9]+", body))):
        digits = re.sub(r"[^0-9]", "", body[: run.end()])
        if _uk_number(digits if group == "num" else "0" + digits):
            return start + run.end() + (1 if body[run.end() : run.end() + 1] == ")" else 0)
    return None


def _nhs_valid(digits: str) -> bool:
    """NHS mod-11: weights 10..2 on the first nine digits, check = 11 - (sum mod 11); 11 means 0, 10 is invalid."""
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _nhs_length(match: re.Match[str]) -> int | None:
    return len(match.group()) if _nhs_valid(re.sub(r"[^0-9]", "", match.group())) else None


_ORDINALS = frozenset({"st", "nd", "rd", "th"})


def _postcode_length(match: re.Match[str]) -> int | None:
    """Reject "a1 2nd", "M6 5th": an inward code that reads as a lower-case ordinal is not a postcode."""
    letters = match.group("inward")[1:]
    if letters.lower() in _ORDINALS and not letters.isupper():
        return None
    return len(match.group())


# --- the scrubber -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    accept: _Accept = _whole


@dataclass(frozen=True)
class _Tag:
    kind: str
    new: bool  # False for a tag that was already in the text


_Piece = str | _Tag

_RULES: tuple[_Rule, ...] = (
    _Rule("link", _URL, _url_length),
    _Rule("email", _EMAIL),
    _Rule("handle", _HANDLE),
    _Rule("phone", _PHONE, _phone_length),
    _Rule("nhs number", _NHS, _nhs_length),
    _Rule("ni number", _NI),
    _Rule("upn", _UPN),
    _Rule("postcode", _POSTCODE, _postcode_length),
)


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive, longest first; any run of whitespace between words; ' and ’ interchangeable.

    A hyphen joins words here: "Jo" is not found in "Jo-Anne" or "Mary-Jo"; a possessive ("Jo's") is still Jo.
    """
    unique: dict[str, str] = {}
    for name in names:
        words = name.split()
        if words:
            unique.setdefault(" ".join(words).casefold(), " ".join(words))
    if not unique:
        return None

    def word(w: str) -> str:
        return "".join("['’]" if ch in "'’" else re.escape(ch) for ch in w)

    ordered = sorted(unique.values(), key=lambda n: (-len(n), n.casefold()))
    alternatives = "|".join(r"\s+".join(word(w) for w in name.split()) for name in ordered)
    return re.compile(rf"(?<!\w)(?<!\w-)(?:{alternatives})(?!\w|-\w)", re.IGNORECASE)


def _split(rule: _Rule, text: str) -> list[_Piece]:
    """Replace every accepted match of one rule in a piece of untagged text."""
    out: list[_Piece] = []
    pos = last = 0
    while (match := rule.pattern.search(text, pos)) is not None:
        length = rule.accept(match)
        if not length:
            pos = match.start() + 1  # not this kind here: look again one character on
            continue
        if match.start() > last:
            out.append(text[last : match.start()])
        out.append(_Tag(rule.kind, new=True))
        pos = last = match.start() + length
    if last < len(text):
        out.append(text[last:])
    return out


def _existing_tags(text: str) -> list[_Piece]:
    out: list[_Piece] = []
    last = 0
    for match in _EXISTING_TAG.finditer(text):
        if match.start() > last:
            out.append(text[last : match.start()])
        out.append(_Tag(match.group()[1:-1], new=False))
        last = match.end()
    if last < len(text):
        out.append(text[last:])
    return out


@dataclass(frozen=True)
class Scrubbed:
    """The cleaned text and the tags used, in reading order (for counting; the originals are never kept)."""

    text: str
    found: tuple[str, ...]


@dataclass(frozen=True)
class Scrubber:
    """Replaces identifiers in free text with tags. `names`: staff, schools, estates... matched as whole words."""

    names: tuple[str, ...] = ()
    _rules: tuple[_Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        pattern = _name_pattern(self.names)
        rules = _RULES if pattern is None else (*_RULES, _Rule("name", pattern))
        object.__setattr__(self, "_rules", rules)

    def scrub(self, text: str) -> Scrubbed:
        """Return `text` with every identifier replaced by its tag; whitespace around replacements is kept.

        The rules are applied in order to the untagged stretches only, and the whole pass is repeated until nothing
        changes (a later tag can leave a stretch that an earlier rule now matches), so scrubbing is idempotent.
        """
        pieces = _existing_tags(text)
        changed = True
        while changed:
            changed = False
            for rule in self._rules:
                next_pieces: list[_Piece] = []
                for piece in pieces:
                    if isinstance(piece, _Tag):
                        next_pieces.append(piece)
                        continue
                    parts = _split(rule, piece)
                    changed = changed or len(parts) != 1 or parts[0] != piece
                    next_pieces.extend(parts)
                pieces = next_pieces
        cleaned = "".join(p if isinstance(p, str) else f"[{p.kind}]" for p in pieces)
        found = tuple(p.kind for p in pieces if isinstance(p, _Tag) and p.new)
        return Scrubbed(cleaned, found)
