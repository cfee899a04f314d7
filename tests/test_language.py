"""Plain language: the syllable counter and grade (properties and a word list), the glossary, `surveys check`
warnings, and the registry test: every message the bot itself sends young people reads at grade 6 or below, with
no sentence over 20 words and no word the "Language that cares" glossary replaces."""

from __future__ import annotations

import importlib
import re
import string
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main
from bot.engine import messages as msg
from bot.language.glossary import GlossaryError, check_text, load_glossary
from bot.language.readability import grade, reading, sentences, syllables
from bot.language.surveys import survey_warnings
from bot.services.notices import young_people
from bot.services.policy import Policy, Thresholds
from bot.services.surveyfiles import builtin_survey_dir, load_survey_file

GLOSSARY = load_glossary()

KNOWN = {
    "the": 1, "cat": 1, "make": 1, "home": 1, "free": 1, "school": 1, "liked": 1, "makes": 1, "you": 1, "yes": 1,
    "happy": 2, "little": 2, "table": 2, "wanted": 2, "boxes": 2, "places": 2, "people": 2, "over": 2,
    "action": 2, "answer": 2, "better": 2, "question": 2, "family": 3, "video": 3, "radio": 3,
    "media": 3, "usual": 3, "happier": 3, "important": 3, "together": 3, "partnership": 3, "beautiful": 3,
    "safeguarding": 4, "information": 4, "anonymous": 4, "readability": 5,
}


# --- syllables and grade ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("word", "expected"), sorted(KNOWN.items()))
def test_syllables_of_everyday_words(word: str, expected: int) -> None:
    assert syllables(word) == expected


@given(st.text(alphabet=string.ascii_letters, min_size=1, max_size=30))
def test_every_word_has_at_least_one_syllable_and_no_more_than_its_letters(word: str) -> None:
    count = syllables(word)
    assert 1 <= count <= len(word)
    assert syllables(word.upper()) == count == syllables(f"“{word}”,")


@given(st.text(alphabet=string.digits + " .,-", max_size=20))
def test_numbers_and_punctuation_are_not_words(text: str) -> None:
    assert syllables(text) == 0
    assert reading(text).words == 0 and grade(text) == 0.0


@given(st.lists(st.sampled_from(["We", "like", "the", "park", "and", "the", "bus", "is", "late"]), min_size=1,
                max_size=12))
def test_one_syllable_words_in_short_sentences_read_easily(words: list[str]) -> None:
    assert grade(" ".join(words) + ".") <= 6


@given(st.text(max_size=400))
def test_reading_any_text_never_fails(text: str) -> None:
    measured = reading(text)
    assert measured.sentences >= 1 and measured.syllables >= measured.words >= 0
    assert len(sentences(text)) <= max(1, len(text))


def test_grade_tells_plain_from_dense() -> None:
    plain = "We want to hear what you think. It helps adults make things better. You can stop at any time."
    dense = ("Multi-agency safeguarding arrangements necessitate comprehensive organisational accountability, "
             "facilitating interdisciplinary information-sharing responsibilities.")
    assert grade(plain) <= 6 < 9 < grade(dense)


# --- the glossary --------------------------------------------------------------------------------------------------

def test_glossary_words_are_flagged_with_the_kinder_word() -> None:
    warnings = check_text("How was your placement? Did you see your siblings at your LAC review?", GLOSSARY)
    assert any("placement" in w and "home" in w for w in warnings)
    assert any("siblings" in w and "brothers and sisters" in w for w in warnings)
    assert any("LAC review" in w and "All About Me" in w for w in warnings)
    assert check_text("Did you like your home? Did you see your brothers and sisters?", GLOSSARY) == []


def test_the_longer_glossary_term_wins_and_words_are_whole() -> None:
    assert [w for w in check_text("Care leavers are welcome.", GLOSSARY) if "care-experienced young" in w]
    assert not [w for w in check_text("Care leavers are welcome.", GLOSSARY) if "“care leaver”" in w]
    assert check_text("We showcased it.", GLOSSARY) == []  # "case" inside a word is not "case"


def test_an_edited_glossary_is_used_and_a_broken_one_names_its_line(tmp_path: Path) -> None:
    edited = tmp_path / "glossary.yaml"
    edited.write_text("service user: young person\n")
    assert any("young person" in w for w in check_text("Every service user matters.", load_glossary(edited)))
    edited.write_text("placement: home\nplacement: home again\nrespite:\n")
    with pytest.raises(GlossaryError) as caught:
        load_glossary(edited)
    assert [p.line for p in caught.value.problems] == [2, 3]


def test_long_sentences_are_flagged() -> None:
    long = " ".join(["word"] * 21) + "."
    assert any("21 words" in w for w in check_text(long, GLOSSARY))
    assert not any("words;" in w for w in check_text(" ".join(["word"] * 20) + ".", GLOSSARY))


# --- surveys check ---------------------------------------------------------------------------------------------------

def test_surveys_check_warns_but_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    survey = tmp_path / "youth.yaml"
    survey.write_text(
        "id: youth\nversion: 1\ntitle: Youth\naudience: young_people\n"
        "intro: Hello. Tell us about your placement.\n"
        "questions:\n"
        "  - id: contact\n    kind: text\n"
        "    text: Notwithstanding organisational considerations, how satisfactory were arrangements facilitating "
        "communication with your family?\n")
    assert main(["surveys", "check", "--verbose", str(survey)]) == 0
    out = capsys.readouterr().out
    assert f"{survey}:5: warning: intro uses “placement”; say “home” instead" in out
    assert f"{survey}:7: warning: question `contact` reads at grade" in out
    assert "plain-language warning(s): worth fixing, but they do not fail the check." in out


def test_surveys_check_puts_errors_first_and_warnings_in_one_line(tmp_path: Path) -> None:
    """The shipped surveys have plain-language warnings; a broken file beside them must not be buried under them."""
    for shipped in builtin_survey_dir().glob("*.yaml"):
        (tmp_path / shipped.name).write_text(shipped.read_text())
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nversion: 1\ntitle: Broken\naudience: partners\nintro: Hello.\nquestions:\n"
                      "  - id: q\n    kind: nonsense\n    text: What?\n")
    run = subprocess.run([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))",
                          "surveys", "check", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=120, check=False)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"{broken}:8: ") and lines[1] == "1 problem(s) found."
    assert not any(": warning: " in line for line in lines)
    assert len(lines) == 3 and "plain-language warning(s) (--verbose lists them)" in lines[2]


def test_surveys_check_fails_on_a_broken_phrase_list(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "phrases.yaml"
    broken.write_text("self-harm:\n  - ok\n")
    monkeypatch.setenv("SURVEYBOT_SAFEGUARDING_PHRASES", str(broken))
    assert main(["surveys", "check", str(builtin_survey_dir())]) == 1
    assert f"{broken}:2: the phrase `ok` is too short" in capsys.readouterr().err


# --- the registry: everything the bot itself says to young people ---------------------------------------------------

SAMPLE = {"low": 1, "high": 5, "length": 620, "limit": 500, "answer": "Sometimes", "titles": "“You said”",
          "title": "You said", "closes": "30 April", "opens": "Monday 4 May", "correct": "Yes", "tags": "youth",
          "choices": "youth, staff", "example": "/join youth", "tag": "yuoth", "who": msg.CARE_WHO, "help": "HELP",
          "theme": "Buses", "text": "We asked for cheaper bus passes.", "status": "It is done."}


def youth_facing() -> list[tuple[str, str]]:
    """(name, text) of every youth-facing message in the registry (bot.engine.messages.YOUTH_FACING and
    YOUTH_FACING_ELSEWHERE), the young people's privacy notice, and the shipped youth surveys' own words."""
    found: list[tuple[str, str]] = []
    for name in msg.YOUTH_FACING:
        value = getattr(msg, name)
        texts = [value] if isinstance(value, str) else list(value.values() if isinstance(value, dict) else value)
        found.extend((name if len(texts) == 1 else f"{name}[{i}]", t.format(**SAMPLE)) for i, t in enumerate(texts))
    for entry in msg.YOUTH_FACING_ELSEWHERE:
        module_name, _, names = entry.partition(":")
        module = importlib.import_module(module_name)
        chosen = [n for n in vars(module) if re.fullmatch(r"[A-Z][A-Z_]+", n)] if names == "*" else names.split(",")
        found.extend((f"{module_name}.{n}", getattr(module, n)) for n in chosen if isinstance(getattr(module, n), str))
    policy = Policy()
    found.append(("notices.young_people", young_people(policy, Thresholds(10, 10), date(2026, 4, 30))))
    found.append(("notices.young_people (no close)", young_people(policy, Thresholds(10, 10), None)))
    return found


@pytest.mark.parametrize(("name", "text"), youth_facing(), ids=lambda v: v if isinstance(v, str) and len(v) < 50
                         else None)
def test_every_message_to_young_people_is_plain_and_kind(name: str, text: str) -> None:
    assert check_text(text, GLOSSARY, young=True) == [], name


def test_all_youth_messages_together_read_at_grade_6() -> None:
    together = "\n".join(text for _, text in youth_facing())
    assert grade(together) <= 6


def test_the_registry_names_every_care_message() -> None:
    care = [n for n in vars(msg) if n.startswith("CARE_")]
    assert set(care) <= set(msg.YOUTH_FACING)


@pytest.mark.parametrize("path", sorted(builtin_survey_dir().glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_young_people_surveys_pass_the_check(path: Path) -> None:
    survey = load_survey_file(path)
    if survey.audience.value == "young_people":
        assert survey_warnings(survey, GLOSSARY) == []
