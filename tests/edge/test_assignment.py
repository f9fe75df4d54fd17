"""The edge's own linear sum assignment: the cheapest pairing, checked against every pairing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edge.assignment import min_cost_pairs


def cheapest_by_trying_all(cost: np.ndarray) -> float:
    """The least total cost of min(n, m) pairs, by trying every pairing."""
    n, m = cost.shape
    if min(n, m) == 0:
        return 0.0
    if n > m:
        cost, (n, m) = cost.T, (m, n)
    return min(sum(cost[i, j] for i, j in enumerate(cols)) for cols in itertools.permutations(range(m), n))


@pytest.mark.parametrize("seed", range(60))
def test_the_pairs_cost_the_least_of_all_pairings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = rng.integers(0, 7, 2)
    # whole numbers make ties (several cheapest pairings), fractions make one
    cost = rng.integers(0, 4, (n, m)).astype(float) if seed % 2 else rng.normal(0, 1, (n, m))

    rows, columns = min_cost_pairs(cost)

    assert len(rows) == len(columns) == min(n, m)
    assert len(set(rows.tolist())) == len(rows) and len(set(columns.tolist())) == len(columns)
    assert list(rows) == sorted(rows)
    assert cost[rows, columns].sum() == pytest.approx(cheapest_by_trying_all(cost))


def test_greedy_is_not_enough() -> None:
    """Nearest first would pair row 0 with column 0 (1) and leave row 1 the 10: 11 against 4."""
    rows, columns = min_cost_pairs([[1.0, 2.0], [2.0, 10.0]])

    assert rows.tolist() == [0, 1] and columns.tolist() == [1, 0]


def test_a_cost_that_is_not_finite_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="finite"):
        min_cost_pairs([[1.0, np.inf]])
