"""Statistical disclosure control for every table we show (privacy.md, "Reporting thresholds").

Every count that leaves the system goes through `suppress_counts` (one question, one group) or `suppress_table`
(rows = declared breakdown groups, columns = options, with row, column and grand totals). Pure, standard library.

The rules, and the choices made on the subtle cases:

* Primary suppression. A count in 1..k-1 is shown as "fewer than k"; a true 0 is shown as 0. A group whose own
  total (respondents) is in 1..k-1 is hidden whole: its total and every cell, zeros included, since "none of the 3
  police respondents said yes" is as revealing as a small count. The one exception: a cell whose column total is a
  published 0 stays 0, because the 0 total already says so. When the grand total itself is in 1..k-1 every number
  in the table is hidden, zeros and zero totals included (otherwise "two options, each total fewer than 3, grand
  total fewer than 3" would pin both options at 1).
* What a reader is assumed to know (deliberately generous): every published number, every rule on this page, that
  counts are whole numbers, that cells add up to their totals, that a "fewer than k" count is 1..k-1 (0..k-1 inside
  a hidden group) and that a "hidden" count is at least k (only shown, non-zero counts are ever hidden as
  secondary, and those are >= k). So it is safe to print which cells are small and which are hidden to protect them.
* Secondary suppression. A hidden count is protected when it is not uniquely determined by all of the above. This
  is checked exactly, not with a "two per row" rule of thumb: the table's relations form a network (each count is
  an arc, each total a node where what flows in flows out), and a hidden count can take another value if and only
  if it lies on a cycle of hidden counts along which each can move one step within its bounds (a classic property
  of network matrices). When a hidden count is exposed we hide the cheapest set of shown counts that closes such a
  cycle: the cost of a cell is its count (so in a one-way table this is the next-smallest non-zero cell) and a
  total costs more than all cells together, so totals are hidden only when no set of cells can do it. We then
  check again, until nothing hidden can be worked out: hiding in a row that breaks a column is caught on the next
  round, and hiding never exposes anything, so this ends.
* Zeros are never hidden to protect another cell. "0 stays 0" is a published rule: a hidden zero would be read as
  non-zero (misleading), and once readers knew zeros could be hidden every label would mean less. When only zeros
  are left beside a hidden cell, a total is hidden instead. Bounds count too: {"A": 1, "B": 5} with the total 6
  shown: hiding B does not help (B >= 5 and A >= 1 with A + B = 6 forces A = 1), so the total is hidden.
* Multiple-choice questions (`respondents=`): a respondent can tick several options, so the cells do not add up
  to the group total and no secondary suppression is needed along that relation. The respondent total is still
  hidden below k, and with it the whole group. In a two-way multiple-choice table, column totals still add up over
  groups (each respondent is in one group) and the grand total is the sum of the group totals; those relations are
  protected as usual. (A cell can't exceed its group's respondents; that bound is not used, and it cannot expose a
  "fewer than k" cell because the group has at least k respondents or is hidden whole.)
* Withholding. In a few tiny tables nothing can be hidden to protect a small count, because the "fewer than k"
  labels themselves pin it. Example (multiple choice, k = 3): two groups of 3 respondents, one option ticked once
  in each group. Both cells are "fewer than 3", so at least 1 each; the option's total is "fewer than 3", so at
  most 2; that forces 1 and 1, and no shown number sits on that relation. Then the whole table is withheld: every
  number shows "withheld", which tells a reader nothing (not even "fewer than k"), and `summary()` says so. In
  random tables with k = 5 or 10 this did not happen once in 30,000; it needs tiny groups and totals.
* A hidden total must then not be published elsewhere (e.g. as a denominator in the method section).
* No percentage on a base below 10, on a hidden count or on a hidden base (`percentage`).

k is 5 for practitioner and partner surveys and 10 for young people's surveys and free text; it must be at least 3
(with k = 2, "fewer than 2" would mean exactly 1).

It lives with the services, below bot/reporting, because use cases suppress counts too (the "you said" board,
a campaign's status in chat): the reports build on these rules, and the rules depend on nothing above them.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

MIN_PERCENT_BASE = 10
HIDDEN = "hidden"
SECONDARY = "hidden so the small group can't be worked out"
WITHHELD = "withheld: too few answers to show this table safely"


def small_reason(k: int) -> str:
    """The reason (and label) of a primary-suppressed count: "fewer than 5"."""
    return f"fewer than {k}"


@dataclass(frozen=True)
class Cell:
    """One published number: `count` is None when suppressed, and `reason` then says why."""

    count: int | None
    reason: str | None = None

    @property
    def suppressed(self) -> bool:
        return self.count is None

    @property
    def small(self) -> bool:
        """Suppressed because the count is below k (rather than to protect another cell)."""
        return self.reason is not None and self.reason.startswith("fewer than")

    def shown(self) -> str:
        """What to print: "12", "0", "fewer than 5", "hidden" (secondary suppression) or "withheld"."""
        if self.count is not None:
            return str(self.count)
        if self.reason == WITHHELD:
            return "withheld"
        return self.reason if self.small and self.reason else HIDDEN


def _summary(cells: list[Cell]) -> dict[str, int]:
    return dict(Counter(c.reason for c in cells if c.reason is not None))


@dataclass(frozen=True)
class SuppressedCounts:
    """A one-way table after suppression: a cell per option and the total."""

    cells: dict[str, Cell]
    total: Cell
    k: int

    def summary(self) -> dict[str, int]:
        """How many numbers were suppressed, by reason (for the method section; never which ones)."""
        return _summary([*self.cells.values(), self.total])


@dataclass(frozen=True)
class SuppressedTable:
    """A two-way table after suppression: cells[row][column], row totals, column totals, grand total."""

    cells: dict[str, dict[str, Cell]]
    row_totals: dict[str, Cell]
    column_totals: dict[str, Cell]
    grand_total: Cell
    k: int

    def summary(self) -> dict[str, int]:
        """How many numbers were suppressed, by reason (for the method section; never which ones)."""
        inner = [cell for row in self.cells.values() for cell in row.values()]
        return _summary([*inner, *self.row_totals.values(), *self.column_totals.values(), self.grand_total])


def percentage(count: int | None, base: int | None, min_base: int = MIN_PERCENT_BASE) -> float | None:
    """100 * count / base, or None when either is hidden (None) or the base is below `min_base` (10)."""
    if count is None or base is None or base < min_base:
        return None
    return 100.0 * count / base


# --- the network ---------------------------------------------------------------------------------------------------
# Each published number is an arc tail -> head; at every node what flows in equals what flows out (for a one-way
# table: cells S -> T, total T -> S). Relations that don't hold (multiple choice) end at _FREE, which has no rule.

_FREE = ("free",)


@dataclass
class _Entry:
    value: int
    tail: Hashable
    head: Hashable
    margin: bool  # a total rather than a cell
    hidden: bool = False
    small: bool = False
    lo: int = 0  # what a reader knows about a hidden value: lo <= value <= hi (hi None = no upper bound)
    hi: int | None = None

    def hide_small(self, k: int, *, may_be_zero: bool = False) -> None:
        self.hidden, self.small, self.lo, self.hi = True, True, (0 if may_be_zero else 1), k - 1

    def hide_secondary(self, k: int) -> None:
        assert self.value >= k, "only shown non-zero counts (>= k) are hidden to protect others"
        self.hidden, self.small, self.lo, self.hi = True, False, k, None

    def can_rise(self) -> bool:
        return self.hi is None or self.value < self.hi

    def can_fall(self) -> bool:
        return self.value > self.lo


def _reachable(entries: list[_Entry], skip: int, start: Hashable, goal: Hashable) -> bool:
    """Is there a path start -> goal through hidden arcs that can move that way (raise forwards, lower backwards)?"""
    adjacent: dict[Hashable, list[Hashable]] = {}
    for j, entry in enumerate(entries):
        if j == skip or not entry.hidden:
            continue
        if entry.can_rise():
            adjacent.setdefault(entry.tail, []).append(entry.head)
        if entry.can_fall():
            adjacent.setdefault(entry.head, []).append(entry.tail)
    seen = {start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            return True
        for nxt in adjacent.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False


def _can_be_worked_out(entries: list[_Entry], i: int) -> bool:
    entry = entries[i]
    if entry.can_rise() and _reachable(entries, i, entry.head, entry.tail):
        return False
    return not (entry.can_fall() and _reachable(entries, i, entry.tail, entry.head))


def _cheapest_cover(entries: list[_Entry], i: int, k: int) -> list[int] | None:
    """The cheapest set of shown counts whose hiding puts entry i on a movable cycle (Dijkstra on the network)."""
    penalty = 1 + sum(e.value for e in entries if not e.margin)
    arcs: dict[Hashable, list[tuple[Hashable, int, int | None]]] = {}

    def arc(a: Hashable, b: Hashable, cost: int, j: int | None) -> None:
        arcs.setdefault(a, []).append((b, cost, j))

    for j, entry in enumerate(entries):
        if j == i:
            continue
        if entry.hidden:
            if entry.can_rise():
                arc(entry.tail, entry.head, 0, None)
            if entry.can_fall():
                arc(entry.head, entry.tail, 0, None)
        elif entry.value > 0:  # would be hidden as secondary, bounds [k, no limit]
            cost = entry.value + (penalty if entry.margin else 0)
            arc(entry.tail, entry.head, cost, j)
            if entry.value > k:
                arc(entry.head, entry.tail, cost, j)

    target = entries[i]
    best: tuple[int, list[int]] | None = None
    for rise in (True, False):
        if not (target.can_rise() if rise else target.can_fall()):
            continue
        start, goal = (target.head, target.tail) if rise else (target.tail, target.head)
        found = _dijkstra(arcs, start, goal)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
    return None if best is None else best[1]


def _dijkstra(
    arcs: dict[Hashable, list[tuple[Hashable, int, int | None]]], start: Hashable, goal: Hashable
) -> tuple[int, list[int]] | None:
    tie = itertools.count()
    queue: list[tuple[int, int, Hashable]] = [(0, next(tie), start)]
    cost_to: dict[Hashable, int] = {start: 0}
    came_from: dict[Hashable, tuple[Hashable, int | None]] = {}
    done: set[Hashable] = set()
    while queue:
        cost, _, node = heapq.heappop(queue)
        if node in done:
            continue
        done.add(node)
        if node == goal:
            hide: list[int] = []
            while node != start:
                node, j = came_from[node]
                if j is not None:
                    hide.append(j)
            return cost, hide
        for nxt, step, j in arcs.get(node, ()):
            if nxt not in done and cost + step < cost_to.get(nxt, cost + step + 1):
                cost_to[nxt] = cost + step
                came_from[nxt] = (node, j)
                heapq.heappush(queue, (cost + step, next(tie), nxt))
    return None


def _protect(entries: list[_Entry], k: int) -> bool:
    """Secondary suppression: hide more until no hidden count can be worked out. False: withhold the table."""
    while True:
        exposed = next((i for i, e in enumerate(entries) if e.hidden and _can_be_worked_out(entries, i)), None)
        if exposed is None:
            return True
        cover = _cheapest_cover(entries, exposed, k)
        if not cover:  # no set of shown numbers would do: only withholding everything protects it
            return False
        for j in cover:
            entries[j].hide_secondary(k)


def _cell(entry: _Entry, k: int, *, withheld: bool = False) -> Cell:
    if withheld:
        return Cell(None, WITHHELD)
    if not entry.hidden:
        return Cell(entry.value)
    return Cell(None, small_reason(k) if entry.small else SECONDARY)


def _check_k(k: int) -> None:
    if k < 3:
        raise ValueError(f"k must be at least 3, got {k}")


def _count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a whole number >= 0, got {value!r}")
    return value


# --- the public functions ------------------------------------------------------------------------------------------


def suppress_counts(counts: Mapping[str, int], k: int, *, respondents: int | None = None) -> SuppressedCounts:
    """Suppress a one-way table (counts per option) and its total.

    Single choice (default): the total is the sum of the counts and is treated as known to the reader.
    Multiple choice: pass `respondents` (how many answered); the counts may add up to more, no sum relation is
    assumed, and only primary suppression applies, except that fewer than k respondents hides everything.
    """
    _check_k(k)
    values = {key: _count(value, f"count for {key!r}") for key, value in counts.items()}
    additive = respondents is None
    total = sum(values.values()) if respondents is None else _count(respondents, "respondents")
    if not additive and any(v > total for v in values.values()):
        raise ValueError("a multiple-choice count can't exceed the number of respondents")
    tail, head = ("S", "T") if additive else (_FREE, _FREE)
    cells = {key: _Entry(v, tail, head, margin=False) for key, v in values.items()}
    total_entry = _Entry(total, head, tail, margin=True)

    if 0 < total < k:  # the whole group is small: hide everything, zeros included
        total_entry.hide_small(k)
        for entry in cells.values():
            entry.hide_small(k, may_be_zero=True)
    else:
        for entry in cells.values():
            if 0 < entry.value < k:
                entry.hide_small(k)
    ok = _protect([*cells.values(), total_entry], k)
    return SuppressedCounts(
        {key: _cell(e, k, withheld=not ok) for key, e in cells.items()}, _cell(total_entry, k, withheld=not ok), k
    )


def suppress_table(
    table: Mapping[str, Mapping[str, int]], k: int, *, respondents: Mapping[str, int] | None = None
) -> SuppressedTable:
    """Suppress a two-way table: rows = breakdown groups, columns = options, with every margin shown.

    A missing cell counts as 0; columns appear in first-seen order. Single choice (default): row totals are row
    sums. Multiple choice: pass `respondents` per group (row totals); cells need not add up to them.
    """
    _check_k(k)
    rows = list(table)
    columns = list(dict.fromkeys(c for r in rows for c in table[r]))
    x = {r: {c: _count(table[r].get(c, 0), f"count for {r!r}/{c!r}") for c in columns} for r in rows}
    additive = respondents is None
    if respondents is None:
        row_sum = {r: sum(x[r].values()) for r in rows}
    else:
        missing = [r for r in rows if r not in respondents]
        if missing:
            raise ValueError(f"respondents missing for groups {missing}")
        row_sum = {r: _count(respondents[r], f"respondents for {r!r}") for r in rows}
        if any(x[r][c] > row_sum[r] for r in rows for c in columns):
            raise ValueError("a multiple-choice count can't exceed its group's respondents")
    col_sum = {c: sum(x[r][c] for r in rows) for c in columns}
    grand = sum(row_sum.values())

    def row_node(r: str) -> Hashable:
        return ("row", r) if additive else _FREE

    cells = {r: {c: _Entry(x[r][c], row_node(r), ("col", c), margin=False) for c in columns} for r in rows}
    row_totals = {r: _Entry(row_sum[r], "S", row_node(r), margin=True) for r in rows}
    col_totals = {c: _Entry(col_sum[c], ("col", c), "T" if additive else _FREE, margin=True) for c in columns}
    grand_total = _Entry(grand, "T" if additive else _FREE, "S", margin=True)

    inner = [e for r in rows for e in cells[r].values()]
    if 0 < grand < k:  # everyone together is a small group: hide every number, zeros included
        for entry in [*inner, *row_totals.values(), *col_totals.values()]:
            entry.hide_small(k, may_be_zero=True)
        grand_total.hide_small(k)
    else:
        for r in rows:
            if 0 < row_sum[r] < k:  # a small group is hidden whole, except zeros a 0 column total gives away
                row_totals[r].hide_small(k)
                for c in columns:
                    if col_sum[c] > 0:
                        cells[r][c].hide_small(k, may_be_zero=True)
            else:
                for entry in cells[r].values():
                    if 0 < entry.value < k:
                        entry.hide_small(k)
        for entry in col_totals.values():
            if 0 < entry.value < k:
                entry.hide_small(k)

    withheld = not _protect([*inner, *row_totals.values(), *col_totals.values(), grand_total], k)
    return SuppressedTable(
        cells={r: {c: _cell(cells[r][c], k, withheld=withheld) for c in columns} for r in rows},
        row_totals={r: _cell(e, k, withheld=withheld) for r, e in row_totals.items()},
        column_totals={c: _cell(e, k, withheld=withheld) for c, e in col_totals.items()},
        grand_total=_cell(grand_total, k, withheld=withheld),
        k=k,
    )
