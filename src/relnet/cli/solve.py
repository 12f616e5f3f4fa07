"""``relnet solve``: a trained RRN's answer to Sudoku puzzles, and optionally how it forms step by step.

    relnet solve 000000010400000000020000000000050407008000300001090000300400200050100000000806000
    relnet solve puzzles.txt --weights results/sudoku/quick/rrn.safetensors
    relnet solve PUZZLE --show-steps      # after each step: the cells the network is confident about

The network's answer is checked against the exact solver, which is also what ``--exact`` prints alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relnet.errors import RelnetError
from relnet.tasks.sudoku.format import grid_string, parse_grid, read_puzzles
from relnet.tasks.sudoku.solver import solve
from relnet.training.weights import load_model

#: Where ``relnet reproduce sudoku`` leaves weights, tried in order when ``--weights`` is not given.
DEFAULT_WEIGHTS = (
    "results/sudoku/rrn.safetensors",
    "results/sudoku/quick-12-epochs/rrn.safetensors",
    "results/sudoku/quick/rrn.safetensors",
)


VERB = "solve"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("solve", help="solve Sudoku puzzles with a trained RRN (or the exact solver)")
    parser.add_argument("puzzle", help="81 characters (0 or . for blanks), or a puzzle file in any Sudoku format")
    parser.add_argument("--weights", help="RRN weights (default: the committed results/sudoku weights)")
    parser.add_argument("--steps", type=int, help="message-passing steps (default: the model's evaluation steps)")
    parser.add_argument("--show-steps", action="store_true", help="the network's confident cells after every step")
    parser.add_argument("--confidence", type=float, default=0.9, help="probability that counts as confident")
    parser.add_argument("--exact", action="store_true", help="only the exact solver, no network")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    quizzes, labels = _read_argument(args.puzzle)
    exact = solve(quizzes, limit=2)
    if args.exact:
        return _exact_payload(quizzes, labels, exact)
    if not 0.0 < args.confidence <= 1.0:
        raise RelnetError(f"--confidence must lie in (0, 1], not {args.confidence}")
    weights = _weights_path(args.weights)
    _, model = load_model(weights, expect_task="sudoku")
    steps = args.steps if args.steps is not None else model.eval_steps
    if steps < 1:
        raise RelnetError(f"--steps must be at least 1, not {steps}")
    digits, confidence = _network_answers(model, quizzes, steps)  # (N, T, 81) each
    answers = np.where(quizzes > 0, quizzes, digits[:, -1])
    unique = exact.unique
    solved = unique & (answers == exact.solutions).all(axis=1)
    records = []
    for row, label in enumerate(labels):
        record: dict[str, Any] = {
            "puzzle": label,
            "quiz": grid_string(quizzes[row]),
            "answer": grid_string(answers[row]),
            "solved": bool(solved[row]),
            "exact": grid_string(exact.solutions[row]) if unique[row] else None,
            "solutions": int(exact.counts[row]),
        }
        if args.show_steps:
            record["steps"] = _step_trace(digits[row], confidence[row], exact.solutions[row], args.confidence)
        records.append(record)
    payload: dict[str, Any] = {
        "weights": str(weights),
        "steps": steps,
        "puzzles": records,
        "solved": int(solved.sum()),
        "count": len(records),
    }
    payload["text"] = _text(payload, args.confidence)
    return payload


# ---------------------------------------------------------------------------- internals
def _read_argument(argument: str) -> tuple[np.ndarray, list[str]]:
    """The puzzles ``(N, 81)`` uint8 from an 81-character string or a file, with a label each."""
    path = Path(argument)
    if path.is_file():
        puzzles = read_puzzles(path, require_unique=False)
        return puzzles.quizzes, [f"{path.name}:{line}" for line in puzzles.lines]
    compact = "".join(argument.split())
    if not set(compact) <= set("0123456789."):
        raise RelnetError(f"{argument!r} is neither a puzzle file nor an 81-character puzzle")
    quiz = parse_grid(compact)
    if solve(quiz[None], limit=1).counts[0] == 0:
        raise RelnetError("the puzzle has no solution")
    return quiz[None], ["puzzle"]


def _weights_path(given: str | None) -> Path:
    if given is not None:
        return Path(given)
    # The working folder first, then the checkout relnet runs from (an editable install's results/).
    checkout = next((p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()), Path.cwd())
    for name in DEFAULT_WEIGHTS:
        for base in (Path.cwd(), checkout):
            if (base / name).is_file():
                return base / name
    raise RelnetError(
        "no Sudoku weights found; pass --weights FILE (make some with `relnet reproduce sudoku --quick`), "
        "or use --exact for the exact solver"
    )


@torch.no_grad()
def _network_answers(model: torch.nn.Module, quizzes: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The network's digit and its probability per cell after every step: two ``(N, T, 81)`` arrays."""
    model.eval()
    digits, confidence = [], []
    for start in range(0, len(quizzes), 256):
        quiz = torch.from_numpy(quizzes[start : start + 256].astype(np.int64))
        probabilities = model({"quiz": quiz}, steps=steps).float()[..., 1:].softmax(dim=-1)  # (b, T, 81, 9)
        best, index = probabilities.max(dim=-1)
        digits.append((index + 1).to(torch.uint8).numpy())
        confidence.append(best.numpy())
    return np.concatenate(digits), np.concatenate(confidence)


def _step_trace(digits: np.ndarray, confidence: np.ndarray, truth: np.ndarray, threshold: float) -> list[dict]:
    """Per step: the confident cells as an 81-character string ('.' elsewhere) and counts."""
    trace = []
    for step in range(len(digits)):
        sure = confidence[step] >= threshold
        shown = np.where(sure, digits[step], 0)
        trace.append(
            {
                "step": step + 1,
                "confident": "".join(str(d) if d else "." for d in shown),
                "confident_cells": int(sure.sum()),
                "right_cells": int((digits[step] == truth).sum()) if truth.any() else None,
            }
        )
    return trace


def _pretty(grid: str) -> str:
    """An 81-character grid as 9 lines with box separators, '.' for blanks."""
    lines = []
    for row in range(9):
        cells = [grid[9 * row + col].replace("0", ".") for col in range(9)]
        lines.append(" ".join(cells[0:3]) + " | " + " ".join(cells[3:6]) + " | " + " ".join(cells[6:9]))
        if row in (2, 5):
            lines.append("------+-------+------")
    return "\n".join(lines)


def _verdict(record: dict[str, Any]) -> str:
    if record["solutions"] > 1:
        return "the puzzle has several solutions"
    return "right (matches the exact solution)" if record["solved"] else "wrong (the exact solver disagrees)"


def _text(payload: dict[str, Any], threshold: float) -> str:
    records = payload["puzzles"]
    if len(records) == 1:
        record = records[0]
        parts = [_pretty(record["answer"]), f"RRN after {payload['steps']} steps: {_verdict(record)}"]
    else:
        parts = [f"{r['puzzle']}: {r['answer']} {'right' if r['solved'] else 'wrong'}" for r in records]
        parts.append(f"solved {payload['solved']} of {payload['count']} puzzles after {payload['steps']} steps")
    for record in records:
        if "steps" not in record:
            continue
        parts.append(f"\n{record['puzzle']}: confident cells (p >= {threshold}) after each step")
        for step in record["steps"]:
            right = "" if step["right_cells"] is None else f"  right {step['right_cells']:2d}/81"
            counts = f"confident {step['confident_cells']:2d}/81{right}"
            parts.append(f"step {step['step']:3d}  {step['confident']}  {counts}")
    return "\n".join(parts)


def _exact_payload(quizzes: np.ndarray, labels: list[str], exact) -> dict[str, Any]:
    records = [
        {
            "puzzle": label,
            "quiz": grid_string(quizzes[row]),
            "exact": grid_string(exact.solutions[row]),
            "solutions": int(exact.counts[row]),
        }
        for row, label in enumerate(labels)
    ]
    if len(records) == 1:
        record = records[0]
        note = " (one of several solutions)" if record["solutions"] > 1 else ""
        text = _pretty(record["exact"]) + f"\nexact solver{note}"
    else:
        kinds = {1: "unique", 2: "several solutions"}
        text = "\n".join(f"{r['puzzle']}: {r['exact']} ({kinds[r['solutions']]})" for r in records)
    return {"puzzles": records, "count": len(records), "text": text}
