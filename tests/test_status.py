"""`surveybot status` keeps to the round's threshold: no printed count is ever in 1..k-1."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.port import Address
from bot.services.policy import Policy
from bot.services.round_status import RoundCounts, read_counts, render, round_status, suppress_status
from bot.services.service import SurveyService
from storage import rounds
from storage.unit_of_work import Store

from .test_service_storage import WORKSPACE, complete_sample

LABEL = st.text(alphabet="abcdefghij ", min_size=1, max_size=8).map(lambda s: f"group {s.strip() or 'x'}")


def printed_counts(lines: list[str], k: int) -> list[int]:
    """Every number on a count line (four-space indent), after taking out the "fewer than k" label itself."""
    numbers = []
    for line in lines:
        if line.startswith("    "):
            numbers += [int(n) for n in re.findall(r"\d+", line.replace(f"fewer than {k}", ""))]
    return numbers


@st.composite
def round_counts(draw: st.DrawFn) -> tuple[RoundCounts, int]:
    k = draw(st.sampled_from([3, 5, 10]))
    small = st.integers(0, 3 * k)
    breakdowns: dict[str, dict[str, int]] = {}
    for name in draw(st.lists(st.sampled_from(["agency", "role_band", "area"]), max_size=3, unique=True)):
        labels = draw(st.lists(LABEL, min_size=1, max_size=5, unique=True))
        breakdowns[name] = {label: draw(small) for label in labels}
    totals = {sum(options.values()) for options in breakdowns.values()}
    completed = totals.pop() if totals else draw(small)
    if totals:  # every breakdown of a round adds up to the same completed count
        for name, options in breakdowns.items():
            first = next(iter(options))
            options[first] += completed - sum(options.values())
            if options[first] < 0:
                breakdowns[name] = {first: completed}
    return RoundCounts(completed, draw(small), breakdowns), k


@settings(max_examples=300, deadline=None)
@given(round_counts())
def test_status_never_prints_a_count_from_1_to_k_minus_1(case: tuple[RoundCounts, int]) -> None:
    counts, k = case
    lines = render(suppress_status(counts, k))
    assert all(n == 0 or n >= k for n in printed_counts(lines, k)), lines


@settings(max_examples=300, deadline=None)
@given(round_counts())
def test_a_shown_breakdown_always_totals_the_shown_completed_count(case: tuple[RoundCounts, int]) -> None:
    counts, k = case
    status = suppress_status(counts, k)
    completed = status.responses.cells["completed"]
    for breakdown in status.breakdowns:
        if breakdown.counts is not None:
            assert not completed.suppressed and breakdown.counts.total == completed


def test_small_groups_are_hidden_and_a_hidden_total_is_not_given_away() -> None:
    counts = RoundCounts(completed=12, not_completed=2, breakdowns={"agency": {"Police": 9, "Health": 3}})
    lines = render(suppress_status(counts, 5))
    assert "    not completed" in lines[2] and lines[2].endswith("fewer than 5")
    # the total gives way, not the completed count every other table adds up to: else 14 - 12 = 2
    assert lines[1].endswith(" 12") and lines[3].startswith("    started") and lines[3].endswith("hidden")
    assert lines[4] == "  completed by agency"
    assert lines[5].endswith("hidden") and lines[6].endswith("fewer than 5") and lines[7].endswith(" 12")


def test_a_count_below_k_with_no_dropouts_hides_the_total_as_small_too() -> None:
    lines = render(suppress_status(RoundCounts(completed=3, not_completed=0, breakdowns={}), 5))
    assert [line.split()[-1] for line in lines[1:]] == ["5", "0", "5"] and "fewer than" in lines[3]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_status_of_a_real_round(service: SurveyService, store: Store) -> None:
    for person in range(7):
        complete_sample(service, Address("telegram", WORKSPACE, f"s{person}"), agency=0 if person < 5 else 1)
    survey = service.catalogue.latest("sample")
    assert read_counts(store, survey, 1).breakdowns == {"agency": {"Police": 5, "Health": 2, "No": 0}}
    with store.unit() as uow:
        key = rounds.get(uow, "sample", 1)
    assert key is not None
    header, status = round_status(store, Policy(), survey, key)
    assert header[0].startswith("sample wave 1 (practitioners): groups under 5 are not shown")
    lines = render(status)
    assert lines[5].startswith("    Police") and lines[5].endswith(" hidden")  # else 7 - 5 gives Health away
    assert lines[6].startswith("    Health") and lines[6].endswith(" fewer than 5")
    assert lines[7].startswith("    No") and lines[7].endswith(" 0")  # 0 stays 0
    assert printed_counts(lines, 5) == [7, 0, 7, 0, 7]
