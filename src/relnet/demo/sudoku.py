"""The Sudoku page: a puzzle in, the RRN's beliefs about every cell after every step out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from relnet.demo.errors import BadRequestError
from relnet.errors import RelnetError

#: Tried in order under the results folder; then any ``sudoku/**/rrn.safetensors``.
WEIGHTS = ("sudoku/quick-12-epochs/rrn.safetensors", "sudoku/gpu/rrn.safetensors", "sudoku/quick/rrn.safetensors")
#: The most message-passing steps a request may ask for, and the steps run when it names none.
MAX_STEPS, DEFAULT_STEPS = 64, 32


class SudokuPage:
    """Loads the committed RRN once, on the first request."""

    def __init__(self, results: Path) -> None:
        found = [results / name for name in WEIGHTS if (results / name).is_file()]
        found += sorted(results.glob("sudoku/**/rrn.safetensors"))
        self.weights = found[0] if found else None
        self._model: torch.nn.Module | None = None

    def models(self) -> torch.nn.Module:
        if self.weights is None:
            raise BadRequestError("no Sudoku weights in the results folder (sudoku/**/rrn.safetensors)", 404)
        if self._model is None:
            from relnet.explain.steps import check_sudoku_rrn
            from relnet.training.weights import load_model

            _, model = load_model(self.weights, expect_task="sudoku")
            check_sudoku_rrn(model, str(self.weights))
            self._model = model
        return self._model

    def info(self) -> dict[str, Any]:
        return {"weights": None if self.weights is None else str(self.weights)}

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        from relnet.explain.steps import beliefs
        from relnet.tasks.sudoku.format import grid_string, parse_grid
        from relnet.tasks.sudoku.solver import solve

        text = request.get("puzzle")
        if not isinstance(text, str):
            raise BadRequestError('"puzzle" must be a string of 81 characters (digits, 0 or . for blanks)')
        steps = request.get("steps", DEFAULT_STEPS)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
            raise BadRequestError(f'"steps" must be a whole number from 1 to {MAX_STEPS}')
        compact = "".join(text.split())
        if len(compact) != 81:
            raise BadRequestError(f"a puzzle has 81 cells, this one has {len(compact)} characters")
        bad = sorted(set(compact) - set("0123456789."))
        if bad:
            raise BadRequestError(f"only digits and '.' are allowed, not {''.join(bad)[:20]!r}")
        try:
            quiz = parse_grid(compact)
        except RelnetError as error:
            raise BadRequestError(str(error)) from None
        exact = solve(quiz[None], limit=2)
        if exact.counts[0] == 0:
            raise BadRequestError("the puzzle has no solution")
        model = self.models()
        solution = exact.solutions[0] if exact.unique[0] else np.zeros(81, dtype=np.uint8)
        found = beliefs(
            model,
            torch.from_numpy(quiz.astype(np.int64))[None],
            torch.from_numpy(solution.astype(np.int64))[None],
            steps,
            None,
        )
        digits = found.digits[0]  # (T, 81)
        answer = np.where(quiz > 0, quiz, digits[-1].numpy())
        unique = bool(exact.unique[0])
        return {
            "weights": str(self.weights),
            "steps": steps,
            "quiz": grid_string(quiz),
            "answer": grid_string(answer),
            "exact": grid_string(exact.solutions[0]) if unique else None,
            "solutions": "one" if unique else "several",
            "solved": unique and bool((answer == exact.solutions[0]).all()),
            "grids": ["".join(str(int(d)) for d in step) for step in digits],
            "confidence": np.round(found.probabilities[0].amax(dim=-1).numpy(), 3).tolist(),  # (T, 81)
            "right_cells": found.right[0].sum(dim=-1).tolist() if unique else None,
            "settled": found.settled[0].tolist(),
        }
