"""Scrubbing free text: realistic UK examples for every kind, a corpus that must not change, and properties."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.services.scrubbing import KINDS, Scrubbed, Scrubber

SCRUB = Scrubber()
NAMED = Scrubber(names=("Jo Bloggs", "Oak Lane Academy", "Ash", "Priory Estate", "O'Neill"))


def nhs_check_digit(nine: str) -> int | None:
    """The NHS mod-11 rule, written out independently of the module: weights 10..2."""
    remainder = sum(int(d) * (10 - i) for i, d in enumerate(nine)) % 11
    check = 11 - remainder
    return 0 if check == 11 else None if check == 10 else check


def test_the_example_nhs_number_is_valid() -> None:
    # 9*10 + 4*9 + 3*8 + 4*7 + 7*6 + 6*5 + 5*4 + 9*3 + 1*2 = 299; 299 mod 11 = 2; 11 - 2 = 9.
    assert nhs_check_digit("943476591") == 9


@pytest.mark.parametrize(
    ("text", "expected", "found"),
    [
        # Ofcom drama numbers: mobiles, London, Leeds, freephone; national and international; any spacing
        ("Call me on 07700 900123 after school", "Call me on [phone] after school", ("phone",)),
        ("text 07700900456", "text [phone]", ("phone",)),
        ("ring 07700-900-789.", "ring [phone].", ("phone",)),
        ("+44 7700 900123", "[phone]", ("phone",)),
        ("+447700900987 is my number", "[phone] is my number", ("phone",)),
        ("office: 020 7946 0018", "office: [phone]", ("phone",)),
        ("(020) 7946 0999", "[phone]", ("phone",)),
        ("+44 (0)20 7946 0123", "[phone]", ("phone",)),
        ("0044 20 7946 0456", "[phone]", ("phone",)),
        ("Leeds (0113) 496 0000 or 0113 496 0999", "Leeds [phone] or [phone]", ("phone", "phone")),
        ("freephone 0808 157 0192", "freephone [phone]", ("phone",)),
        ("my number is 07700 900123 2 kids ago", "my number is [phone] 2 kids ago", ("phone",)),
        # National Insurance: the never-issued example, compact, other valid prefixes, lower case
        ("NI QQ 12 34 56 A", "NI [ni number]", ("ni number",)),
        ("NI no. QQ123456A.", "NI no. [ni number].", ("ni number",)),
        ("ni: AB 12 34 56 C, ab123456c", "ni: [ni number], [ni number]", ("ni number", "ni number")),
        ("JT-12-34-56-D on file", "[ni number] on file", ("ni number",)),
        ("QQ 12 34 56 a lot", "[ni number] a lot", ("ni number",)),
        # NHS numbers with a valid check digit, in three layouts
        ("NHS number 943 476 5919", "NHS number [nhs number]", ("nhs number",)),
        ("nhs 943-476-5919", "nhs [nhs number]", ("nhs number",)),
        ("(9434765919)", "([nhs number])", ("nhs number",)),
        # Unique Pupil Numbers: permanent and temporary
        ("UPN A123456789012", "UPN [upn]", ("upn",)),
        ("temp upn B12345678901C", "temp upn [upn]", ("upn",)),
        # Postcodes
        ("lives near SW1A 1AA", "lives near [postcode]", ("postcode",)),
        ("GL1 2EH, M1 1AE and B33 8TH", "[postcode], [postcode] and [postcode]", ("postcode",) * 3),
        ("CR2 6XH / DN55 1PT", "[postcode] / [postcode]", ("postcode", "postcode")),
        ("sw1a1aa", "[postcode]", ("postcode",)),
        ("ls1 4ap.", "[postcode].", ("postcode",)),
        # Emails, URLs and handles
        ("email jo.bloggs@example.org please", "email [email] please", ("email",)),
        ("JO+safeguarding@council.gov.uk", "[email]", ("email",)),
        ("see https://example.org/report?id=3.", "see [link].", ("link",)),
        ("see www.example.org, it's good", "see [link], it's good", ("link",)),
        ("on example.org/page and bbc.co.uk", "on [link] and [link]", ("link", "link")),
        ("(https://en.wikipedia.org/wiki/Foo_(bar))", "([link])", ("link",)),
        ("message @jo_bloggs on Telegram", "message [handle] on Telegram", ("handle",)),
        ("@jo.bloggs.", "[handle].", ("handle",)),
        ("mail jo@example.org not @jo", "mail [email] not [handle]", ("email", "handle")),
        # Order of `found` is reading order
        ("07700 900123 or jo@example.org", "[phone] or [email]", ("phone", "email")),
    ],
)
def test_each_kind(text: str, expected: str, found: tuple[str, ...]) -> None:
    assert SCRUB.scrub(text) == Scrubbed(expected, found)


def test_invalid_nhs_number_is_left() -> None:
    # 943 476 5918 fails the mod-11 check; and a 9 before the check digit means 10 -> never valid.
    assert SCRUB.scrub("ref 943 476 5918").text == "ref 943 476 5918"
    nine = next(f"{n:09d}" for n in range(100_000_000, 999_999_999, 7) if nhs_check_digit(f"{n:09d}") is None)
    for last in "0123456789":
        assert SCRUB.scrub(f"ref {nine}{last}").found == ()


def test_names_from_the_list() -> None:
    result = NAMED.scrub("jo bloggs from OAK LANE ACADEMY met Ash on the Priory\n  Estate; o’neill too. Ash's mum")
    assert result.text == "[name] from [name] met [name] on the [name]; [name] too. [name]'s mum"
    assert result.found == ("name",) * 6


def test_names_never_match_inside_words() -> None:
    text = "Ashford, cash, Ashley, washing, Ash-Lee and Jo Bloggsworth at Oak Lane Academyside"
    assert NAMED.scrub(text).text == text


def test_longest_name_first() -> None:
    scrubber = Scrubber(names=("Oak Lane", "Oak Lane Academy"))
    assert scrubber.scrub("Oak Lane Academy and Oak Lane").text == "[name] and [name]"


def test_whitespace_around_replacements_is_kept() -> None:
    assert SCRUB.scrub("  07700 900123\n\tjo@example.org  ").text == "  [phone]\n\t[email]  "


def test_tags_already_present_are_kept_and_not_counted() -> None:
    scrubber = Scrubber(names=("phone", "name"))
    assert scrubber.scrub("[phone] and [name]") == Scrubbed("[phone] and [name]", ())


ORDINARY = [
    "I met them on 12/03/2024 at 3pm",
    "We had 25 referrals in 2023 and 1,200 in total",
    "The Section 11 audit is due",
    "We moved to version 2.0 last week",
    "It was a 10 minute call",
    "Year 9 pupils said they feel safe",
    "It was my mum's 40th",
    "It costs £12.50 a session",
    "Go to room 101",
    "Call 999 if you are in danger",
    "You can call 111 for advice",
    "Childline 0800 1111 is free, any time",
    "Shout: text 85258",
    "We drove up the A1 road",
    "I get bus 42 to school",
    "The meeting is at 10:30 on 1st March",
    "Ofsted rated us Good in 2022",
    "Referrals rose by 15% (from 320 to 368)",
    "Q3 2023 figures are in",
    "Children aged 11-16 took part",
    "Working Together 2023 changed things",
    "Section 47 enquiries went up 3.5%",
    "Page 12 of 40",
    "I'd give it 3 out of 10",
    "Tier 2 services were slow",
    "Open 9am-5pm Monday to Friday",
    "Key Stage 2 and KS3",
    "CP plans: 45, down from 52",
    "A budget of £1,250.00 was agreed",
    "Before the COVID-19 lockdown",
    "It is 24/7 support, 7 days a week",
    "1 in 3 children said yes",
    "The review was on 2024-03-12",
    "I scored 9.5/10, e.g. very good, i.e. fine, etc.",
    "It was the 2nd meeting, then the 3rd and 4th",
    "We were on the M6 for 2 hours",
    "A score of 4.5 out of 5",
    "Ages 0-5, 5-11 and 11-18",
    "Phase 3 starts in spring 2025",
    "We have 2,500 staff across 14 schools",
    "the A1 2nd time round, M25 5th junction",
    "@ 3pm we met; see you @5",
    "Half term is week 7",
    "Ratio 1:30 in class",
    "We met on 2024-03-12 at 12 30 45 and ON 12/03/24",
    "I said no.Info was shared.Then we left",
]


@pytest.mark.parametrize("sentence", ORDINARY)
def test_ordinary_sentences_are_unchanged(sentence: str) -> None:
    assert NAMED.scrub(sentence) == Scrubbed(sentence, ())


def test_corpus_is_big_enough() -> None:
    assert len(ORDINARY) >= 25


# --- properties ---------------------------------------------------------------------------------------------------

digits = st.integers(0, 999).map(lambda n: f"{n:03d}")

phones = st.one_of(
    digits.map(lambda d: f"07700 900{d}"),
    digits.map(lambda d: f"07700900{d}"),
    digits.map(lambda d: f"07700-900-{d}"),
    digits.map(lambda d: f"+44 7700 900{d}"),
    digits.map(lambda d: f"+447700900{d}"),
    digits.map(lambda d: f"020 7946 0{d}"),
    digits.map(lambda d: f"(020) 7946 0{d}"),
    digits.map(lambda d: f"+44 (0)20 7946 0{d}"),
    digits.map(lambda d: f"0113 496 0{d}"),
    digits.map(lambda d: f"(0113) 496 0{d}"),
    digits.map(lambda d: f"0808 157 0{d}"),
)


@st.composite
def nhs_numbers(draw: st.DrawFn) -> str:
    nine = draw(st.text("0123456789", min_size=9, max_size=9))
    check = nhs_check_digit(nine)
    assume(check is not None)
    n = f"{nine}{check}"
    return draw(st.sampled_from([n, f"{n[:3]} {n[3:6]} {n[6:]}", f"{n[:3]}-{n[3:6]}-{n[6:]}"]))


NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"


@st.composite
def ni_numbers(draw: st.DrawFn) -> str:
    prefix = draw(st.one_of(st.just("QQ"), st.text(NI_FIRST, min_size=2, max_size=2)))
    pairs = [draw(st.text("0123456789", min_size=2, max_size=2)) for _ in range(3)]
    suffix = draw(st.sampled_from("ABCD"))
    spaced = draw(st.booleans())
    return f"{prefix} {' '.join(pairs)} {suffix}" if spaced else f"{prefix}{''.join(pairs)}{suffix}"


emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.from_regex(r"[a-z][a-z0-9._+-]{0,10}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True),
    st.sampled_from(["org", "com", "co.uk", "gov.uk", "net", "sch.uk"]),
)

words = st.text(
    st.one_of(
        st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéßçøاש"), st.sampled_from(",;!?'()")
    ),
    min_size=1,
    max_size=8,
)


def embedded(items: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str]]:
    """(identifier, sentence with the identifier among random words)."""
    return st.tuples(items, st.lists(words, max_size=4), st.lists(words, max_size=4)).map(
        lambda t: (t[0], " ".join([*t[1], t[0], *t[2]]))
    )


@settings(max_examples=200)
@given(embedded(st.one_of(phones, nhs_numbers(), ni_numbers())))
def test_numbers_never_survive(case: tuple[str, str]) -> None:
    identifier, text = case
    out = SCRUB.scrub(text).text
    assert identifier not in out
    assert not any(ch.isdigit() for ch in out)  # the words have no digits, so nothing of the number is left


@settings(max_examples=200)
@given(embedded(emails))
def test_emails_never_survive(case: tuple[str, str]) -> None:
    identifier, text = case
    out = SCRUB.scrub(text)
    assert identifier not in out.text
    assert "@" not in out.text


weird_text = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\x00", "\x1b", "\r", "👩‍👧", "🏳️‍🌈", "ש"]),
        st.sampled_from(list("0123456789 @.+-()/:")),
    )
).map("".join)

pii = st.one_of(phones, nhs_numbers(), ni_numbers(), emails, st.sampled_from(["www.example.org", "SW1A 1AA"]))
mixed = st.lists(st.one_of(weird_text, pii, words, st.sampled_from(["[phone]", "[name", "]", "Jo Bloggs"]))).map(
    "".join
)


@settings(max_examples=300)
@given(st.one_of(weird_text, mixed))
def test_never_raises_and_is_idempotent(text: str) -> None:
    once = NAMED.scrub(text)
    assert isinstance(once.text, str)
    assert set(once.found) <= set(KINDS)
    twice = NAMED.scrub(once.text)
    assert twice.text == once.text
    assert twice.found == ()


@settings(max_examples=300)
@given(weird_text)
def test_text_without_digits_at_dots_or_names_is_unchanged(text: str) -> None:
    assume(not any(ch.isdigit() for ch in text) and "@" not in text and "." not in text)
    assume("://" not in text)  # a link with a scheme needs no dot ("http://intranet/page") and is tagged
    folded = " ".join(text.casefold().split())
    assume(not any(name.casefold() in folded for name in NAMED.names))
    assert NAMED.scrub(text) == Scrubbed(text, ())
