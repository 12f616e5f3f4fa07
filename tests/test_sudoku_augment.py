"""Sudoku augmentation: every transformed puzzle is a valid puzzle whose unique solution is the
transformed answer, and the transforms reach every kind of symmetry."""

from __future__ import annotations

import numpy as np
import torch

from relnet.tasks import get_task
from relnet.tasks.sudoku.augment import apply_transforms, augment, random_transforms
from relnet.tasks.sudoku.format import parse_grid
from relnet.tasks.sudoku.grid import BOX, COLUMN, ROW, UNITS
from relnet.tasks.sudoku.solver import random_grids, solve

HARD = "000000010400000000020000000000050407008000300001090000300400200050100000000806000"
HARD_SOLUTION = "693784512487512936125963874932651487568247391741398625319475268856129743274836159"


def _batch(copies: int) -> dict[str, torch.Tensor]:
    quiz = torch.from_numpy(np.tile(parse_grid(HARD), (copies, 1)))
    answer = torch.from_numpy(np.tile(parse_grid(HARD_SOLUTION), (copies, 1)))
    return {"quiz": quiz, "answer": answer, "givens": torch.full((copies,), 17)}


def test_transformed_puzzles_are_unique_puzzles_of_the_transformed_answers() -> None:
    batch = _batch(64)
    out = augment(batch)
    assert out["quiz"].dtype == batch["quiz"].dtype and out["givens"] is batch["givens"]
    quiz, answer = out["quiz"].numpy(), out["answer"].numpy()
    assert ((quiz > 0).sum(axis=1) == 17).all()
    assert (np.sort(answer[:, UNITS], axis=2) == np.arange(1, 10)).all()  # every answer a valid grid
    assert ((quiz == 0) | (quiz == answer)).all()  # the givens agree with the answer
    found = solve(quiz, limit=2)
    assert found.unique.all()
    np.testing.assert_array_equal(found.solutions, answer)
    assert len({row.tobytes() for row in quiz}) == 64  # 64 different variants


def test_each_symmetry_occurs() -> None:
    torch.manual_seed(1)
    source, digits = random_transforms(2000, torch.device("cpu"))
    assert (digits[:, 0] == 0).all()
    assert (digits[:, 1:].sort(dim=1).values == torch.arange(1, 10)).all()
    assert (digits[:, 1:] != torch.arange(1, 10)).any(dim=1).float().mean() > 0.99
    source_row, source_column, source_box = (torch.from_numpy(key)[source] for key in (ROW, COLUMN, BOX))
    boxes = torch.from_numpy(UNITS[18:])  # (9, 9): the cells of each target box
    assert (source_box[:, boxes] == source_box[:, boxes[:, :1]]).all()  # a box comes from one box
    rows = torch.from_numpy(UNITS[:9])
    from_one_row = (source_row[:, rows] == source_row[:, rows[:, :1]]).all(dim=2).all(dim=1)
    from_one_column = (source_column[:, rows] == source_column[:, rows[:, :1]]).all(dim=2).all(dim=1)
    assert (from_one_row ^ from_one_column).all()  # a row comes from one row, or (transposed) one column
    assert 0.45 < from_one_column.float().mean() < 0.55  # about half of the transforms transpose
    assert (source[:, 0] != 0).float().mean() > 0.9  # rows and columns move


def test_random_grids_survive_many_transforms() -> None:
    grids = torch.from_numpy(random_grids(200, np.random.default_rng(0)))
    source, digits = random_transforms(200, torch.device("cpu"))
    moved = apply_transforms({"quiz": grids, "answer": grids}, source, digits)["answer"].numpy()
    assert (np.sort(moved[:, UNITS], axis=2) == np.arange(1, 10)).all()


def test_the_task_offers_augmentation() -> None:
    task = get_task("sudoku")
    assert task.augment is not None
    torch.manual_seed(5)
    first = task.augment(_batch(4))
    torch.manual_seed(5)
    again = task.augment(_batch(4))
    assert torch.equal(first["quiz"], again["quiz"])  # seeded like every other random draw in training
