"""Seeded Sudoku datasets in Palm et al.'s scheme, written as Palm's CSV files.

Palm et al. (2018) start from minimal puzzles (Royle's 17-given list), split them into disjoint
pools for test, validation and training, and make every dataset puzzle by drawing a pool puzzle
with replacement, relabelling its digits with a random permutation and revealing ``k`` extra cells of
its solution, for an even spread of 17–34 givens.

relnet does the same. The pools come from ``source`` (any file of puzzles, e.g. a list of 17-given
puzzles: then 17–34 givens are reachable) or, without one, from minimal puzzles it makes itself: a
random complete grid whose cells are removed in random order whenever the puzzle stays unique.
Those have about 21–28 givens, so the spread then starts where its own pool allows (the lowest
count that at least 1% of the training pool reaches). Every output puzzle is verified unique.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from relnet.errors import RelnetError
from relnet.tasks.sudoku.format import read_puzzles, write_csv
from relnet.tasks.sudoku.grid import CELLS
from relnet.tasks.sudoku.solver import random_grids, solve

#: Palm's pools from Royle's 49,151 puzzles: test 10,000, validation 1,000, training the rest.
PALM_POOL_FRACTIONS = {"test": 10_000 / 49_151, "val": 1_000 / 49_151}
SPLIT_FILE_NAMES = {"train": "train.csv", "val": "valid.csv", "test": "test.csv"}


def parse_givens(text: str) -> tuple[int, int]:
    """``"17-34"`` or ``"25"`` → ``(low, high)``, checked to lie in 17..80 (16 givens never suffice)."""
    try:
        parts = [int(part) for part in text.split("-")]
    except ValueError:
        raise RelnetError(f"--givens must look like 17-34 or 25, not {text!r}") from None
    if len(parts) not in (1, 2):
        raise RelnetError(f"--givens must look like 17-34 or 25, not {text!r}")
    low, high = parts[0], parts[-1]
    if not 17 <= low <= high <= 80:
        raise RelnetError(f"--givens must satisfy 17 <= low <= high <= 80, not {text!r}")
    return low, high


@dataclass(frozen=True)
class GeneratorConfig:
    """Sizes and givens of a generated dataset, the flags of ``relnet generate sudoku`` (defaults: a
    CPU-sized set; Palm's is 180k/18k/18k)."""

    count: int = field(default=14_400, metadata={"help": "training puzzles (Palm: 180000)"})
    val_count: int = field(default=360, metadata={"help": "validation puzzles"})
    test_count: int = field(default=1_800, metadata={"help": "test puzzles"})
    givens: tuple[int, int] = field(
        default=(17, 34), metadata={"help": "range of givens, spread evenly (e.g. 17-34)", "parse": parse_givens}
    )
    source: str | None = field(
        default=None, metadata={"help": "file of minimal puzzles to draw from (e.g. 17-given ones)"}
    )
    pool: int = field(default=2_000, metadata={"help": "minimal puzzles to make without --source"})

    def __post_init__(self) -> None:
        if self.pool < 1:
            raise RelnetError("--pool must be at least 1")
        if min(self.split_sizes().values()) < 1:
            raise RelnetError("every split needs at least one puzzle")
        low, high = self.givens
        if not 17 <= low <= high <= 80:
            raise RelnetError(f"givens must satisfy 17 <= low <= high <= 80, not {self.givens}")

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.count, "val": self.val_count, "test": self.test_count}


def minimal_puzzles(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random minimal puzzles and their solutions, each ``(count, 81)`` uint8.

    All puzzles are reduced together: at step ``s`` every puzzle tries to blank its ``s``-th cell
    of a random order and keeps the blank if the puzzle stays unique. A cell kept once stays
    necessary (more blanks only add solutions), so the result is minimal.
    """
    solutions = random_grids(count, rng)
    quizzes = solutions.copy()
    order = rng.permuted(np.tile(np.arange(CELLS), (count, 1)), axis=1)
    rows = np.arange(count)
    for step in range(CELLS):
        trial = quizzes.copy()
        trial[rows, order[:, step]] = 0
        unique = solve(trial, limit=2).unique
        quizzes[unique] = trial[unique]
    return quizzes, solutions


def relabel(quizzes: np.ndarray, solutions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Apply one random permutation of the digits 1–9 per puzzle (0 stays blank)."""
    tables = np.zeros((len(quizzes), 10), dtype=np.uint8)
    tables[:, 1:] = rng.permuted(np.tile(np.arange(1, 10, dtype=np.uint8), (len(quizzes), 1)), axis=1)
    rows = np.arange(len(quizzes))[:, None]
    return tables[rows, quizzes], tables[rows, solutions]


def reveal(quizzes: np.ndarray, solutions: np.ndarray, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reveal random blank cells of each quiz from its solution until it has ``targets[i]`` givens."""
    scores = rng.random(quizzes.shape)
    scores[quizzes > 0] = np.inf  # givens never come first
    rank = np.argsort(np.argsort(scores, axis=1), axis=1)  # each blank's place in a random order
    extra = targets - (quizzes > 0).sum(axis=1)
    shown = (quizzes == 0) & (rank < extra[:, None])
    return np.where(shown, solutions, quizzes)


def make_split(
    pool_quizzes: np.ndarray, pool_solutions: np.ndarray, count: int, levels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` puzzles spread evenly over ``levels`` (givens counts), drawn from a pool in Palm's way."""
    targets = levels[np.arange(count) % len(levels)]
    rng.shuffle(targets)
    pool_givens = (pool_quizzes > 0).sum(axis=1)
    picks = np.empty(count, dtype=np.int64)
    for level in np.unique(targets):  # a loop over the ≤ 64 levels, not over puzzles
        chosen = targets == level
        eligible = np.flatnonzero(pool_givens <= level)
        picks[chosen] = eligible[rng.integers(0, len(eligible), int(chosen.sum()))]
    quizzes, solutions = relabel(pool_quizzes[picks], pool_solutions[picks], rng)
    return reveal(quizzes, solutions, targets, rng), solutions


def _pools(config: GeneratorConfig, rng: np.random.Generator, note) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Disjoint minimal-puzzle pools per split, from the source file or made here."""
    if config.source is not None:
        source = read_puzzles(Path(config.source))
        order = rng.permutation(len(source))
        quizzes, solutions = source.quizzes[order], source.solutions[order]
        sizes = {split: max(1, round(len(order) * fraction)) for split, fraction in PALM_POOL_FRACTIONS.items()}
        if sizes["test"] + sizes["val"] >= len(order):
            raise RelnetError(f"{config.source}: {len(order)} puzzles are too few for disjoint test/val/train pools")
        sizes["train"] = len(order) - sizes["test"] - sizes["val"]
    else:
        pool = config.pool
        sizes = {"train": pool, "val": max(1, round(pool * 0.05)), "test": max(1, round(pool * 0.25))}
        note(f"making {sum(sizes.values())} minimal puzzles for the pools ...")
        # One batch for all pools: the cost is mostly per search round, not per puzzle.
        quizzes, solutions = minimal_puzzles(sum(sizes.values()), rng)
    pools, start = {}, 0
    for split, size in sizes.items():
        pools[split] = (quizzes[start : start + size], solutions[start : start + size])
        start += size
    return pools


def generate(out: Path, *, seed: int, config: GeneratorConfig, note=None) -> dict[str, Any]:
    """Write ``train.csv``, ``valid.csv`` and ``test.csv`` (Palm's names and format) into ``out``."""
    out = Path(out)
    note = note or (lambda message: print(message, file=sys.stderr, flush=True))
    rng = np.random.default_rng(seed)
    pools = _pools(config, rng, note)
    low, high = config.givens
    # The fewest givens every pool can serve, and that at least 1% of the training pool reaches.
    train_givens = np.sort((pools["train"][0] > 0).sum(axis=1))
    reachable = int(train_givens[int(0.01 * (len(train_givens) - 1))])
    reachable = max(reachable, *(int((quizzes > 0).sum(axis=1).min()) for quizzes, _ in pools.values()))
    low = max(low, reachable)
    if low > high:
        raise RelnetError(f"the minimal puzzles here need at least {low} givens, more than the requested {high}")
    levels = np.arange(low, high + 1)
    summary: dict[str, Any] = {}
    for split, count in config.split_sizes().items():
        quizzes, solutions = make_split(*pools[split], count, levels, rng)
        verified = solve(quizzes, limit=2)
        assert verified.unique.all() and (verified.solutions == solutions).all(), "generated a non-unique puzzle"
        write_csv(out / SPLIT_FILE_NAMES[split], quizzes, solutions)
        summary[split] = count
    summary["givens"] = f"{low}-{high}"
    return summary
