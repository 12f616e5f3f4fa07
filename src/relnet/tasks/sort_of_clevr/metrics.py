"""Sort-of-CLEVR metrics: accuracy overall, per question type and per subtype (the paper's Fig. 4)."""

from __future__ import annotations

import torch

from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, SUBTYPES


def eval_records(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per question: ``correct`` (bool) and ``subtype`` (index into ``ALL_SUBTYPES``)."""
    return {"correct": logits.argmax(dim=-1) == batch["answer"], "subtype": batch["subtype"]}


def summarize(records: dict[str, torch.Tensor]) -> dict[str, float]:
    """``accuracy``, ``relational``, ``non_relational`` and one accuracy per subtype, as fractions."""
    correct = records["correct"].float()
    subtype = records["subtype"]
    metrics = {"accuracy": correct.mean().item()}
    for question_type, names in SUBTYPES.items():
        in_type = torch.isin(subtype, torch.tensor([ALL_SUBTYPES.index(name) for name in names]))
        metrics[question_type] = correct[in_type].mean().item() if in_type.any() else float("nan")
    for index, name in enumerate(ALL_SUBTYPES):
        chosen = subtype == index
        metrics[name] = correct[chosen].mean().item() if chosen.any() else float("nan")
    return metrics
