"""bAbI metrics: accuracy per task, tasks passed (accuracy > 95%) and mean error, as the papers report."""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: A task is passed when its test error is below 5% (accuracy above 95%: RN §3.3, RRN), decided on
#: integer counts so that a float rounding never moves 950 of 1,000 across the line.
PASS_PERCENT = 95


def final_logits(output: torch.Tensor) -> torch.Tensor:
    """The answer logits ``(B, A)``: the last step's for models that answer at every step ``(B, T, A)``."""
    return output[:, -1] if output.dim() == 3 else output


def loss(output: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy; for ``(B, T, A)`` outputs the mean over steps (the RRN's loss at every step)."""
    answer = batch["answer"]
    if output.dim() == 3:
        steps = output.shape[1]
        return F.cross_entropy(output.float().flatten(0, 1), answer.repeat_interleave(steps))
    return F.cross_entropy(output.float(), answer)


def records(output: torch.Tensor, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per question: ``correct`` (an unknown answer, class 0, never is) and its ``task`` number."""
    answer = batch["answer"]
    return {"correct": (final_logits(output).argmax(dim=-1) == answer) & (answer != 0), "task": batch["task"]}


def summarize(records: dict[str, torch.Tensor]) -> dict[str, float]:
    """``accuracy`` (all questions), ``task_N`` for every task present, ``tasks_passed`` (a count) and
    ``mean_error`` (mean over the tasks present of 1 - accuracy)."""
    correct, task = records["correct"].float(), records["task"]
    metrics = {"accuracy": correct.mean().item()}
    per_task, passed = {}, 0
    for number in range(1, 21):
        chosen = task == number
        if chosen.any():
            right, total = int(correct[chosen].sum()), int(chosen.sum())
            per_task[number] = right / total
            metrics[f"task_{number}"] = per_task[number]
            passed += right * 100 > PASS_PERCENT * total
    metrics["tasks_passed"] = float(passed)
    metrics["mean_error"] = 1.0 - sum(per_task.values()) / max(1, len(per_task))
    return metrics
