"""The Sudoku task (RRN paper §3.2): Palm's CSV data, the RRN, whole-grid accuracy per givens and step."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from relnet.errors import DataFormatError
from relnet.tasks.base import Metric, Task
from relnet.tasks.sudoku import metrics as scoring
from relnet.tasks.sudoku.augment import augment
from relnet.tasks.sudoku.dataset import load_table
from relnet.tasks.sudoku.format import SPLIT_FILES, duplicates, read_puzzles
from relnet.tasks.sudoku.generator import GeneratorConfig, generate
from relnet.tasks.sudoku.models import MODELS
from relnet.tasks.sudoku.recipes import RECIPES
from relnet.tasks.sudoku.solver import solve


class Sudoku(Task):
    name = "sudoku"
    description = "Sudoku (Palm et al. 2018): 81 cells, 17–34 givens, the RRN solves it by message passing"
    options = GeneratorConfig
    models = MODELS
    load = staticmethod(load_table)
    recipes = RECIPES
    # Palm's split sizes for the paper preset: `relnet reproduce sudoku --preset paper --source FILE`
    # with a list of 17-given puzzles (Royle's) builds Palm's dataset (disjoint pools, 17-34 givens).
    preset_data = {"paper": GeneratorConfig(count=180_000, val_count=18_000, test_count=18_000)}
    # Whole grids solved at the last step pick the kept epoch; blank cells right break ties (early in
    # training no grid is solved yet).
    metrics = (
        Metric("givens_17", headline=True),
        Metric("overall", headline=True, select=True),
        Metric("cells", select=True),
        Metric("givens_17_at_32"),
        Metric("givens_*_at_32", table=False),  # every level at 32 steps: in the JSON only
    )
    augment = staticmethod(augment)  # the grid's symmetries: digits, bands, rows, stacks, columns, transposition
    loss = staticmethod(scoring.loss)  # the cell cross-entropy at every step
    records = staticmethod(scoring.records)
    summarize = staticmethod(scoring.summarize)
    # RRN abstract: 96.6% of the 17-given test puzzles solved at 64 steps (94.1% at 32, DGL README).
    paper_results = {"rrn": {"givens_17": 0.966, "givens_17_at_32": 0.941}}

    def generate(self, out: Path, *, seed: int, options: GeneratorConfig) -> dict[str, Any]:
        return generate(out, seed=seed, config=options)

    def inspect(self, root: Path) -> dict[str, Any]:
        """Validate every puzzle file (a folder's splits, or one file), verify each puzzle is unique, and
        count repeated puzzles: within a file, and shared between splits (a test puzzle seen in training)."""
        root = Path(root)
        if root.is_dir():
            files = {}
            for split, names in SPLIT_FILES.items():
                found = [root / name for name in names if (root / name).is_file()]
                if found:
                    files[split] = found[0]
            if not files:
                raise DataFormatError(root, "no Sudoku files here (train.csv, valid.csv or val.csv, test.csv)")
        else:
            files = {"file": root}
        report: dict[str, Any] = {"task": self.name, "path": str(root), "files": {}}
        quizzes: dict[str, np.ndarray] = {}
        for split, path in files.items():
            puzzles = read_puzzles(path, require_unique=False)
            quizzes[split] = puzzles.quizzes
            start = time.perf_counter()
            found = solve(puzzles.quizzes, limit=2)
            seconds = time.perf_counter() - start
            if not puzzles.solved_here and not (found.solutions[found.unique] == puzzles.solutions[found.unique]).all():
                row = int(np.flatnonzero(found.unique & (found.solutions != puzzles.solutions).any(axis=1))[0])
                problem = "the given solution is not the puzzle's"
                raise DataFormatError(path, problem, record=f"line {puzzles.lines[row]}")
            givens, counts = np.unique(puzzles.givens, return_counts=True)
            report["files"][split] = {
                "file": str(path),
                "puzzles": len(puzzles),
                "unique": int(found.unique.sum()),
                "several_solutions": int((found.counts > 1).sum()),
                "verify_seconds": round(seconds, 2),
                "givens": {int(g): int(c) for g, c in zip(givens, counts, strict=True)},
                **_repeats(puzzles.quizzes, puzzles.lines),
            }
        names = list(quizzes)
        report["shared_between_splits"] = {
            f"{a}/{b}": _shared(quizzes[a], quizzes[b]) for i, a in enumerate(names) for b in names[i + 1 :]
        }
        return report


def _repeats(quizzes: np.ndarray, lines: np.ndarray) -> dict[str, Any]:
    """``duplicates``: puzzles that repeat an earlier one in the file; ``first_duplicate``: where."""
    count, pair = duplicates(quizzes)
    where = None if pair is None else f"line {lines[pair[1]]} repeats line {lines[pair[0]]}"
    return {"duplicates": count, "first_duplicate": where}


def _shared(first: np.ndarray, second: np.ndarray) -> int:
    """Distinct puzzles present in both files."""
    return len({row.tobytes() for row in first} & {row.tobytes() for row in second})
