"""The exact solver: known puzzles, solution counts (0, 1, many), batches, random grids."""

from __future__ import annotations

import numpy as np

from relnet.tasks.sudoku.format import grid_string, parse_grid
from relnet.tasks.sudoku.grid import PEERS, UNITS, sudoku_edges
from relnet.tasks.sudoku.solver import count_solutions, random_grids, solve

# A 17-given puzzle and its solution (checked by hand against the rules below).
HARD = "000000010400000000020000000000050407008000300001090000300400200050100000000806000"
HARD_SOLUTION = "693784512487512936125963874932651487568247391741398625319475268856129743274836159"
# Row 1 holds 1-8 and column 9 already has a 9 lower down: cell (1, 9) has no candidate.
UNSOLVABLE = "123456780" + "000000009" + "0" * 63


def _is_valid_solution(grid: np.ndarray) -> bool:
    return bool((np.sort(grid[UNITS], axis=1) == np.arange(1, 10)).all())


def test_geometry() -> None:
    assert UNITS.shape == (27, 9) and PEERS.shape == (81, 20)
    edges = sudoku_edges()
    assert edges.shape == (2, 1620)
    assert len({tuple(pair) for pair in edges.T.tolist()}) == 1620  # no duplicate edges
    assert (np.bincount(edges[1].numpy(), minlength=81) == 20).all()


def test_known_hard_puzzle() -> None:
    found = solve(parse_grid(HARD)[None])
    assert found.counts.tolist() == [1]
    assert grid_string(found.solutions[0]) == HARD_SOLUTION
    assert _is_valid_solution(found.solutions[0])


def test_counts_zero_one_many() -> None:
    assert count_solutions(HARD) == 1
    assert count_solutions(UNSOLVABLE) == 0
    assert count_solutions("0" * 81) == 2  # capped at the default limit
    assert count_solutions("0" * 81, limit=7) == 7
    # Blank a rectangle a b / b a spread over two boxes: both swaps fit, so exactly two solutions.
    quiz = parse_grid(HARD_SOLUTION).copy()
    quiz[list(_swappable_rectangle(quiz))] = 0
    assert count_solutions(quiz) == 2


def _swappable_rectangle(grid: np.ndarray) -> tuple[int, int, int, int]:
    """Cells (r1,c1), (r1,c2), (r2,c1), (r2,c2) of one band, two stacks, holding a b / b a."""
    for r1 in range(9):
        for r2 in range(r1 + 1, 3 * (r1 // 3) + 3):
            for c1 in range(9):
                for c2 in range(3 * (c1 // 3) + 3, 9):
                    cells = (9 * r1 + c1, 9 * r1 + c2, 9 * r2 + c1, 9 * r2 + c2)
                    if grid[cells[0]] == grid[cells[3]] and grid[cells[1]] == grid[cells[2]]:
                        return cells
    raise AssertionError("no swappable rectangle in this grid")


def test_batch_equals_one_by_one_and_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    solutions = random_grids(6, rng)
    quizzes = np.where(rng.random(solutions.shape) < 0.5, solutions, 0)
    quizzes = np.concatenate([quizzes, parse_grid(UNSOLVABLE)[None], np.zeros((1, 81), np.uint8)])
    batch = solve(quizzes, chunk=4)  # a small chunk exercises the stack
    for row, quiz in enumerate(quizzes):
        alone = solve(quiz[None])
        assert alone.counts[0] == batch.counts[row]
        assert (alone.solutions[0] == batch.solutions[row]).all()
    unique = batch.counts == 1
    assert (batch.solutions[unique][quizzes[unique] > 0] == quizzes[unique][quizzes[unique] > 0]).all()


def test_random_grids_are_valid_and_seeded() -> None:
    first = random_grids(20, np.random.default_rng(5))
    assert all(_is_valid_solution(grid) for grid in first)
    assert (first == random_grids(20, np.random.default_rng(5))).all()
    assert len({grid_string(grid) for grid in first}) == 20
