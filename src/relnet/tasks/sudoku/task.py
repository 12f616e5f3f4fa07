"""The Sudoku task (RRN paper §3.2): Palm's CSV data, the RRN, whole-grid accuracy per givens and step."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from relnet.errors import DataFormatError, RelnetError
from relnet.tasks import register
from relnet.tasks.base import Batch, CommandHandler, Records, Task
from relnet.tasks.sudoku import metrics
from relnet.tasks.sudoku.augment import augment as augment_puzzles
from relnet.tasks.sudoku.dataset import load_table
from relnet.tasks.sudoku.format import SPLIT_FILES, read_puzzles
from relnet.tasks.sudoku.generator import GeneratorConfig, generate, parse_givens
from relnet.tasks.sudoku.models import MODELS
from relnet.tasks.sudoku.recipes import RECIPES
from relnet.tasks.sudoku.solver import solve


@register
class Sudoku(Task):
    name = "sudoku"
    description = "Sudoku (Palm et al. 2018): 81 cells, 17–34 givens, the RRN solves it by message passing"
    models = tuple(MODELS)
    model_classes = MODELS
    recipes = RECIPES
    headline_metrics = ("givens_17", "overall")
    selection_metrics = ("overall", "cells")
    # RRN abstract: 96.6% of the 17-given test puzzles solved at 64 steps (94.1% at 32, DGL README).
    paper_results: ClassVar[dict[str, dict[str, float]]] = {"rrn": {"givens_17": 0.966}}

    # -- data ------------------------------------------------------------------------------
    def add_generate_arguments(self, parser: argparse.ArgumentParser) -> None:
        defaults = GeneratorConfig()
        parser.add_argument("--count", type=int, default=defaults.count, help="training puzzles (Palm: 180000)")
        parser.add_argument("--val-count", type=int, default=defaults.val_count, help="validation puzzles")
        parser.add_argument("--test-count", type=int, default=defaults.test_count, help="test puzzles")
        parser.add_argument("--givens", default="17-34", help="range of givens, spread evenly (default 17-34)")
        parser.add_argument("--source", help="file of minimal puzzles to draw from (e.g. 17-given ones)")
        parser.add_argument("--pool", type=int, default=defaults.pool, help="minimal puzzles to make without --source")

    def generate(self, out: Path, *, seed: int, options: dict[str, Any] | None = None) -> dict:
        options = {key: value for key, value in (options or {}).items() if value is not None}
        if isinstance(options.get("givens"), str):
            options["givens"] = parse_givens(options["givens"])
        config = GeneratorConfig(**options)
        if config.pool < 1:
            raise RelnetError("--pool must be at least 1")
        return generate(out, seed=seed, config=config)

    def load(self, root: Path, split: str) -> torch.utils.data.Dataset:
        return load_table(root, split)

    def inspect(self, root: Path) -> dict[str, Any]:
        """Validate every puzzle file (a folder's splits, or one file), verify each puzzle is unique."""
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
        for split, path in files.items():
            puzzles = read_puzzles(path, require_unique=False)
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
            }
        return report

    # -- models ----------------------------------------------------------------------------
    def add_commands(self, commands: argparse._SubParsersAction) -> dict[str, CommandHandler]:
        from relnet.tasks.sudoku.commands import add_solve_command

        return add_solve_command(commands)

    # -- objective and metrics -------------------------------------------------------------
    def augment(self, batch: Batch) -> Batch:
        return augment_puzzles(batch)

    def loss(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Palm's loss: the cell cross-entropy at every step, averaged over steps."""
        return metrics.step_loss(output, batch["answer"])

    def eval_records(self, output: torch.Tensor, batch: Batch) -> Records:
        return metrics.eval_records(output, batch)

    def summarize(self, records: Records) -> dict[str, float]:
        return metrics.summarize(records)
