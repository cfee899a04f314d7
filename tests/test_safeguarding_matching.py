"""The phrase matcher (bot.services.safeguarding.matching) and the phrase list's loader: scripted disclosures, with the
spellings young people really use, against ordinary sentences; properties for anything typed; file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.web import Refused, read_event
from bot.services.safeguarding import alerts, checkin
from bot.services.safeguarding.matching import ALL_CATEGORIES, ASKED_FOR_HELP, CATEGORIES, Matcher, fold, words_of
from bot.services.safeguarding.phrases import PhraseFileError, load_phrases, parse_phrases

PHRASES = load_phrases()
MATCHER = Matcher(PHRASES)
EVERY_PHRASE = [(category, phrase) for category, items in PHRASES.items() for phrase in items]

DISCLOSURES = [
    ("I want to kill myself", "self-harm"),
    ("i wanna kil myself", "self-harm"),
    ("sometimes i think about k1ll1ng myself", "self-harm"),
    ("K I L L   my self", "self-harm"),
    ("k.i.l.l m.y.s.e.l.f", "self-harm"),
    ("i just want to dieee", "self-harm"),
    ("i've been cuttin myself again", "self-harm"),
    ("thinking about sucide", "self-harm"),
    ("everyone would be better off without me", "self-harm"),
    ("my step dad keeps hurtin me", "abuse"),
    ("he hits me when hes drunk", "abuse"),
    ("im scared to go home", "abuse"),
    ("im scared 2 go home tonight", "abuse"),
    ("my uncle touchd me and said not to tell", "abuse"),
    ("an older boyfriend gives me stuff and asks me to carry drugs", "exploitation"),
    ("someone online asked me for nudes", "exploitation"),
    ("my dad hits my mum every weekend", "domestic-abuse"),
    ("my mum and dad fight and i hide upstairs", "domestic-abuse"),
    ("he said he's gonna kill me", "immediate-danger"),
    ("i'm in danger", "immediate-danger"),
    ("im runing away tonight", "running-away"),
    ("thinking of running away from home", "running-away"),
    ("they kicked me out, got nowhere to sleep", "running-away"),
    ("i get bullied every day", "bullying"),
    ("nobody likes me at school", "bullying"),
    ("they keep laughing at me in PE", "bullying"),
]

ORDINARY = [
    "this homework is killing me",  # the judgement call: listed in phrases.yaml's comments
    "I want to kill time before the bus comes",
    "the bus hurts my wallet",
    "more clubs after school please",
    "can you help me with this question",
    "I'd like a skate park",
    "our dog ran away last year but came back",
    "I leave home at 8 for school",
    "I put myself forward for the school council",
    "I taught skill myself",
    "pick one that helps everyone",
    "I'm picking one thing: better buses",
    "the cutting edge of games",
    "I think the youth club is great",
    "we need cheaper bus passes",
    "people should listen more",
    "Yes, most of the time",
    "1",
]


@pytest.mark.parametrize(("text", "category"), DISCLOSURES)
def test_scripted_disclosures_are_caught_with_the_right_category(text: str, category: str) -> None:
    match = MATCHER.check(text)
    assert match is not None and match.category == category, (text, match)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentences_trigger_nothing(text: str) -> None:
    assert MATCHER.check(text) is None


@pytest.mark.parametrize("text", ["HELP", "help", "Help!", "help me", "HELP ME PLEASE", "  help.  "])
def test_the_help_word_alone_is_recognised(text: str) -> None:
    match = MATCHER.check(text)
    assert match is not None and match.help_word and match.category == ASKED_FOR_HELP


def test_the_help_word_is_configurable() -> None:
    matcher = Matcher(PHRASES, "sos")
    assert matcher.check("SOS") is not None and matcher.check("help") is None


def test_every_shipped_category_has_phrases_and_each_matches_itself() -> None:
    assert set(PHRASES) == set(CATEGORIES)
    for category, phrase in EVERY_PHRASE:
        found = MATCHER.check(phrase)
        assert found is not None, phrase
        assert found.category in CATEGORIES
        assert CATEGORIES.index(found.category) <= CATEGORIES.index(category), phrase


# --- properties: the matcher parses whatever anyone types ----------------------------------------------------------

SAFE_WORDS = ["the", "bus", "was", "late", "today", "we", "played", "football", "homework", "boring", "teacher",
              "nice", "lunch", "park", "games", "music", "more", "clubs", "school", "friends", "and", "i", "like"]
padding = st.lists(st.sampled_from(SAFE_WORDS), max_size=8).map(" ".join)


@given(st.text(max_size=600))
@settings(max_examples=300, deadline=None)
def test_any_text_gives_no_match_or_a_known_category(text: str) -> None:
    match = MATCHER.check(text)
    assert match is None or match.category in ALL_CATEGORIES


@given(st.lists(st.sampled_from(SAFE_WORDS), max_size=30).map(" ".join))
def test_sentences_of_everyday_words_never_fire(text: str) -> None:
    assert MATCHER.check(text) is None


@given(st.sampled_from(EVERY_PHRASE), padding, padding, st.sampled_from([" ", "  ", ", ", ". ", "\n"]))
def test_a_phrase_is_found_inside_any_sentence(item: tuple[str, str], before: str, after: str, gap: str) -> None:
    _, phrase = item
    assert MATCHER.check(f"{before}{gap}{phrase}{gap}{after}") is not None


@given(st.sampled_from(EVERY_PHRASE), st.data())
def test_case_spacing_and_look_alike_tricks_still_match(item: tuple[str, str], data: st.DataObject) -> None:
    _, phrase = item
    trick = data.draw(st.sampled_from(["upper", "spaced", "leet", "doubled"]))
    if trick == "upper":
        typed = phrase.upper()
    elif trick == "spaced":
        typed = " ".join(phrase.replace(" ", ""))
    elif trick == "leet":
        typed = phrase.replace("i", "1").replace("e", "3").replace("o", "0")
    else:
        typed = "".join(ch * 2 if ch.isalpha() else ch for ch in phrase)
    assert MATCHER.check(typed) is not None, typed


@given(st.text(max_size=200))
def test_folding_is_stable(text: str) -> None:
    once = words_of(text)
    assert words_of(" ".join(once)) == once
    assert fold(text) == "".join(once)


# --- the lead's edited copy -------------------------------------------------------------------------------------------

def test_a_broken_phrase_list_names_its_file_and_line(tmp_path: Path) -> None:
    edited = tmp_path / "phrases.yaml"
    edited.write_text("self-harm:\n  - hurt myself\n  - me\nbulying:\n  - bullied\nabuse: hits me\n")
    with pytest.raises(PhraseFileError) as caught:
        load_phrases(edited)
    lines = [str(p) for p in caught.value.problems]
    assert lines[0].startswith(f"{edited}:3: the phrase `me` is too short")
    assert any(line.startswith(f"{edited}:4: `bulying` is not a category") for line in lines)
    assert any(line.startswith(f"{edited}:6: `abuse` should be a list") for line in lines)


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    _, problems = parse_phrases("self-harm:\n  - [unclosed\n", "p.yaml")
    assert len(problems) == 1 and str(problems[0]).startswith("p.yaml:")


def test_an_edited_list_is_what_matches(tmp_path: Path) -> None:
    edited = tmp_path / "phrases.yaml"
    edited.write_text("bullying:\n  - they took my lunch\n")
    matcher = Matcher(load_phrases(edited))
    assert matcher.check("they took my lunch again").category == "bullying"  # type: ignore[union-attr]
    assert matcher.check("I want to kill myself") is None


# --- the check's button data and the Acknowledge button: parsed from whatever a client sends ----------------------

@given(st.sampled_from(checkin.CHOICES), st.sampled_from(ALL_CATEGORIES))
def test_check_buttons_round_trip_and_fit_telegram(choice: str, category: str) -> None:
    data = checkin.encode(choice, category)
    assert len(data.encode()) <= 64
    assert checkin.decode(data) == checkin.Press(choice, category)


@given(st.text(max_size=80))
def test_forged_or_malformed_button_data_is_never_a_press_or_an_acknowledgement(data: str) -> None:
    press = checkin.decode(data)
    assert press is None or (checkin.encode(press.choice, press.category) == data)
    ref = alerts.ack_ref(data)
    assert ref is None or alerts.ack_data(ref) == data
    assert checkin.decode(f"care:ok:{len(ALL_CATEGORIES)}") is None


@given(st.dictionaries(st.sampled_from(["type", "data", "text", "turn"]),
                       st.one_of(st.text(max_size=20), st.integers(), st.none(), st.just("care"),
                                 st.just("care:yes:3")), max_size=4))
def test_the_web_api_reads_any_check_event_or_refuses_it_cleanly(body: dict[str, object]) -> None:
    body = {"type": "care", **body} if "type" not in body else body
    try:
        event = read_event(body)
    except Refused as refused:
        assert refused.status == 400
    else:
        assert event is not None
