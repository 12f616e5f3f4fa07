"""Training-time augmentation by the validity-preserving transforms of a Sudoku grid.

Relabelling the digits, permuting the three bands (row triples) and the rows within each band,
permuting the three stacks (column triples) and the columns within each stack, and transposing all map
a valid grid to a valid grid and a puzzle with a unique solution to a puzzle with a unique solution:
the transformed solution. That is 9! · 6⁸ · 2 ≈ 1.2·10¹² variants of each puzzle, which turns a
training set of thousands of puzzles into an effectively endless one. The number of givens is
unchanged, so the per-givens metrics still hold.
"""

from __future__ import annotations

import torch

from relnet.data.tables import Batch
from relnet.tasks.sudoku.grid import CELLS, SIZE


def _random_permutations(count: int, size: int, device: torch.device) -> torch.Tensor:
    """``(count, size)`` long: an independent uniform permutation of ``range(size)`` per row."""
    return torch.rand(count, size, device=device).argsort(dim=1)


def _line_order(count: int, device: torch.device) -> torch.Tensor:
    """``(count, 9)`` long: rows (or columns) reordered by a random band order and a random order
    within each band, so that rows of one band stay together."""
    bands = _random_permutations(count, 3, device)  # (count, 3): which old band lands in new band b
    within = torch.rand(count, 3, 3, device=device).argsort(dim=2)  # (count, 3, 3)
    new_band = torch.arange(SIZE, device=device) // 3  # (9,)
    new_offset = torch.arange(SIZE, device=device) % 3  # (9,)
    old_band = bands[:, new_band]  # (count, 9)
    return old_band * 3 + within[:, new_band, new_offset]


def random_transforms(count: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` random grid transforms: ``(count, 81)`` source cell of every target cell and
    ``(count, 10)`` digit map (0, the blank, maps to itself). Draws from torch's global generator,
    which the training loop seeds per step."""
    rows, columns = _line_order(count, device), _line_order(count, device)  # (count, 9) each
    transpose = torch.rand(count, device=device) < 0.5  # (count,)
    target_row = torch.arange(CELLS, device=device) // SIZE  # (81,)
    target_column = torch.arange(CELLS, device=device) % SIZE
    row_index = torch.where(transpose[:, None], target_column, target_row)  # (count, 81)
    column_index = torch.where(transpose[:, None], target_row, target_column)
    source = rows.gather(1, row_index) * SIZE + columns.gather(1, column_index)  # (count, 81)
    digits = torch.cat(
        [torch.zeros(count, 1, dtype=torch.long, device=device), 1 + _random_permutations(count, SIZE, device)], dim=1
    )
    return source, digits


def apply_transforms(batch: Batch, source: torch.Tensor, digits: torch.Tensor) -> Batch:
    """``batch`` with puzzle ``k``'s quiz and answer moved by ``source[k]`` and relabelled by ``digits[k]``."""
    out = dict(batch)
    for key in ("quiz", "answer"):
        grid = batch[key]  # (B, 81) digits
        moved = grid.long().gather(1, source)
        out[key] = digits.gather(1, moved).to(grid.dtype)
    return out


def augment(batch: Batch) -> Batch:
    """A random transform of every puzzle of a training batch (``quiz``, ``answer``: ``(B, 81)``)."""
    source, digits = random_transforms(len(batch["quiz"]), batch["quiz"].device)
    return apply_transforms(batch, source, digits)
