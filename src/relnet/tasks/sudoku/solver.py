"""An exact Sudoku solver that works on many puzzles at once and counts solutions (0, 1 or many).

Each search state is a row of 81 candidate bitmasks (bit ``d-1`` set: digit ``d`` still possible).
All states are processed together with numpy:

1. **Propagation** until nothing changes: a cell with one candidate removes it from its 20 peers
   (naked single), and a digit with a single possible cell in a row, column or box is placed there
   (hidden single). A cell without candidates, a unit missing a digit or a cell forced to two digits
   is a contradiction, and the state dies.
2. **Branching** on the cell with the fewest candidates: one child takes a candidate, the other
   excludes it. States are kept on a stack and popped a chunk at a time (depth first), so puzzles
   with many solutions reach ``limit`` solutions quickly and memory stays bounded.

Search stops per puzzle once ``limit`` solutions are found, so ``limit=2`` tells unique puzzles from
ambiguous ones. The only Python loops run over propagation rounds and search depth, never over puzzles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relnet.tasks.sudoku.grid import CELL_UNITS, CELLS, PEERS, UNITS

ALL = (1 << 9) - 1
POPCOUNT = np.array([bin(mask).count("1") for mask in range(ALL + 1)], dtype=np.int8)
#: digit (1..9) of a single-bit mask, 0 otherwise.
DIGIT_OF = np.zeros(ALL + 1, dtype=np.uint8)
DIGIT_OF[1 << np.arange(9)] = np.arange(1, 10)
#: ``NTH_BIT[mask, k]``: the k-th set bit of ``mask`` as a mask (0 past the last one).
NTH_BIT = np.zeros((ALL + 1, 9), dtype=np.int16)
for _mask in range(ALL + 1):
    _bits = [1 << b for b in range(9) if _mask >> b & 1]
    NTH_BIT[_mask, : len(_bits)] = _bits


@dataclass
class Solutions:
    """What :func:`solve` found: ``counts`` ``(N,)`` solutions found per puzzle (capped at the limit)
    and ``solutions`` ``(N, 81)`` uint8, the first solution found (zeros where there is none)."""

    counts: np.ndarray
    solutions: np.ndarray

    @property
    def unique(self) -> np.ndarray:
        """``(N,)`` bool: exactly one solution (meaningful when searched with ``limit >= 2``)."""
        return self.counts == 1


def candidates(grids: np.ndarray) -> np.ndarray:
    """``(N, 81)`` digits (0 = blank) → ``(N, 81)`` int16 candidate masks (a given: its one bit)."""
    grids = np.asarray(grids)
    given_bit = np.left_shift(1, np.maximum(grids.astype(np.int16) - 1, 0)).astype(np.int16)
    return np.where(grids > 0, given_bit, np.int16(ALL)).astype(np.int16)


def propagate(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Naked and hidden singles to a fixed point: ``(M, 81)`` int16 → (new states, ``(M,)`` dead)."""
    states = states.copy()
    dead = np.zeros(len(states), dtype=bool)
    active = np.arange(len(states))
    while len(active):
        current = states[active]
        fixed = np.where(POPCOUNT[current] == 1, current, np.int16(0))
        reduced = current & ~np.bitwise_or.reduce(fixed[:, PEERS], axis=2)
        # Per unit: the digits possible somewhere, and those possible in two or more cells.
        in_unit = reduced[:, UNITS]  # (m, 27, 9)
        once = np.zeros(in_unit.shape[:2], dtype=np.int16)
        twice = np.zeros_like(once)
        for k in range(9):
            twice |= once & in_unit[:, :, k]
            once |= in_unit[:, :, k]
        exactly_once = once & ~twice
        forced = np.bitwise_or.reduce(exactly_once[:, CELL_UNITS], axis=2) & reduced  # (m, 81)
        reduced = np.where(forced != 0, forced, reduced)
        broken = (
            (once != ALL).any(axis=1)  # a unit where some digit has no place left
            | (POPCOUNT[forced] > 1).any(axis=1)  # a cell that must hold two digits
            | (reduced == 0).any(axis=1)  # a cell without candidates
        )
        changed = (reduced != current).any(axis=1) & ~broken
        states[active] = reduced
        dead[active[broken]] = True
        active = active[changed]
    return states, dead


def solve(grids: np.ndarray, *, limit: int = 2, rng: np.random.Generator | None = None, chunk: int = 8192) -> Solutions:
    """Search every puzzle of ``grids`` ``(N, 81)`` (0 = blank) for up to ``limit`` solutions.

    With ``rng``, branching tries the candidates of a cell in random order (to draw random complete
    grids); otherwise in increasing order, so results are deterministic either way.
    """
    grids = np.asarray(grids, dtype=np.uint8).reshape(-1, CELLS)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    total = len(grids)
    counts = np.zeros(total, dtype=np.int64)
    solutions = np.zeros((total, CELLS), dtype=np.uint8)
    # The stack: segments of (states, puzzle ids); the top is the last segment's last rows.
    stack: list[tuple[np.ndarray, np.ndarray]] = [(candidates(grids), np.arange(total))]
    while stack:
        states, owners = stack.pop()
        if len(states) > chunk:
            stack.append((states[:-chunk], owners[:-chunk]))
            states, owners = states[-chunk:], owners[-chunk:]
        open_puzzle = counts[owners] < limit
        states, owners = states[open_puzzle], owners[open_puzzle]
        if not len(states):
            continue
        states, dead = propagate(states)
        states, owners = states[~dead], owners[~dead]
        sizes = POPCOUNT[states]
        solved = (sizes == 1).all(axis=1)
        if solved.any():
            _record(states[solved], owners[solved], counts, solutions, limit)
        states, owners, sizes = states[~solved], owners[~solved], sizes[~solved]
        if not len(states):
            continue
        # Branch on the cell with the fewest candidates (never a fixed one).
        cell = np.where(sizes > 1, sizes, np.int8(10)).argmin(axis=1)
        rows = np.arange(len(states))
        options = states[rows, cell]
        pick = rng.integers(0, POPCOUNT[options]) if rng is not None else np.zeros(len(states), dtype=np.int64)
        bit = NTH_BIT[options, pick]
        take, skip = states.copy(), states
        take[rows, cell] = bit
        skip[rows, cell] = options & ~bit
        stack.append((skip, owners))
        stack.append((take, owners))  # on top: explored first
    return Solutions(np.minimum(counts, limit), solutions)


def _record(states: np.ndarray, owners: np.ndarray, counts: np.ndarray, solutions: np.ndarray, limit: int) -> None:
    """Count solved states per puzzle and keep each puzzle's first solution."""
    first_time = counts[owners] == 0
    unique_owners, first_row = np.unique(owners, return_index=True)
    new = first_time[first_row]
    solutions[unique_owners[new]] = DIGIT_OF[states[first_row[new]]]
    np.add.at(counts, owners, 1)


def count_solutions(grid: np.ndarray | str, limit: int = 2) -> int:
    """Number of solutions of one puzzle, capped at ``limit`` (0: unsolvable, 1: unique)."""
    return int(solve(_as_grid(grid)[None], limit=limit).counts[0])


def random_grids(count: int, rng: np.random.Generator) -> np.ndarray:
    """``(count, 81)`` uint8 random complete grids: a random first row, then a randomised search."""
    start = np.zeros((count, CELLS), dtype=np.uint8)
    start[:, :9] = rng.permuted(np.tile(np.arange(1, 10, dtype=np.uint8), (count, 1)), axis=1)
    found = solve(start, limit=1, rng=rng)
    assert (found.counts == 1).all()  # a valid first row always completes
    return found.solutions


def _as_grid(grid: np.ndarray | str) -> np.ndarray:
    if isinstance(grid, str):
        return np.frombuffer(grid.replace(".", "0").encode(), dtype=np.uint8) - ord("0")
    return np.asarray(grid, dtype=np.uint8).reshape(CELLS)
