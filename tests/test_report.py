"""Reports: every figure checked by hand against a small fixed dataset of two waves (tests/dataset.py), answered
through the real service; suppression in every table, the summary and the method; a self-contained, reproducible
HTML file; and, for random rounds, no published count from 1 to k-1 anywhere."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.survey import Survey
from bot.reporting import html
from bot.reporting.figures import WITHHELD_LINKED, Row, WaveResult, build_wave
from bot.reporting.method import method, render_text
from bot.reporting.report import Report, ReportRequestError, make_report
from bot.reporting.summary import three_questions
from bot.reporting.tally import RoundTally, add, new_tally
from bot.services.disclosure import Cell
from bot.services.policy import Policy, Thresholds, round_thresholds
from bot.services.privacy import Keys
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue, parse_survey
from storage import database
from storage.results import RoundFacts
from storage.unit_of_work import Store

from . import dataset
from .conftest import PEPPER, SAMPLE, Clock

KEY = b"report-test-key"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sample: Survey) -> Iterator[tuple[Store, Survey]]:
    store = dataset.store_copy(tmp_path_factory.mktemp("report"))
    yield store, sample
    store.engine.dispose()


def report_of(built: tuple[Store, Survey], wave: int | None, other: int | None = None) -> Report:
    store, sample = built
    return make_report(store, Policy(), [sample], "sample", wave, other, KEY, date(2026, 3, 10))


def count_cells(page: str) -> list[str]:
    """Every published count in the HTML: the text of each cell marked "count"."""
    return re.findall(r'<td class="n count(?: hidden)?">([^<]*)</td>', page)


def assert_no_small_counts(page: str, k: int) -> None:
    for text in count_cells(page):
        number = text.split(" (")[0].replace(",", "")
        if number.isdigit():
            assert int(number) == 0 or int(number) >= k, (text, page[:200])
        else:
            assert number in (f"fewer than {k}", "hidden", "withheld"), text


def test_wave_two_figures_are_the_hand_counted_ones(built: tuple[Store, Survey]) -> None:
    wave = report_of(built, 2).current
    responses = wave.responses
    assert responses.completed.count == 20
    assert responses.not_completed.shown() == "fewer than 5"  # the 2 who stopped
    assert responses.started.suppressed  # else 22 - 20 gives them away
    agency = responses.groups["agency"]
    assert agency is not None and {g: c.count for g, c in agency.cells.items()} == {"Police": 14, "Health": 6,
                                                                                     "No": 0}
    aware = wave.question("aware")
    assert aware is not None and aware.answered == 20 and aware.percent_of == "answered"
    assert [(r.label, r.cell.count, r.percent) for r in aware.rows] == [("Yes", 15, 75.0), ("No", 5, 25.0)]
    (by_agency,) = aware.groups
    police, health, nobody = by_agency.rows
    assert [c.count for c in police.cells] == [9, 5] and police.total.count == 14
    assert police.percents[0] == pytest.approx(100 * 9 / 14) and police.percents[1] == pytest.approx(100 * 5 / 14)
    assert [c.count for c in health.cells] == [6, 0] and health.percents == (None, None)  # base 6 < 10
    assert nobody.total.count == 0
    sources = wave.question("sources")
    assert sources is not None and sources.answered == 15
    assert {r.label: (r.cell.count, r.percent) for r in sources.rows} == {
        "Briefing": (10, pytest.approx(100 * 10 / 15)), "Email": (15, 100.0), "off": (0, 0.0),
        "Other, please say": (5, pytest.approx(100 * 5 / 15)), "not asked": (5, None)}  # the 5 not aware
    confidence = wave.question("confidence")
    assert confidence is not None and confidence.mean == 4.0
    assert {r.label: r.cell.count for r in confidence.rows} == {"1": 0, "2": 0, "3": 5, "4": 10, "5": 5}
    visits = wave.question("visits")
    assert visits is not None and (visits.mean, visits.median) == (12.0, 12.0)
    first_step = wave.question("first_step")
    assert first_step is not None and first_step.correct is not None and first_step.correct.percent == 75.0
    assert [(c.column, c.withheld) for c in wave.comments] == [
        ("sources.other", "not shown: fewer than 10 people wrote one"),
        ("comment", "not shown: fewer than 10 people wrote one")]


def test_a_group_of_three_shows_fewer_than_5_in_the_report_and_the_method_never_3(
        built: tuple[Store, Survey]) -> None:
    report = report_of(built, 1)
    page = html.render(report)
    assert '<td>Health</td><td class="n count hidden">fewer than 5</td>' in page
    assert '<td>Police</td><td class="n count hidden">hidden</td>' in page  # else 20 - 17 = 3
    assert_no_small_counts(page, 5)
    note = render_text(method(report), "Method")
    assert "Completed responses by agency: “Health” shows “fewer than 5”, because fewer than 5 people are in it; " \
           "“Police” shows “hidden”" in note.replace("\n  ", " ").replace("\n", " ")
    for text in (page, note, render_text(three_questions(report), "Summary")):
        assert not re.search(r"Health\D{0,40}\b3\b", text)
        assert not re.search(r"\b17\b", text)  # the Police count would give Health's away


def test_wave_one_percentages_means_and_comments(built: tuple[Store, Survey]) -> None:
    wave = report_of(built, 1).current
    aware = wave.question("aware")
    assert aware is not None and [(r.cell.count, r.percent) for r in aware.rows] == [(8, 40.0), (12, 60.0)]
    sources = wave.question("sources")
    assert sources is not None and sources.answered == 8 and sources.percent_of == ""  # base under 10
    assert all(r.percent is None for r in sources.rows)
    confidence = wave.question("confidence")
    assert confidence is not None and confidence.mean == 2.5
    first_step = wave.question("first_step")
    assert first_step is not None and first_step.correct is not None and first_step.correct.percent == 50.0
    comments = next(c for c in wave.comments if c.column == "comment")
    assert comments.total == 10 and sorted(comments.shown) == sorted(f"Wave one note {i}" for i in range(10))
    assert list(comments.shown) != [f"Wave one note {i}" for i in range(10)]  # not in answer order
    again = next(c for c in report_of(built, 1).current.comments if c.column == "comment")
    assert again.shown == comments.shown  # the same order every time


def test_wave_two_compared_with_wave_one_by_hand(built: tuple[Store, Survey]) -> None:
    report = report_of(built, 2, 1)
    assert report.comparison is not None
    changes = {c.question.id: c for c in report.comparison.changes}
    assert changes["aware"].sentence == ("“Yes” to “Did you know the policy?” rose from 40% to 75% (a significant "
                                         "change).")
    pooled = 23 / 40
    z = (0.75 - 0.40) / math.sqrt(pooled * (1 - pooled) * (1 / 20 + 1 / 20))
    assert changes["aware"].result is not None and changes["aware"].result.statistic == pytest.approx(z)
    assert changes["aware"].result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert changes["aware"].result.p_value == pytest.approx(0.0252, abs=1e-4)
    assert changes["first_step"].sentence == ("Correct answers to “What comes first?” rose from 50% to 75% (not a "
                                              "significant change: it could be chance).")
    assert changes["first_step"].result is not None
    assert changes["first_step"].result.p_value == pytest.approx(0.1025, abs=1e-4)
    # Mann-Whitney by hand: wave 1 ranks sum to 272.5, so U = 62.5 against a mean of 200; the tie-corrected variance
    # is 400/12 * (41 - 4710/1560)
    z_confidence = (200 - 62.5 - 0.5) / math.sqrt(400 / 12 * (41 - 4710 / 1560))
    confidence = changes["confidence"]
    assert confidence.result is not None and confidence.result.statistic == pytest.approx(z_confidence)
    assert confidence.sentence == ("The average answer to “How confident?” (from 1, not at all, to 5, very) rose "
                                   "from 2.5 to 4.0 (a significant change).")
    assert changes["visits"].sentence == ("The average answer to “How many visits last week?” rose from 10.0 to "
                                          "12.0 (a significant change).")
    reasons = {n.question.id: n.reason for n in report.comparison.not_compared}
    assert reasons == {
        "agency": "some of its answers in wave 1 are too few to show, and a test on them would give them away",
        "sources": "fewer than 10 people answered it in wave 1",
        "comment": "written answers are not compared",
    }
    difference = three_questions(report)[2]
    assert difference.paragraphs[0] == ("Compared with wave 1 (20 completed responses), 3 of the 4 questions "
                                        "compared changed significantly.")
    assert difference.bullets[0].startswith("“Yes” to “Did you know the policy?” rose from 40% to 75%")


def test_the_three_questions_summary_reads_plainly(built: tuple[Store, Survey]) -> None:
    much, well, _ = three_questions(report_of(built, 2))
    assert much.paragraphs[0] == "20 practitioners completed the survey in wave 2 on 9 March 2026."
    assert much.paragraphs[1].startswith("Invited: not recorded.")
    assert much.paragraphs[2] == "Fewer than 5 more started it without finishing."
    assert much.bullets == ("Completed responses by agency: Police 14, Health 6, No 0.",)
    assert well.bullets[0] == ("“What comes first?”: 75% chose the right answer (“Talk to your lead”), of the 20 who "
                               "answered.")
    assert "“Did you know the policy?”: 75% said yes, of the 20 who answered." in well.bullets
    assert ("“How confident?”: an average of 4.0 on a scale from 1 (Not at all) to 5 (Very), from 20 answers."
            in well.bullets)


def test_the_html_is_self_contained_reproducible_and_names_nobody(built: tuple[Store, Survey]) -> None:
    page = html.render(report_of(built, 2, 1))
    assert page == html.render(report_of(built, 2, 1))
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page and "@page" in page
    for forbidden in ("<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "https://"):
        assert forbidden not in page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    charts = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(charts) >= 8
    for chart in charts:
        ElementTree.fromstring(chart)  # well-formed SVG
    assert dataset.WORKSPACE not in page and "telegram" not in page
    assert not re.search(r"\b\d{1,2}:\d{2}\b", page)  # no time of day anywhere
    assert not re.search(r"\b[12]00\d\d\b", page)  # no platform user id
    assert_no_small_counts(page, 5)
    assert "Change between waves" in page and "40% to 75%" in page


def test_versions_that_changed_are_compared_only_where_they_can_be(tmp_path: Path,
                                                                    catalogue: SurveyCatalogue) -> None:
    first = catalogue.latest("sample")
    source = SAMPLE.read_text().replace("version: 1", "version: 2").replace(
        'choices: [Briefing, Email, "off"]', 'choices: [Briefing, Email, "off", Newsletter]') + (
        "  - id: trained\n    kind: yesno\n    text: Have you had training?\n")
    second = parse_survey(source, "sample v2")
    engine_ = database.connect(f"sqlite:///{tmp_path / 'surveybot.db'}")
    database.upgrade(engine_)
    store = Store(engine_)
    clock = Clock()
    for wave, versions in ((1, [first]), (2, [first, second])):
        service = SurveyService(store, SurveyCatalogue(versions), Keys(PEPPER), clock)
        service.publish_all()
        for i in range(10):
            who = Address("telegram", dataset.WORKSPACE, f"{wave}{i:04d}")
            outcome = dataset.answer(service, who, wave, dataset.Person(agency=0, aware=True, sources=(1,)))
            if wave == 2:
                service.handle(who, engine.Pick(dataset.ask(outcome).turn, 0))
    report = make_report(store, Policy(), [first, second], "sample", None, 1, KEY, date(2026, 3, 10))
    assert report.current.wave == 2 and report.current.versions == (2,)
    assert report.comparison is not None
    reasons = {n.question.id: n.reason for n in report.comparison.not_compared}
    assert reasons["sources"] == "its options changed between the waves"
    assert reasons["trained"] == "asked only in wave 2"
    assert "aware" in {c.question.id for c in report.comparison.changes}
    with pytest.raises(ReportRequestError, match="--compare: wave 2 is the report's own wave"):
        make_report(store, Policy(), [first, second], "sample", 2, 2, KEY, date(2026, 3, 10))
    with pytest.raises(ReportRequestError, match=r"--wave: `sample` has no wave 7 \(it has 1, 2\)"):
        make_report(store, Policy(), [first, second], "sample", 7, None, KEY, date(2026, 3, 10))
    engine_.dispose()


ANSWERS = st.fixed_dictionaries({
    "agency": st.sampled_from(["Police", "Health", "No"]),
    "aware": st.sampled_from(["Yes", "No"]),
    "sources": st.one_of(st.none(), st.lists(st.sampled_from(["Briefing", "Email", "off"]), min_size=1,
                                             max_size=3, unique=True)),
    "confidence": st.one_of(st.integers(1, 5)),
    "visits": st.integers(0, 40),
    "first_step": st.sampled_from(["Call", "Talk to your lead", "Wait"]),
    "comment": st.one_of(st.none(), st.just("fine")),
})


@settings(max_examples=60, deadline=None)
@given(people=st.lists(ANSWERS, max_size=45), dropouts=st.integers(0, 12), k=st.sampled_from([3, 5, 10]))
def test_no_published_count_is_ever_from_1_to_k_minus_1(people: list[dict[str, Any]], dropouts: int, k: int,
                                                        sample: Survey) -> None:
    tally = new_tally("sample", 1, [sample])
    for number, answers in enumerate(people):
        add(tally, answers, lambda column, n=number: n)
    facts = RoundFacts(date(2026, 3, 2), None, date(2026, 3, 2), date(2026, 3, 2), len(people) + dropouts,
                       len(people), 0, 0)
    wave = build_wave(tally, sample, facts, Thresholds(k, max(k, 10)), locked=True)
    report = Report(wave, date(2026, 3, 3), (1,))
    for cell in published_cells(wave):
        assert cell.count is None or cell.count == 0 or cell.count >= k, cell
    assert_no_small_counts(html.render(report), k)
    render_text(method(report), "Method")  # renders whatever the round looks like


def published_cells(wave: WaveResult) -> Iterator[Cell]:
    """Every count a report of this round can print: the renderers print nothing else."""
    responses = wave.responses
    yield from (responses.completed, responses.not_completed, responses.started)
    for counts in responses.groups.values():
        if counts is not None:
            yield from (*counts.cells.values(), counts.total)
    for result in wave.questions:
        yield result.total
        yield from (row.cell for row in result.rows)
        for group in result.groups:
            for row in group.rows:
                yield from (*row.cells, row.total)
            yield from group.column_totals
            if group.grand_total is not None:
                yield group.grand_total


def test_a_table_by_group_whose_totals_disagree_with_the_published_ones_is_withheld(sample: Survey) -> None:
    # Overall, "Call" (2) is small, so the cheapest shown count beside it ("Talk" or "Wait", 5 each) is hidden. By
    # agency, protecting the four small cells hides other counts, and its totals no longer match those two tables.
    answers = ([("Police", "Talk to your lead")] * 3 + [("Police", "Wait")] * 2 + [("Police", "Call")]
               + [("No", "Wait")] * 3 + [("No", "Talk to your lead")] * 2 + [("No", "Call")])
    tally = new_tally("sample", 1, [sample])
    for number, (agency, step) in enumerate(answers):
        add(tally, {"agency": agency, "aware": "No", "confidence": 3, "visits": 1, "first_step": step},
            lambda column, n=number: n)
    facts = RoundFacts(None, None, None, None, 12, 12, 0, 0)
    wave = build_wave(tally, sample, facts, Thresholds(5, 10), locked=True)
    first_step = wave.question("first_step")
    assert first_step is not None and first_step.row("Call") is not None
    assert first_step.row("Call").cell.shown() == "fewer than 5"  # type: ignore[union-attr]
    (by_agency,) = first_step.groups
    assert by_agency.withheld == WITHHELD_LINKED and by_agency.rows == ()
    page = html.render(Report(wave, date(2026, 3, 3), (1,)))
    assert "By agency:</b> withheld: showing it would reveal a number hidden elsewhere in this report" in page


def test_a_title_ending_in_a_question_mark_and_invitations_by_group_read_plainly() -> None:
    """The practitioner survey's title ends "know it?": the report says "know it? (wave 1)", not "know it?: wave 1".
    With invitations recorded, the tables by agency and role band never say "invited: not recorded"."""
    from bot.services.surveyfiles import builtin_survey_dir, load_survey_file

    survey = load_survey_file(builtin_survey_dir() / "policy-awareness.yaml")
    tally = new_tally(survey.id, 1, [survey])
    for number in range(30):
        add(tally, {"agency": "Police" if number % 2 else "Health", "role_band": "Senior leader", "aware": "No"},
            lambda column, n=number: n)
    facts = RoundFacts(None, None, None, None, 30, 30, 40, 30)
    page = html.render(Report(build_wave(tally, survey, facts, Thresholds(5, 10), locked=True), date(2026, 3, 3),
                              (1,)))
    assert "how well do you know it? (wave 1)</h1>" in page and "?:" not in page
    used = page[page.index('id="q-used"'):]  # asked only of those aware: all 30 said No
    assert "<tr><td>not asked</td>" in used[:used.index("</article>")] and "(no answer)" not in used[:used.index(
        "</article>")]
    assert "Invited: 40" in page and "invited: not recorded" not in page.lower()
    assert "no response rate by role band" in page


# The Wood review's survey of partnerships (2021): 117 responses from 132 areas. Every per-option percentage it
# published (the review's paragraphs 27, 54, 99 and 117 and its table of scrutiny models; see shared/seeds).
WOOD_FIGURES: dict[str, dict[str, int]] = {  # question -> option -> published percentage
    "scrutiny_model": {"External independent assessment or review": 23, "Local authority scrutiny processes": 3,
                       "Independent chair of the statutory partners' meeting": 37, "Peer or regional review": 3,
                       "Other, please say": 37},
    "operational_focus": {"Yes, we have evidence": 61, "We are gathering evidence": 13,
                          "Not yet begun to gather evidence": 26},
    "relevant_agencies": {"Yes": 60, "No": 37, "Not sure": 3},
    "child_voice_new": {"Yes": 50, "No": 50},
    "delegated": {"Yes": 100},
}
# Published only as a sum: 90% said the reforms were having a positive effect to some or a significant degree.
WOOD_STRATEGIC_YES = 90


def wood_round(wood: Survey) -> RoundTally:
    """117 partnerships' answers that give exactly the published percentages."""
    scrutiny = (["Independent chair of the statutory partners' meeting"] * 43 + ["Other, please say"] * 43
                + ["External independent assessment or review"] * 27 + ["Local authority scrutiny processes"] * 4)
    operational = (["Yes, we have evidence"] * 71 + ["We are gathering evidence"] * 15
                   + ["Not yet begun to gather evidence"] * 31)
    agencies = ["Yes"] * 70 + ["No"] * 43 + ["Not sure"] * 4
    voice = ["Yes"] * 58 + ["No"] * 59
    strategic = (["Yes, to a significant degree"] * 30 + ["Yes, to some degree"] * 75 + ["Not yet"] * 6
                 + ["Too early to say"] * 6)
    tally = new_tally(wood.id, 1, [wood])
    for n in range(117):
        ticked = [scrutiny[n], "Peer or regional review"] if n < 4 else [scrutiny[n]]  # 4 areas ticked two models
        answers = {"partner": ("Health", "Local authority", "Police")[n % 3], "scrutiny_model": ticked,
                   "scrutiny_model.other": "A mix of the two" if "Other, please say" in ticked else None,
                   "operational_focus": operational[n], "relevant_agencies": agencies[n],
                   "child_voice_new": voice[n], "delegated": "Yes", "strategic_impact": strategic[n]}
        add(tally, answers, lambda column, n=n: n)
    return tally


def test_a_partner_round_of_117_shows_every_figure_the_wood_review_published(catalogue: SurveyCatalogue) -> None:
    """Partner surveys are answered by organisations: the shipped one sets `min_group: 3`, so none of the published
    figures is hidden. At the default of 5 the three 3% groups were hidden, and with them (secondary) a 37% one."""
    wood = catalogue.latest("wood-partner-survey")
    tally = wood_round(wood)
    facts = RoundFacts(date(2026, 3, 2), None, date(2026, 3, 2), date(2026, 3, 20), 117, 117, 0, 0)
    thresholds = round_thresholds(Policy(), wood.audience, None, None, wood.min_group)
    assert thresholds == Thresholds(3, 10)

    def figures(k: Thresholds) -> dict[tuple[str, str], Row]:
        wave = build_wave(tally, wood, facts, k, locked=True)
        assert wave.responses.completed.count == 117
        out = {}
        for question, options in WOOD_FIGURES.items():
            result = wave.question(question)
            assert result is not None and result.withheld is None and result.base == 117, question
            for option in options:
                row = result.row(option)
                assert row is not None, (question, option)
                out[(question, option)] = row
        return out

    shown = figures(thresholds)
    assert len(shown) == 14
    for (question, option), row in shown.items():
        assert not row.cell.suppressed, (question, option, row.cell.shown())
        assert row.percent is not None and round(row.percent) == WOOD_FIGURES[question][option], (question, option)
    strategic = build_wave(tally, wood, facts, thresholds, locked=True).question("strategic_impact")
    assert strategic is not None
    yes = [strategic.row(option) for option in ("Yes, to a significant degree", "Yes, to some degree")]
    assert round(sum(row.percent or 0 for row in yes if row is not None)) == WOOD_STRATEGIC_YES
    hidden_at_5 = {key for key, row in figures(Thresholds(5, 10)).items() if row.cell.suppressed}
    assert hidden_at_5 == {("scrutiny_model", "Local authority scrutiny processes"),
                           ("scrutiny_model", "Peer or regional review"),
                           ("relevant_agencies", "Not sure"), ("relevant_agencies", "No")}

    wave = build_wave(tally, wood, facts, thresholds, locked=True)
    report = Report(wave, date(2026, 3, 21), (1,))
    note = " ".join(render_text(method(report), "Method").split())
    assert "Thresholds for this round: groups of at least 3;" in note
    assert "The survey file sets its own group threshold of 3" in note
    page = html.render(report)
    assert "Groups smaller than 3 are never shown" in page
    assert_no_small_counts(page, 3)


def test_the_percentage_correct_counts_first_answers_even_after_back(service: SurveyService, store: Store) -> None:
    """Ten practitioners answer the check wrongly, are told the answer, press Back and try to change it: the report
    counts ten wrong answers and 0% correct."""
    for n in range(10):
        who = Address("telegram", dataset.WORKSPACE, str(7000 + n))
        outcome = service.begin(who, "sample")
        tried_back = False
        for _ in range(40):
            ask = next((e for e in outcome.effects if isinstance(e, engine.Ask)), None)
            if ask is None:
                break
            prompt = ask.prompt
            if prompt.question_id == "comment" and not tried_back:  # just after the explanation: go back
                tried_back = True
                outcome = service.handle(who, engine.Back(prompt.turn))
                assert any(isinstance(e, engine.Say) and e.text == msg.PASSED_OVER for e in outcome.effects)
                continue
            if prompt.kind == "multi":
                service.handle(who, engine.Toggle(prompt.turn, 0))
                outcome = service.handle(who, engine.Done(prompt.turn))
            elif prompt.question_id == "first_step":
                assert not tried_back, "the check was asked again after its answer was shown"
                outcome = service.handle(who, engine.Pick(prompt.turn, 0))  # "Call": wrong
            elif prompt.options and prompt.kind != "consent":
                outcome = service.handle(who, engine.Pick(prompt.turn, len(prompt.options) - 1))
            elif prompt.options:
                outcome = service.handle(who, engine.Pick(prompt.turn, 0))  # "Yes, let's start"
            else:
                outcome = service.handle(who, engine.Reply("2" if prompt.kind == "number" else "ok"))
        assert tried_back and any(isinstance(e, engine.Finish) and e.completed for e in outcome.effects)
    sample = service.catalogue.latest("sample")
    wave = make_report(store, Policy(), [sample], "sample", None, None, KEY, date(2026, 3, 10)).current
    first_step = wave.question("first_step")
    assert first_step is not None and first_step.correct is not None
    assert first_step.correct.cell.count == 0 and first_step.correct.percent == 0.0
    assert {r.label: r.cell.count for r in first_step.rows} == {"Call": 10, "Talk to your lead": 0, "Wait": 0}
