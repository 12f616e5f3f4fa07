"""What the RRN paper's diagnostic tasks share (age arithmetic, Pretty-CLEVR): a small complete graph,
and models that answer either once, ``(B, C)``, or after every step of an RRN, ``(B, T, C)``, scored
by a difficulty label (tree distance, number of jumps).

- :func:`step_loss`: cross-entropy against ``batch["answer"]``, averaged over the steps (the paper's
  loss at every step);
- :func:`step_records`: per question, right or wrong after every step, and its difficulty label;
- :func:`step_summary`: accuracy at the last step, per label value and per step.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F

from relnet.tasks.base import Records


def complete_graph(nodes: int) -> torch.Tensor:
    """The ``(2, n(n-1))`` directed edges of a complete graph without self-edges (row 0 senders)."""
    senders, receivers = torch.meshgrid(torch.arange(nodes), torch.arange(nodes), indexing="ij")
    keep = senders != receivers
    return torch.stack([senders[keep], receivers[keep]])


def step_logits(output: torch.Tensor) -> torch.Tensor:
    """``(B, C)`` or an RRN's ``(B, T, C)`` → ``(B, T, C)`` (``T`` = 1 for one answer)."""
    return output[:, None] if output.dim() == 2 else output


def step_loss(output: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of ``(B, [T,] C)`` logits against ``batch["answer"]`` ``(B,)``, mean over steps."""
    logits = step_logits(output).float()
    targets = batch["answer"][:, None].expand(-1, logits.shape[1])
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def step_records(output: torch.Tensor, batch: dict[str, torch.Tensor], label: str) -> Records:
    """``correct`` ``(B, T)`` after each step (``T`` = 1 for one answer) and ``batch[label]`` ``(B,)``."""
    return {"correct": step_logits(output).argmax(dim=-1) == batch["answer"][:, None], label: batch[label]}


def step_summary(records: Records, label: str, values: Iterable[int]) -> dict[str, float]:
    """``accuracy`` (last step), ``<label>_<v>`` for every ``v`` in ``values`` (NaN when no question
    has that value) and, for models that answer at every step, ``step_<t>`` (accuracy after step t)."""
    correct = records["correct"].float()
    final, labels = correct[:, -1], records[label]
    metrics = {"accuracy": final.mean().item()}
    for value in values:
        chosen = labels == value
        metrics[f"{label}_{value}"] = final[chosen].mean().item() if chosen.any() else float("nan")
    if correct.shape[1] > 1:
        metrics.update({f"step_{t + 1}": value for t, value in enumerate(correct.mean(dim=0).tolist())})
    return metrics
