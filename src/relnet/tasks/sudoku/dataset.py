"""Sudoku files → tensors: one row per puzzle, fetched a whole batch at a time."""

from __future__ import annotations

from pathlib import Path

import torch

from relnet.data import TensorTable
from relnet.tasks.sudoku.format import PuzzleFile, read_puzzles, split_path


def puzzle_table(puzzles: PuzzleFile) -> TensorTable:
    """Batch keys: ``quiz`` and ``answer`` (the solution) ``(B, 81)`` uint8 digits, ``givens`` ``(B,)`` long."""
    return TensorTable(
        {
            "quiz": torch.from_numpy(puzzles.quizzes.copy()),
            "answer": torch.from_numpy(puzzles.solutions.copy()),
            "givens": torch.from_numpy(puzzles.givens).long(),
        }
    )


def load_table(root: Path, split: str) -> TensorTable:
    """A split of a dataset folder (``train.csv``, ``valid.csv``/``val.csv``, ``test.csv``), or, when
    ``root`` is a file, that file whatever the split: ``relnet eval`` scores any puzzle file."""
    return puzzle_table(read_puzzles(split_path(root, split)))
