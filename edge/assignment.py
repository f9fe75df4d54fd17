"""The cheapest one-to-one pairing of rows and columns of a cost matrix (the linear sum assignment).

The tracker pairs tracks with detections and the rooms pair two cameras' people with it. The edge
solves it itself: the matrices are small (people in one picture), and SciPy's solver would bring
its whole optimisation package into the edge process, about 50 MiB of a box's memory.

Shortest augmenting paths with dual prices (the Jonker-Volgenant idea, as Crouse describes it in
"On implementing 2D rectangular assignment algorithms", 2016): each row in turn is given a column
along the cheapest path of reduced costs, which keeps every pairing made so far optimal.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Indices = NDArray[np.int64]


def min_cost_pairs(cost: ArrayLike) -> tuple[Indices, Indices]:
    """(rows, columns): min(n_rows, n_columns) pairs, each row and column at most once, whose cost
    adds up to the least possible; rows ascending. Costs must be finite."""
    matrix = np.asarray(cost, np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"a cost matrix has two dimensions, not {matrix.ndim}")
    if not np.isfinite(matrix).all():
        raise ValueError("a cost matrix must be finite: give pairs that may not be a large cost")
    if matrix.shape[0] > matrix.shape[1]:  # the rows must be the fewer: each gets a column
        columns, rows = min_cost_pairs(matrix.T)
        order = np.argsort(rows)
        return rows[order], columns[order]
    n_rows, n_columns = matrix.shape
    row_price, column_price = np.zeros(n_rows), np.zeros(n_columns)
    column_of = np.full(n_rows, -1, np.int64)
    row_of = np.full(n_columns, -1, np.int64)
    for start in range(n_rows):
        # Dijkstra over reduced costs from `start` to the nearest column that has no row yet
        distance = np.full(n_columns, np.inf)
        came_from = np.full(n_columns, -1, np.int64)
        done = np.zeros(n_columns, bool)
        rows_seen = [start]
        row, reached, sink = start, 0.0, -1
        while sink < 0:
            through = reached + matrix[row] - row_price[row] - column_price
            better = ~done & (through < distance)
            distance[better] = through[better]
            came_from[better] = row
            open_distance = np.where(done, np.inf, distance)
            column = int(np.argmin(open_distance))
            reached = float(open_distance[column])
            done[column] = True
            if row_of[column] < 0:
                sink = column
            else:
                row = int(row_of[column])
                rows_seen.append(row)
        # prices: every reduced cost stays >= 0, those along the pairings 0
        row_price[start] += reached
        for other in rows_seen[1:]:
            row_price[other] += reached - distance[column_of[other]]
        column_price[done] -= reached - distance[done]
        # the path's pairings flip
        column = sink
        while True:
            row = int(came_from[column])
            row_of[column] = row
            column_of[row], column = column, int(column_of[row])
            if row == start:
                break
    return np.arange(n_rows, dtype=np.int64), column_of
