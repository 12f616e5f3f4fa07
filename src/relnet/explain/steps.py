"""A Sudoku RRN's beliefs step by step: each cell's digit distribution after every message-passing step,
when each cell settles and on which digit, and what silencing one kind of edge does to the solve rate.

The RRN sends messages along the 1,620 edges between peers (cells sharing a row, a column or a box).
*Silencing* a kind drops every edge whose two cells share that unit, before the run: silencing rows
drops the 648 edges within rows, including those between cells that share a box too (such an edge
carries both constraints and there is no half of it to keep), so the box constraint then reaches
those pairs only through other cells. A cell *settles* at the first step after which its most
probable digit never changes again (within the steps run).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from relnet.errors import RelnetError

EDGE_KINDS = ("row", "column", "box")


def edges_without(edges: torch.Tensor, kind: str) -> torch.Tensor:
    """The ``(2, E)`` Sudoku edges (cells 0..80, row-major) without those whose cells share a ``kind``
    unit (``row``, ``column`` or ``box``) → ``(2, E')``."""
    from relnet.tasks.sudoku.grid import BOX, COLUMN, ROW

    units = {"row": ROW, "column": COLUMN, "box": BOX}
    if kind not in units:
        raise RelnetError(f"--silence must be one of {', '.join(EDGE_KINDS)}, not {kind!r}")
    unit = torch.from_numpy(units[kind]).to(edges.device)
    return edges[:, unit[edges[0]] != unit[edges[1]]]


@dataclass(frozen=True)
class Beliefs:
    """One batch of puzzles run for ``T`` steps.

    Attributes:
        probabilities: ``(B, T, 81, 9)``: each cell's distribution over digits 1..9 after every step.
        digits: ``(B, T, 81)``: the most probable digit (1..9) after every step.
        settled: ``(B, 81)``: the step (1..T) from which each cell's digit stays what it is at step T.
        right: ``(B, T, 81)`` bool: the digit is the solution's.
    """

    probabilities: torch.Tensor
    digits: torch.Tensor
    settled: torch.Tensor
    right: torch.Tensor


@torch.no_grad()
def beliefs(model: nn.Module, quiz: torch.Tensor, solution: torch.Tensor, steps: int, silence: str | None) -> Beliefs:
    """Run the Sudoku RRN ``model`` on ``quiz`` ``(B, 81)`` for ``steps`` steps, with the edges of one
    kind silenced (``silence``: ``row``, ``column``, ``box`` or ``None``); ``solution`` ``(B, 81)``."""
    edges = model.edges if silence is None else edges_without(model.edges, silence)
    logits = model.rrn(model.embed(quiz), edges, steps=steps)  # (B, T, 81, 10); digit 0 is never an answer
    probabilities = logits[..., 1:].float().softmax(dim=-1)
    digits = probabilities.argmax(dim=-1) + 1
    return Beliefs(probabilities, digits, settle_steps(digits), digits == solution.long()[:, None, :])


def settle_steps(answers: torch.Tensor) -> torch.Tensor:
    """``(B, T, ...)`` answers after every step → ``(B, ...)``: the first step (1..T) from which the answer
    is the last step's at every later step."""
    if answers.shape[1] == 1:
        return torch.ones_like(answers[:, 0], dtype=torch.long)
    changed = answers[:, 1:] != answers[:, :-1]  # (B, T - 1, ...): the answer after step t + 1 differs
    step_of_change = torch.arange(2, answers.shape[1] + 1).view(1, -1, *[1] * (answers.dim() - 2))
    return (changed * step_of_change).amax(dim=1).clamp(min=1)


def check_sudoku_rrn(model: nn.Module, what: str) -> None:
    from relnet.tasks.sudoku.models import SudokuRRN

    if not isinstance(model, SudokuRRN):
        raise RelnetError(f"{what} is not a Sudoku RRN")


def run_batches(
    model: nn.Module, table: Any, indices: Sequence[int], steps: int, silence: str | None, batch_size: int = 32
) -> Iterator[tuple[dict[str, torch.Tensor], Beliefs]]:
    """The :class:`Beliefs` of puzzles ``indices`` of ``table``, a batch at a time."""
    for start in range(0, len(indices), batch_size):
        batch = table.__getitems__(list(indices[start : start + batch_size]))
        yield batch, beliefs(model, batch["quiz"].long(), batch["answer"], steps, silence)


def puzzle_record(batch: dict[str, torch.Tensor], found: Beliefs, row: int, *, detail: bool) -> dict[str, Any]:
    """One puzzle's JSON: solved after each step, settle steps and digits; with ``detail`` also every
    cell's distribution after every step (``(T, 81, 9)``, 3 decimals) and the grid after each step."""
    blank = batch["quiz"][row] == 0
    right = found.right[row]  # (T, 81)
    record: dict[str, Any] = {
        "quiz": "".join(str(int(d)) for d in batch["quiz"][row]),
        "solution": "".join(str(int(d)) for d in batch["answer"][row]),
        "givens": int((~blank).sum()),
        "solved_at_step": _first_true(right.all(dim=-1)),
        "solved": bool(right[-1].all()),
        "blank_cells_right": int((right[-1] & blank).sum()),
        "blank_cells": int(blank.sum()),
        "blank_settle_mean": round(float(found.settled[row][blank].float().mean()), 2) if blank.any() else None,
    }
    if detail:
        record["settled"] = found.settled[row].tolist()
        record["final_digits"] = "".join(str(int(d)) for d in found.digits[row, -1])
        record["grids"] = ["".join(str(int(d)) for d in step) for step in found.digits[row]]
        record["right_cells"] = right.sum(dim=-1).tolist()
        record["beliefs"] = np.round(found.probabilities[row].numpy(), 3).tolist()
    return record


def _first_true(flags: torch.Tensor) -> int | None:
    """The 1-based index of the first ``True`` of ``(T,)`` flags from which all later ones are ``True``."""
    if not bool(flags[-1]):
        return None
    false = (~flags).nonzero()
    return int(false[-1]) + 2 if len(false) else 1


def silencing_summary(
    model: nn.Module, table: Any, indices: Sequence[int], steps: int, silence: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Puzzles ``indices`` run with one kind of edge silenced (or none): the share solved at the last
    step and after every step, the blank cells right at the last step, the mean step at which blank
    cells settle; and each puzzle's compact record."""
    puzzles, solved_by_step = 0, torch.zeros(steps)
    blanks = blank_right = settle_total = 0
    records = []
    for batch, found in run_batches(model, table, indices, steps, silence):
        blank = batch["quiz"] == 0
        puzzles += len(blank)
        solved_by_step += found.right.all(dim=-1).sum(dim=0)
        blanks += int(blank.sum())
        blank_right += int((found.right[:, -1] & blank).sum())
        settle_total += int(found.settled[blank].sum())
        records += [puzzle_record(batch, found, row, detail=False) for row in range(len(blank))]
    summary = {
        "puzzles": puzzles,
        "solved": round(float(solved_by_step[-1]) / puzzles, 4),
        "cells": round(blank_right / max(1, blanks), 4),
        "blank_settle_mean": round(settle_total / max(1, blanks), 2),
        "solved_by_step": [round(float(count) / puzzles, 4) for count in solved_by_step],
    }
    return summary, records
