"""Disclosure control: hand-worked tables, and properties checked by brute force on random tables."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.disclosure import (
    HIDDEN,
    SECONDARY,
    WITHHELD,
    Cell,
    SuppressedCounts,
    SuppressedTable,
    percentage,
    suppress_counts,
    suppress_table,
)


def shown(result: SuppressedCounts) -> tuple[dict[str, str], str]:
    return {key: cell.shown() for key, cell in result.cells.items()}, result.total.shown()


# --- hand-computed examples ----------------------------------------------------------------------------------------


def test_cell_labels() -> None:
    assert Cell(12).shown() == "12"
    assert Cell(0).shown() == "0"
    assert Cell(None, "fewer than 5").shown() == "fewer than 5"
    assert Cell(None, SECONDARY).shown() == HIDDEN
    assert Cell(None, "fewer than 10").small and not Cell(None, SECONDARY).small


def test_nothing_small_nothing_hidden() -> None:
    result = suppress_counts({"Yes": 12, "No": 30, "Not sure": 0}, k=5)
    assert shown(result) == ({"Yes": "12", "No": "30", "Not sure": "0"}, "42")
    assert result.summary() == {}


def test_one_small_cell_hides_the_next_smallest_non_zero_cell() -> None:
    # 3 is small; with the total 15 shown it would be 15 - 12, so 12 goes too. The 0 can't help and stays.
    result = suppress_counts({"Yes": 12, "No": 3, "Not sure": 0}, k=5)
    assert shown(result) == ({"Yes": "hidden", "No": "fewer than 5", "Not sure": "0"}, "15")
    assert result.cells["Yes"].reason == SECONDARY
    assert result.summary() == {"fewer than 5": 1, SECONDARY: 1}


def test_next_smallest_not_first() -> None:
    result = suppress_counts({"A": 20, "B": 2, "C": 7, "D": 30}, k=5)
    assert shown(result) == ({"A": "20", "B": "fewer than 5", "C": "hidden", "D": "30"}, "59")


def test_two_small_cells_protect_each_other() -> None:
    # 2 + 3 = 25 - 20: each is 1..4 and they sum to 5, so neither is pinned down; nothing else is hidden.
    result = suppress_counts({"A": 20, "B": 2, "C": 3}, k=5)
    assert shown(result) == ({"A": "20", "B": "fewer than 5", "C": "fewer than 5"}, "25")


def test_small_total_hides_the_whole_group_zeros_included() -> None:
    result = suppress_counts({"A": 3, "B": 1, "C": 0}, k=5)
    assert shown(result) == ({"A": "fewer than 5", "B": "fewer than 5", "C": "fewer than 5"}, "fewer than 5")


def test_true_zero_group_is_shown_as_zero() -> None:
    assert shown(suppress_counts({"A": 0, "B": 0}, k=5)) == ({"A": "0", "B": "0"}, "0")


def test_all_ones_need_the_total_hidden() -> None:
    # Five cells of 1 with total 5: each hidden cell is at least 1, so the total would pin every one of them.
    result = suppress_counts({c: 1 for c in "ABCDE"}, k=5)
    assert shown(result) == ({c: "fewer than 5" for c in "ABCDE"}, "hidden")


def test_bounds_matter_not_just_counting_hidden_cells() -> None:
    # A small cell beside a cell of exactly k: hiding B would still give A away (B >= 5, A >= 1, A + B = 6).
    assert shown(suppress_counts({"A": 1, "B": 5}, k=5)) == ({"A": "fewer than 5", "B": "5"}, "hidden")
    # Both at k - 1 with total 8: 4 + 4 is the only way, so the total goes.
    assert shown(suppress_counts({"A": 4, "B": 4}, k=5)) == ({"A": "fewer than 5", "B": "fewer than 5"}, "hidden")


def test_young_people_threshold_is_ten() -> None:
    result = suppress_counts({"Happy": 15, "Sad": 9, "Unsure": 12}, k=10)
    assert shown(result) == ({"Happy": "15", "Sad": "fewer than 10", "Unsure": "hidden"}, "36")


def test_multiple_choice_has_no_sum_relation() -> None:
    # 15 respondents ticked 24 boxes: no relation between cells and total, so only the small cell goes.
    result = suppress_counts({"Email": 3, "Phone": 12, "Text": 9}, k=5, respondents=15)
    assert shown(result) == ({"Email": "fewer than 5", "Phone": "12", "Text": "9"}, "15")


def test_multiple_choice_small_group_is_still_hidden() -> None:
    result = suppress_counts({"Email": 3, "Phone": 0}, k=5, respondents=4)
    assert shown(result) == ({"Email": "fewer than 5", "Phone": "fewer than 5"}, "fewer than 5")


def test_two_way_hides_a_rectangle() -> None:
    table = {
        "Police": {"Yes": 12, "No": 2, "Unsure": 8},
        "Health": {"Yes": 15, "No": 6, "Unsure": 9},
        "Schools": {"Yes": 20, "No": 7, "Unsure": 11},
    }
    result = suppress_table(table, k=5)
    grid = {r: {c: cell.shown() for c, cell in row.items()} for r, row in result.cells.items()}
    # Police/No is small; the cheapest cycle through it is Police/No, Police/Unsure, Health/Unsure, Health/No.
    assert grid == {
        "Police": {"Yes": "12", "No": "fewer than 5", "Unsure": "hidden"},
        "Health": {"Yes": "15", "No": "hidden", "Unsure": "hidden"},
        "Schools": {"Yes": "20", "No": "7", "Unsure": "11"},
    }
    assert {r: c.shown() for r, c in result.row_totals.items()} == {"Police": "22", "Health": "30", "Schools": "38"}
    assert {c: t.shown() for c, t in result.column_totals.items()} == {"Yes": "47", "No": "15", "Unsure": "28"}
    assert result.grand_total.shown() == "90"


def test_two_way_small_group_and_its_margin() -> None:
    table = {"Police": {"Yes": 12, "No": 8}, "Health": {"Yes": 15, "No": 6}, "Schools": {"Yes": 2, "No": 1}}
    result = suppress_table(table, k=5)
    # Schools (3 respondents) is hidden whole. Its total would be 44 - 21 - 20, so a second group total must go
    # (Police, the smallest), and then Police's cells, or they would add up to it.
    assert {r: c.shown() for r, c in result.row_totals.items()} == {
        "Police": "hidden",
        "Health": "21",
        "Schools": "fewer than 5",
    }
    assert all(cell.suppressed for cell in result.cells["Schools"].values())
    assert all(cell.suppressed for cell in result.cells["Police"].values())
    assert [c.shown() for c in result.cells["Health"].values()] == ["15", "6"]
    assert result.grand_total.shown() == "44"


def test_withheld_when_labels_alone_would_give_counts_away() -> None:
    # k = 3, multiple choice: two groups of 3, the option ticked once in each. Cells "fewer than 3" (so >= 1), the
    # column total "fewer than 3" (so <= 2): that forces 1 and 1, and nothing shown can be hidden to stop it.
    result = suppress_table({"g1": {"opt": 1}, "g2": {"opt": 1}}, k=3, respondents={"g1": 3, "g2": 3})
    assert result.cells["g1"]["opt"].shown() == "withheld"
    assert result.grand_total.shown() == "withheld"
    assert result.summary() == {WITHHELD: 6}


def test_zero_column_total_keeps_zeros_in_a_small_group() -> None:
    table = {"Police": {"Yes": 12, "No": 0}, "Schools": {"Yes": 3, "No": 0}, "Health": {"Yes": 9, "No": 0}}
    result = suppress_table(table, k=5)
    assert result.cells["Schools"]["No"].shown() == "0"
    assert result.cells["Schools"]["Yes"].suppressed


def test_missing_cells_count_as_zero() -> None:
    result = suppress_table({"A": {"x": 10}, "B": {"y": 10}}, k=5)
    assert result.cells["A"]["y"].shown() == "0"
    assert result.cells["B"]["x"].shown() == "0"


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        suppress_counts({"A": -1}, k=5)
    with pytest.raises(ValueError):
        suppress_counts({"A": 1}, k=2)
    with pytest.raises(ValueError):
        suppress_counts({"A": 7}, k=5, respondents=6)
    with pytest.raises(ValueError):
        suppress_table({"A": {"x": 1}}, k=5, respondents={})


def test_percentage() -> None:
    assert percentage(3, 12) == 25.0
    assert percentage(0, 10) == 0.0
    assert percentage(3, 9) is None
    assert percentage(None, 50) is None
    assert percentage(5, None) is None
    assert percentage(4, 20, min_base=25) is None


def test_large_table_is_quick() -> None:
    table = {f"group {r}": {f"option {c}": (r * 7 + c * 3) % 23 for c in range(8)} for r in range(15)}
    result = suppress_table(table, k=5)
    assert_safe_table(table, result, 5, brute_force=False)


# --- the checker: can a reader work out a hidden number? ---------------------------------------------------------


@dataclass
class Var:
    value: int
    shown: bool
    lo: float = 0
    hi: float = math.inf


def bounds(cell: Cell, k: int, *, in_small_group: bool) -> tuple[float, float]:
    """What a reader is told about a hidden number (see the module docstring)."""
    if cell.reason == WITHHELD:
        return 0, math.inf
    if cell.small:
        return (0 if in_small_group else 1), k - 1
    return k, math.inf


def can_change(variables: dict[str, Var], relations: list[list[tuple[int, str]]], target: str) -> bool:
    """Is there another table, consistent with everything shown, in which `target` differs?

    Depth-first search over changes of -1, 0 or +1 to each hidden number. That box is enough: if any other
    consistent table exists, the difference decomposes into cycles of +-1 steps (the relations form a network
    matrix), and one step round the cycle through `target` is itself consistent.
    """
    hidden = [target] + [n for n, v in variables.items() if not v.shown and n != target]
    relations = [[(a, n) for a, n in rel if not variables[n].shown] for rel in relations]
    delta: dict[str, int] = {}

    def consistent() -> bool:
        for rel in relations:
            partial = sum(a * delta[n] for a, n in rel if n in delta)
            open_ = sum(1 for _, n in rel if n not in delta)
            if abs(partial) > open_:
                return False
        return True

    def search(i: int) -> bool:
        if i == len(hidden):
            return True
        name = hidden[i]
        var = variables[name]
        for d in (1, -1) if i == 0 else (0, 1, -1):
            if var.lo <= var.value + d <= var.hi:
                delta[name] = d
                if consistent() and search(i + 1):
                    return True
                del delta[name]
        return False

    return search(0)


Model = tuple[dict[str, Var], list[list[tuple[int, str]]]]


def one_way_model(counts: Mapping[str, int], result: SuppressedCounts, k: int) -> Model:
    """A single-choice one-way table: the cells add up to the total."""
    small_group = result.total.small
    variables = {
        f"cell {key}": Var(counts[key], False, *bounds(cell, k, in_small_group=small_group))
        if cell.suppressed
        else Var(counts[key], True)
        for key, cell in result.cells.items()
    }
    total = sum(counts.values())
    variables["total"] = (
        Var(total, False, *bounds(result.total, k, in_small_group=False))
        if result.total.suppressed
        else Var(total, True)
    )
    return variables, [[(1, f"cell {key}") for key in counts] + [(-1, "total")]]


def assert_safe_counts(counts: Mapping[str, int], result: SuppressedCounts, k: int, respondents: int | None) -> None:
    total = sum(counts.values()) if respondents is None else respondents
    published = [(result.cells[key], value) for key, value in counts.items()] + [(result.total, total)]
    for cell, value in published:
        if cell.suppressed:
            assert cell.reason is not None
            assert not cell.small or value < k  # a "fewer than k" label is true
            assert cell.reason != SECONDARY or value >= k  # a "hidden" cell is >= k, as the model says
        else:
            assert cell.count == value  # (c) shown numbers are the real ones
            assert not 0 < value < k  # (a) nothing small is shown
    if 0 < total < k:
        assert all(cell.suppressed for cell, _ in published)
    if respondents is not None:
        assert SECONDARY not in result.summary()  # no relation, nothing to protect
        return
    variables, relations = one_way_model(counts, result, k)
    for name, var in variables.items():
        if not var.shown:
            assert can_change(variables, relations, name), f"{name} can be worked out"  # (b)


def table_model(table: Mapping[str, Mapping[str, int]], result: SuppressedTable, k: int) -> Model:
    rows, cols = list(result.cells), list(result.column_totals)
    variables: dict[str, Var] = {}

    def add(name: str, cell: Cell, value: int, small_group: bool) -> None:
        if cell.suppressed:
            variables[name] = Var(value, False, *bounds(cell, k, in_small_group=small_group))
        else:
            variables[name] = Var(value, True)

    everyone_small = result.grand_total.small  # then every number is hidden, zeros included
    for r in rows:
        small_group = result.row_totals[r].small or everyone_small
        for c in cols:
            add(f"{r}/{c}", result.cells[r][c], table[r].get(c, 0), small_group)
        add(f"{r}/total", result.row_totals[r], sum(table[r].values()), everyone_small)
    for c in cols:
        add(f"total/{c}", result.column_totals[c], sum(table[r].get(c, 0) for r in rows), everyone_small)
    add("total", result.grand_total, sum(sum(row.values()) for row in table.values()), False)
    relations = [[(1, f"{r}/{c}") for c in cols] + [(-1, f"{r}/total")] for r in rows]
    relations += [[(1, f"{r}/{c}") for r in rows] + [(-1, f"total/{c}")] for c in cols]
    relations.append([(1, f"{r}/total") for r in rows] + [(-1, "total")])
    relations.append([(1, f"total/{c}") for c in cols] + [(-1, "total")])
    return variables, relations


def assert_safe_table(
    table: Mapping[str, Mapping[str, int]], result: SuppressedTable, k: int, *, brute_force: bool = True
) -> None:
    variables, relations = table_model(table, result, k)
    cells = {f"{r}/{c}": cell for r, row in result.cells.items() for c, cell in row.items()}
    cells |= {f"{r}/total": cell for r, cell in result.row_totals.items()}
    cells |= {f"total/{c}": cell for c, cell in result.column_totals.items()}
    cells["total"] = result.grand_total
    for name, var in variables.items():
        cell = cells[name]
        if var.shown:
            assert cell.count == var.value  # (c)
            assert not 0 < var.value < k  # (a)
        else:
            assert not cell.small or var.value < k
            assert cell.reason != SECONDARY or var.value >= k
    for r in result.cells:  # a small group is hidden whole (apart from zeros a zero column total gives away)
        if 0 < sum(table[r].values()) < k:
            assert result.row_totals[r].suppressed
            assert all(cell.suppressed or result.column_totals[c].count == 0 for c, cell in result.cells[r].items())
    for rel in relations:  # (b), the simple form: no relation with its total shown has exactly one hidden member
        assert sum(1 for _, n in rel if not variables[n].shown) != 1, rel
    if brute_force:  # (b), exactly
        for name, var in variables.items():
            if not var.shown:
                assert can_change(variables, relations, name), f"{name} can be worked out"


# --- properties ---------------------------------------------------------------------------------------------------

small_counts = st.one_of(st.integers(0, 6), st.integers(0, 30), st.just(0))
ks = st.sampled_from([3, 4, 5, 10])
labels = st.sampled_from(["A", "B", "C", "D", "E", "F"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(labels, small_counts, min_size=1, max_size=6), ks)
def test_one_way_is_safe(counts: dict[str, int], k: int) -> None:
    result = suppress_counts(counts, k)
    assert_safe_counts(counts, result, k, respondents=None)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(labels, small_counts, min_size=1, max_size=6), ks, st.integers(0, 40))
def test_one_way_multiple_choice(counts: dict[str, int], k: int, extra: int) -> None:
    respondents = max(counts.values()) + extra
    result = suppress_counts(counts, k, respondents=respondents)
    assert_safe_counts(counts, result, k, respondents=respondents)


@st.composite
def tables(draw: st.DrawFn, max_rows: int, max_cols: int) -> dict[str, dict[str, int]]:
    n_rows = draw(st.integers(1, max_rows))
    n_cols = draw(st.integers(1, max_cols))
    return {f"r{r}": {f"c{c}": draw(small_counts) for c in range(n_cols)} for r in range(n_rows)}


@settings(max_examples=300, deadline=None)
@given(tables(max_rows=3, max_cols=3), ks)
def test_two_way_is_safe(table: dict[str, dict[str, int]], k: int) -> None:
    result = suppress_table(table, k)
    assert_safe_table(table, result, k)


@settings(max_examples=50, deadline=None)
@given(tables(max_rows=6, max_cols=5), ks)
def test_bigger_two_way_tables(table: dict[str, dict[str, int]], k: int) -> None:
    result = suppress_table(table, k)
    assert_safe_table(table, result, k, brute_force=False)


@settings(max_examples=100, deadline=None)
@given(tables(max_rows=3, max_cols=3), ks, st.lists(st.integers(0, 20), min_size=3, max_size=3))
def test_two_way_multiple_choice(table: dict[str, dict[str, int]], k: int, extra: list[int]) -> None:
    respondents = {r: max(row.values()) + extra[i] for i, (r, row) in enumerate(table.items())}
    result = suppress_table(table, k, respondents=respondents)
    cells = [(result.cells[r][c], table[r][c]) for r in table for c in table[r]]
    cells += [(result.row_totals[r], respondents[r]) for r in table]
    for cell, value in cells:
        assert cell.count in (None, value)
        assert cell.suppressed or not 0 < value < k
    for r in table:
        if 0 < respondents[r] < k:
            assert all(result.cells[r][c].suppressed or result.column_totals[c].count == 0 for c in table[r])
    # The relations that do hold: columns add up over groups, groups add up to the grand total.
    cols = list(result.column_totals)
    variables: dict[str, Var] = {}
    everyone_small = result.grand_total.small
    for r in table:
        for c in cols:
            cell = result.cells[r][c]
            small_group = result.row_totals[r].small or everyone_small
            variables[f"{r}/{c}"] = (
                Var(table[r][c], False, *bounds(cell, k, in_small_group=small_group))
                if cell.suppressed
                else Var(table[r][c], True)
            )
        total = result.row_totals[r]
        variables[f"{r}/n"] = (
            Var(respondents[r], False, *bounds(total, k, in_small_group=everyone_small))
            if total.suppressed
            else Var(respondents[r], True)
        )
    for c in cols:
        total = result.column_totals[c]
        value = sum(table[r][c] for r in table)
        variables[f"total/{c}"] = (
            Var(value, False, *bounds(total, k, in_small_group=everyone_small))
            if total.suppressed
            else Var(value, True)
        )
    grand = sum(respondents.values())
    variables["n"] = (
        Var(grand, False, *bounds(result.grand_total, k, in_small_group=False))
        if result.grand_total.suppressed
        else Var(grand, True)
    )
    relations = [[(1, f"{r}/{c}") for r in table] + [(-1, f"total/{c}")] for c in cols]
    relations.append([(1, f"{r}/n") for r in table] + [(-1, "n")])
    for name, var in variables.items():
        if not var.shown:
            assert can_change(variables, relations, name), f"{name} can be worked out"


@given(st.one_of(st.none(), st.integers(0, 1000)), st.one_of(st.none(), st.integers(0, 1000)))
def test_percentage_needs_a_base_of_ten(count: int | None, base: int | None) -> None:
    value = percentage(count, base)
    if count is None or base is None or base < 10:
        assert value is None
    else:
        assert value == pytest.approx(100 * count / base)


def test_the_checker_catches_a_naive_table() -> None:
    # Primary suppression alone: B = 15 - 12. The checker must say so, or the properties above prove nothing.
    counts = {"A": 12, "B": 3}
    naive = SuppressedCounts({"A": Cell(12), "B": Cell(None, "fewer than 5")}, Cell(15), 5)
    variables, relations = one_way_model(counts, naive, 5)
    assert not can_change(variables, relations, "cell B")
    # Two hidden ones of 1 with total 2 (A + B = 2, both >= 1) are pinned too.
    naive = SuppressedCounts({"A": Cell(None, "fewer than 5"), "B": Cell(None, "fewer than 5")}, Cell(2), 5)
    variables, relations = one_way_model({"A": 1, "B": 1}, naive, 5)
    assert not can_change(variables, relations, "cell A")
    # A bridge between two protected blocks: every row and column has two hidden cells, yet the bridge is exposed.
    x = {"r1": {"c1": 3, "c2": 3, "c3": 9, "c4": 9}, "r2": {"c1": 3, "c2": 3, "c3": 3, "c4": 9}}
    x |= {"r3": {"c1": 9, "c2": 9, "c3": 3, "c4": 3}, "r4": {"c1": 9, "c2": 9, "c3": 3, "c4": 3}}
    hidden = {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"), ("r2", "c3")}
    hidden |= {("r3", "c3"), ("r3", "c4"), ("r4", "c3"), ("r4", "c4")}
    fake = SuppressedTable(
        cells={
            r: {c: Cell(None, "fewer than 5") if (r, c) in hidden else Cell(v) for c, v in row.items()}
            for r, row in x.items()
        },
        row_totals={r: Cell(sum(row.values())) for r, row in x.items()},
        column_totals={c: Cell(sum(x[r][c] for r in x)) for c in x["r1"]},
        grand_total=Cell(sum(sum(row.values()) for row in x.values())),
        k=5,
    )
    variables, relations = table_model(x, fake, 5)
    assert not can_change(variables, relations, "r2/c3")
    assert can_change(variables, relations, "r1/c1")
