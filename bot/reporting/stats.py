"""The significance tests behind a wave comparison, in pure Python (the standard library's math only).

Waves are compared as populations: different people may answer each wave and nothing links them (docs/privacy.md),
so these are tests for independent samples:

* two-proportion z-test (pooled), for one share: "Yes", a correct answer, one option of a multiple choice;
* chi-square test of homogeneity, for a whole single-choice distribution (waves x options);
* Mann-Whitney U (normal approximation with tie and continuity corrections), for scales and numbers, which are
  ordered but not evenly spaced in anyone's mind, so a t-test's mean-and-variance model would claim too much.

Each result says whether the test's usual conditions hold (`reliable`), so a report can say "too few answers for a
reliable test" instead of printing a p-value nobody should trust. Two-sided throughout, judged at ALPHA.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

ALPHA = 0.05
MIN_EXPECTED = 5


@dataclass(frozen=True)
class TestResult:
    name: str
    statistic: float
    p_value: float
    reliable: bool

    @property
    def significant(self) -> bool:
        return self.reliable and self.p_value < ALPHA


def normal_two_sided(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportions(x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """Is x1/n1 different from x2/n2? Reliable when every expected count (pooled) is at least 5."""
    if min(n1, n2) <= 0:
        raise ValueError("both samples need at least one answer")
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = 0.0 if spread == 0 else (x2 / n2 - x1 / n1) / spread
    expected = min(n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    return TestResult("two-proportion z-test", z, normal_two_sided(z), expected >= MIN_EXPECTED)


def chi_square(rows: list[list[int]]) -> TestResult:
    """Test of homogeneity: do the rows (waves) share one distribution over the columns (options)?

    Columns that nobody chose in any row are dropped. Reliable under Cochran's rule: no expected count below 1 and
    at most a fifth of them below 5."""
    columns = [c for c in range(len(rows[0])) if sum(row[c] for row in rows) > 0]
    table = [[row[c] for c in columns] for row in rows]
    row_totals = [sum(row) for row in table]
    col_totals = [sum(row[c] for row in table) for c in range(len(columns))]
    total = sum(row_totals)
    if total == 0 or len(columns) < 2 or min(row_totals) == 0:
        return TestResult("chi-square test", 0.0, 1.0, False)
    statistic = 0.0
    expected_all = []
    for r, row in enumerate(table):
        for c, observed in enumerate(row):
            expected = row_totals[r] * col_totals[c] / total
            expected_all.append(expected)
            statistic += (observed - expected) ** 2 / expected
    freedom = (len(table) - 1) * (len(columns) - 1)
    small = sum(1 for e in expected_all if e < MIN_EXPECTED)
    reliable = min(expected_all) >= 1 and small <= len(expected_all) / 5
    return TestResult("chi-square test", statistic, chi_square_p(statistic, freedom), reliable)


def chi_square_p(statistic: float, freedom: int) -> float:
    """P(X >= statistic) for X chi-square distributed with `freedom` degrees of freedom."""
    if statistic <= 0:
        return 1.0
    return _upper_gamma(freedom / 2, statistic / 2)


def mann_whitney(first: Mapping[float, int], second: Mapping[float, int]) -> TestResult:
    """Do values in `second` tend to be larger or smaller than in `first`? Samples given as value -> how many.

    U with mid-ranks for ties, then the normal approximation with the tie-corrected variance and a continuity
    correction. The statistic reported is z (positive: `second` tends higher). Reliable with at least 10 in each."""
    n1, n2 = sum(first.values()), sum(second.values())
    if min(n1, n2) <= 0:
        raise ValueError("both samples need at least one answer")
    rank_sum_first = 0.0
    below = 0
    ties = 0.0
    for value in sorted(set(first) | set(second)):
        here = first.get(value, 0) + second.get(value, 0)
        mid_rank = below + (here + 1) / 2
        rank_sum_first += first.get(value, 0) * mid_rank
        ties += here**3 - here
        below += here
    n = n1 + n2
    u_first = rank_sum_first - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return TestResult("Mann-Whitney U test", 0.0, 1.0, False)
    shift = mean - u_first  # positive when `second` ranks higher
    z = math.copysign(max(abs(shift) - 0.5, 0.0), shift) / math.sqrt(variance)
    return TestResult("Mann-Whitney U test", z, normal_two_sided(z), min(n1, n2) >= 10)


def _upper_gamma(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function Q(a, x): a series below a + 1, a continued fraction above."""
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1 / a
        denominator = a
        for _ in range(1000):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    fraction = d
    for i in range(1, 1000):
        step = -i * (i - a)
        b += 2
        d = step * d + b
        d = tiny if abs(d) < tiny else d
        c = b + step / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        change = d * c
        fraction *= change
        if abs(change - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * fraction)
