"""The significance tests, against textbook critical values and hand calculations."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bot.reporting.stats import chi_square, chi_square_p, mann_whitney, two_proportions


@pytest.mark.parametrize(("statistic", "freedom", "p"), [
    (3.841459, 1, 0.05), (6.634897, 1, 0.01), (5.991465, 2, 0.05), (7.814728, 3, 0.05), (11.070498, 5, 0.05),
    (18.307038, 10, 0.05), (0.454936, 1, 0.5), (2.365974, 3, 0.5), (0.0, 4, 1.0),
])
def test_chi_square_tail_matches_the_tables(statistic: float, freedom: int, p: float) -> None:
    assert chi_square_p(statistic, freedom) == pytest.approx(p, abs=2e-6)


def test_two_proportions_by_hand() -> None:
    result = two_proportions(41, 100, 68, 100)
    pooled = 109 / 200
    z = (0.68 - 0.41) / math.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert result.statistic == pytest.approx(z) and result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert result.significant and result.reliable
    assert not two_proportions(1, 10, 3, 10).reliable  # expected counts of 2
    same = two_proportions(0, 20, 0, 20)
    assert same.p_value == 1.0 and not same.significant


def test_chi_square_of_a_two_by_three_table_by_hand() -> None:
    result = chi_square([[10, 20, 30], [20, 20, 20]])
    # expected: 15, 20, 25 in both rows
    assert result.statistic == pytest.approx(25 / 15 + 0 + 25 / 25 + 25 / 15 + 0 + 25 / 25)
    assert result.p_value == pytest.approx(math.exp(-result.statistic / 2))  # 2 degrees of freedom
    assert result.reliable and not result.significant
    assert chi_square([[10, 0, 5], [12, 0, 9]]).statistic == chi_square([[10, 5], [12, 9]]).statistic
    assert not chi_square([[1, 2, 0], [0, 1, 3]]).reliable


def test_mann_whitney_by_hand() -> None:
    # {1,1,2} against {2,3,3,3}: U for the first sample counts pairs where it is larger (ties count a half)
    first, second = Counter({1: 2, 2: 1}), Counter({2: 1, 3: 3})
    result = mann_whitney(first, second)
    u_first = 0.5  # only 2 against 2, a tie
    n1, n2, n = 3, 4, 7
    ties = (2**3 - 2) + (2**3 - 2) + (3**3 - 3)
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    z = (n1 * n2 / 2 - u_first - 0.5) / math.sqrt(variance)
    assert result.statistic == pytest.approx(z) and result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert not result.reliable  # fewer than 10 in each
    flat = mann_whitney(Counter({3: 12}), Counter({3: 15}))
    assert flat.p_value == 1.0 and not flat.significant
    assert mann_whitney(Counter({1: 10, 2: 5}), Counter({4: 10, 5: 5})).significant
