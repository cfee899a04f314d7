"""The parsers of "you said, we did" input: item id lists typed by the business unit, statuses, and the data a
reaction button carries back. Property tests: what is written parses back, and nothing typed raises anything but
a one-line YouSaidError (or, for button data, None)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.reactions import REACTIONS, parse_reaction, reaction_data
from bot.services.surveyfiles import builtin_survey_dir, check_files, load_survey_file
from bot.services.yousaid import STATUSES, YouSaidError, parse_ids, parse_status

SURVEYS = builtin_survey_dir()
ids = st.sets(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=30)


def written(numbers: set[int], ranges: bool) -> str:
    """How someone would type the set: plain numbers, or runs collapsed into ranges like 4-7."""
    ordered = sorted(numbers)
    if not ranges:
        return ", ".join(map(str, ordered))
    parts, start = [], ordered[0]
    for before, after in zip(ordered, [*ordered[1:], None], strict=True):
        if after != before + 1:
            parts.append(str(start) if start == before else f"{start}-{before}")
            start = after  # type: ignore[assignment]
    return ",".join(parts)


@given(ids, st.booleans())
def test_typed_item_lists_parse_back(numbers: set[int], ranges: bool) -> None:
    assert parse_ids(written(numbers, ranges)) == sorted(numbers)


@given(st.text(max_size=40))
def test_any_typed_text_gives_ids_or_one_line_naming_the_argument(typed: str) -> None:
    try:
        parsed = parse_ids(typed)
    except YouSaidError as exc:
        assert str(exc).startswith("ITEMS:") and "\n" not in str(exc)
        return
    assert parsed == sorted(set(parsed)) and all(i >= 1 for i in parsed)


@pytest.mark.parametrize("typed", ["0", "5-2", "1,,x", "-3", "1-", "9999999999", "1-100000"])
def test_bad_item_lists_are_refused(typed: str) -> None:
    with pytest.raises(YouSaidError, match=r"^ITEMS: "):
        parse_ids(typed)


@given(st.sampled_from(STATUSES), st.sampled_from(["-", " ", "_", "  "]), st.booleans())
def test_statuses_are_read_however_they_are_spaced(status: str, joiner: str, upper: bool) -> None:
    typed = status.replace("-", joiner)
    assert parse_status(f" {typed.upper() if upper else typed} ") == status


@given(st.text(max_size=20))
def test_anything_else_is_not_a_status(typed: str) -> None:
    try:
        assert parse_status(typed) in STATUSES
    except YouSaidError as exc:
        assert str(exc).startswith("STATUS:")


@given(st.integers(min_value=1, max_value=10**12 - 1), st.sampled_from(REACTIONS))
def test_reaction_buttons_round_trip_within_telegrams_limit(reply_id: int, kind: str) -> None:
    data = reaction_data(reply_id, kind)
    assert len(data.encode()) <= 64 and parse_reaction(data) == (reply_id, kind)


@given(st.one_of(st.none(), st.text(max_size=80)))
def test_any_other_button_data_is_not_a_reaction(data: str | None) -> None:
    parsed = parse_reaction(data)
    if parsed is not None:  # only ever a well-formed reaction
        assert reaction_data(*parsed) == data


@pytest.mark.parametrize("data", ["wd:0:helps", "wd:1:love", "wd:-1:more", "wd:1:more:x", "a:1:p:0", "wd:١:helps",
                                  "go:you-said", ""])
def test_forged_or_foreign_data_is_ignored(data: str) -> None:
    assert parse_reaction(data) is None


def test_feedback_flag_in_survey_files(tmp_path: Path) -> None:
    """`feedback: true` marks text questions only, and any other value is named with its line."""
    source = (SURVEYS / "you-said.yaml").read_text()
    assert load_survey_file(SURVEYS / "you-said.yaml").feedback() == ("change",)
    broken = tmp_path / "broken.yaml"
    broken.write_text(source.replace("    feedback: true", "    feedback: maybe").replace(
        "    text: Do the adults who help you listen to you?",
        "    text: Do the adults who help you listen to you?\n    feedback: true"))
    _, problems = check_files([broken])
    said = [str(p) for p in problems]
    assert any("`feedback` should be true or false" in p and p.startswith(f"{broken}:") for p in said), said
    assert any("unknown key `feedback` for a single question" in p for p in said), said
