"""Survey files: every shipped file validates, and every kind of mistake is reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.survey import Audience, Kind
from bot.services.surveyfiles import SurveyFileError, builtin_survey_dir, check_files, parse_survey

from .conftest import SAMPLE

REPO_SURVEYS = Path(__file__).parent.parent / "surveys"
GOOD = SAMPLE.read_text()


def problems(source: str) -> list[str]:
    with pytest.raises(SurveyFileError) as caught:
        parse_survey(source, "broken.yaml")
    return [str(p) for p in caught.value.problems]


def test_every_file_in_surveys_validates() -> None:
    files = sorted(REPO_SURVEYS.glob("*.yaml"))
    assert len(files) >= 3
    surveys, found = check_files(files)
    assert found == []
    assert {s.id for s in surveys} >= {"policy-awareness", "you-said", "wood-partner-survey"}


def test_the_package_ships_the_same_folder() -> None:
    assert builtin_survey_dir().resolve() == REPO_SURVEYS.resolve()


def test_templates_have_what_the_issue_asks_for() -> None:
    surveys = {s.id: s for s in check_files([REPO_SURVEYS])[0]}
    policy = surveys["policy-awareness"]
    assert policy.audience is Audience.PRACTITIONERS
    assert {q.breakdown for q in policy.breakdowns()} >= {"agency", "role_band"}
    assert 2 <= sum(q.kind is Kind.KNOWLEDGE for q in policy.questions) <= 3
    assert any(q.kind is Kind.SCALE for q in policy.questions)
    assert surveys["you-said"].audience is Audience.YOUNG_PEOPLE
    wood = surveys["wood-partner-survey"]
    partner = wood.question("partner")
    assert partner.breakdown == "partner" and set(partner.choices) == {"Health", "Local authority", "Police"}
    scrutiny = wood.question("scrutiny_model")
    assert scrutiny.kind is Kind.MULTI
    assert len(scrutiny.choices) == 4 and scrutiny.other
    assert any(q.kind is Kind.YESNO and "whitehall" in q.text.lower() for q in wood.questions)


def test_yes_no_on_off_stay_strings() -> None:
    survey = parse_survey(GOOD, "sample.yaml")
    assert survey.question("agency").choices == ("Police", "Health", "No")
    assert survey.question("sources").choices == ("Briefing", "Email", "off")
    source = GOOD.replace('[Police, Health, "No"]', "[Police, No, on, Off, 01]")
    assert parse_survey(source).question("agency").choices == ("Police", "No", "on", "Off", "01")


def line_of(source: str, needle: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("    kind: yesno\n", "    kind: yesno\n    colour: blue\n", "colour: blue", "unknown key `colour`"),
    ("  - id: visits", "  - id: aware  # again", "id: aware  # again", "question id `aware` is used twice"),
    ("ask_if: {question: aware, answer: \"Yes\"}", "ask_if: {question: comment, answer: \"Yes\"}",
     "ask_if: {question: comment", "not an earlier question"),
    ("ask_if: {question: aware, answer: \"Yes\"}", "ask_if: {question: nowhere, answer: \"Yes\"}",
     "ask_if: {question: nowhere", "not an earlier question"),
    ("ask_if: {question: aware, answer: \"Yes\"}", "ask_if: {question: aware, answer: Maybe}",
     "ask_if: {question: aware, answer: Maybe}", "not an option of `aware`"),
    ("choices: [Police, Health, \"No\"]", "choices: []", "choices: []", "needs at least two choices"),
    ("choices: [Police, Health, \"No\"]", "choices: [Police, police]", "choices: [Police, police]", "listed twice"),
    ("correct: Talk to your lead", "correct: Shout", "correct: Shout", "is not one of its choices"),
    ("    min: 0\n    max: 40", "    min: 40\n    max: 0", "max: 0", "bounds are reversed"),
    ("    min: 1\n    max: 5", "    min: 1\n    max: 50", "max: 50", "a scale has 2 to 11 points"),
    ("kind: number", "kind: slider", "kind: slider", "kind `slider` should be one of"),
    ("max_length: 20", "max_length: lots", "max_length: lots", "should be a whole number"),
    ("optional: true", "optional: yes", "optional: yes", "should be true or false"),
    ("audience: practitioners", "audience: everyone", "audience: everyone", "audience `everyone`"),
    ("version: 1", "version: one", "version: one", "`version` should be a whole number"),
    ("id: sample", "id: Sample Survey", "id: Sample Survey", "survey id `Sample Survey`"),
    ("    breakdown: agency\n", "    breakdown: agency\n    optional: true\n", "breakdown: agency",
     "is a breakdown, so it cannot be optional"),
    ("audience: practitioners\n", "audience: partners\nmin_group: 2\n", "min_group: 2",
     "`min_group` is 2; it should be from 3 to 100"),
    ("audience: practitioners\n", "audience: partners\nmin_group: 500\n", "min_group: 500",
     "it should be from 3 to 100"),
    ("audience: practitioners\n", "audience: partners\nmin_group: three\n", "min_group: three",
     "`min_group` should be a whole number"),
    ("audience: practitioners\n", "audience: practitioners\nmin_group: 3\n", "min_group: 3",
     "below the 5 that protects people in a practitioners survey; only a partners survey"),
    ("audience: practitioners\n", "audience: young_people\nmin_group: 6\n", "min_group: 6",
     "below the 10 that protects people in a young_people survey"),
])
def test_each_mistake_is_reported_at_its_line(old: str, new: str, needle: str, message: str) -> None:
    assert old in GOOD
    broken = GOOD.replace(old, new, 1)
    found = problems(broken)
    expected_line = line_of(broken, needle.split("\n")[0])
    assert any(p.startswith(f"broken.yaml:{expected_line}: ") and message in p for p in found), found


def test_a_survey_may_set_its_own_reporting_threshold() -> None:
    assert parse_survey(GOOD).min_group is None
    partners = parse_survey(GOOD.replace("audience: practitioners\n", "audience: partners\nmin_group: 3\n"))
    assert partners.min_group == 3
    stricter = parse_survey(GOOD.replace("audience: practitioners\n", "audience: practitioners\nmin_group: 8\n"))
    assert stricter.min_group == 8


def test_the_shipped_partner_survey_reports_groups_of_3() -> None:
    surveys = {s.id: s for s in check_files([REPO_SURVEYS])[0]}
    wood = surveys["wood-partner-survey"]
    assert wood.audience is Audience.PARTNERS and wood.min_group == 3
    assert wood.version == 2  # version 1 may have collected answers already: its text is frozen
    assert all(s.min_group is None for s in surveys.values() if s is not wood)


def test_missing_fields_and_bad_yaml() -> None:
    assert any(":1: " in p and "has no `questions`" in p for p in problems("id: x\nversion: 1\n"))
    bad = problems(GOOD.replace("title: Sample of every kind", "title: [unclosed"))
    assert len(bad) == 1 and "not valid YAML" in bad[0]
    assert problems("") == ["broken.yaml:1: the file is empty"]
    assert any("should be a set of `key: value` lines" in p for p in problems("- just\n- a list\n"))


def test_several_problems_are_all_reported() -> None:
    broken = GOOD.replace("correct: Talk to your lead", "correct: Shout").replace("kind: number", "kind: slider")
    assert len(problems(broken)) == 2


def test_check_files_reports_missing_paths_and_duplicate_ids(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    _, found = check_files([tmp_path, tmp_path / "missing.yaml"])
    text = [str(p) for p in found]
    assert any("b.yaml:1: survey `sample` version 1 is already defined" in p for p in text)
    assert any("missing.yaml:0: no such file" in p for p in text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_survey_or_a_list_of_problems(source: str) -> None:
    try:
        parse_survey(source, "fuzz.yaml")
    except SurveyFileError as exc:
        assert exc.problems and all(str(p).startswith("fuzz.yaml:") for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_valid_files_never_crash_the_loader(data: st.DataObject) -> None:
    lines = GOOD.splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    replacement = data.draw(st.one_of(
        st.text(max_size=40), st.sampled_from(["", "    kind: multi", "    optional: maybe", "  - id: agency",
                                               "    choices: [a]", "    min: x", "questions: 3", "    ask_if: 5"])))
    mutated = "\n".join([*lines[:index], replacement, *lines[index + 1:]])
    try:
        survey = parse_survey(mutated, "m.yaml")
    except SurveyFileError as exc:
        assert all(0 <= p.line <= len(mutated.splitlines()) + 1 for p in exc.problems)
    else:
        assert survey.questions


def test_yaml_is_read_as_written_not_as_yaml_1_1() -> None:
    # the plain loader would turn these into booleans and integers; ours keeps the words
    assert yaml.safe_load("[No, on, 01]") == [False, True, 1]
    assert parse_survey(GOOD.replace('"No"]', "No]")).question("agency").choices[-1] == "No"
