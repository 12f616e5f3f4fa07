"""Sudoku metrics: whole-grid accuracy per number of givens and per step (Palm et al.'s `test.py`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

PAPER_GIVENS = range(17, 35)
#: Steps at which the whole-grid accuracy is also reported (those within the run's steps).
REPORTED_STEPS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128)
#: The paper trains with 32 steps and tests with 64; it reports the 17-given grids at both.
TRAINED_STEPS = 32


def predictions(logits: torch.Tensor) -> torch.Tensor:
    """``(..., 10)`` logits → ``(...)`` digits 1–9 (0, the blank, is never predicted)."""
    return logits[..., 1:].argmax(dim=-1) + 1


def step_loss(logits: torch.Tensor, solutions: torch.Tensor) -> torch.Tensor:
    """Mean over steps of the mean cell cross-entropy: ``(B, T, 81, 10)``, ``(B, 81)`` → scalar."""
    steps = logits.shape[1]
    targets = solutions.long()[:, None, :].expand(-1, steps, -1)
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))


def loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Palm's loss: the cell cross-entropy at every step, averaged over steps."""
    return step_loss(logits, batch["answer"])


def records(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per puzzle: ``solved`` ``(B, T)`` bool (all 81 cells right after each step), ``givens`` ``(B,)``,
    ``blank_right`` and ``blanks`` ``(B,)``: blank cells right at the last step, and blank cells."""
    right = predictions(logits) == batch["answer"].long()[:, None, :]  # (B, T, 81)
    blank = batch["quiz"] == 0
    return {
        "solved": right.all(dim=-1),
        "givens": batch["givens"],
        "blank_right": (right[:, -1] & blank).sum(dim=-1),
        "blanks": blank.sum(dim=-1),
    }


def summarize(records: dict[str, torch.Tensor]) -> dict[str, float]:
    """``overall`` and ``givens_<k>`` (whole grids solved at the last step), ``cells`` (blank cells right
    at the last step) and ``step_<t>`` (whole grids solved after step t), all fractions. A model that
    runs more than 32 steps (the paper's: 64 at test) also gets ``givens_<k>_at_32``, the paper's other
    column (94.1% of the 17-given grids at 32 steps, 96.6% at 64)."""
    solved = records["solved"]
    final = solved[:, -1].float()
    givens = records["givens"]
    metrics = {"overall": final.mean().item()}
    # The paper's levels always (NaN when absent: null in results files), plus any other level present.
    levels = sorted(set(PAPER_GIVENS) | set(givens.tolist()))
    for count in levels:
        chosen = givens == count
        metrics[f"givens_{count}"] = final[chosen].mean().item() if chosen.any() else float("nan")
    if solved.shape[1] > TRAINED_STEPS:
        at_32 = solved[:, TRAINED_STEPS - 1].float()
        for count in levels:
            chosen = givens == count
            metrics[f"givens_{count}_at_32"] = at_32[chosen].mean().item() if chosen.any() else float("nan")
    metrics["cells"] = (records["blank_right"].sum() / records["blanks"].sum().clamp(min=1)).item()
    for step in sorted({*REPORTED_STEPS, solved.shape[1]}):
        if step <= solved.shape[1]:
            metrics[f"step_{step}"] = solved[:, step - 1].float().mean().item()
    return metrics
