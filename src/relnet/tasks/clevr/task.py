"""The CLEVR task: the v1.0 format, a generator with a renderer, the executor and the data pipeline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from relnet.tasks.base import Batch, Metric, Records, Task
from relnet.tasks.clevr.dataset import IGNORE, load_table
from relnet.tasks.clevr.generate import GenerateConfig, generate
from relnet.tasks.clevr.stats import inspect_folder
from relnet.tasks.clevr.vocab import CATEGORIES, QUESTION_TYPES


def _progress(name: str, done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        print(f"\r{name}: {done}/{total} images", end="\n" if done == total else "", file=sys.stderr, flush=True)


class Clevr(Task):
    name = "clevr"
    description = "CLEVR v1.0 (Johnson et al. 2017): 3-D scenes of 3-10 objects, 13 question types"
    options = GenerateConfig
    metrics = (Metric("accuracy", headline=True, select=True), *(Metric(c, headline=True) for c in CATEGORIES))
    # RN paper Table 1, CNN+LSTM+RN from pixels.
    paper_results = {
        "rn": {
            "accuracy": 0.955,
            "count": 0.901,
            "exist": 0.978,
            "compare_integer": 0.931,
            "query_attribute": 0.971,
            "compare_attribute": 0.979,
        }
    }

    def generate(self, out: Path, *, seed: int, options: GenerateConfig) -> dict[str, Any]:
        summary = generate(Path(out), seed=seed, config=options, progress=_progress)
        return {split: counts["questions"] for split, counts in summary.items()}

    def load(self, root: Path, split: str) -> torch.utils.data.Dataset:
        return load_table(root, split)

    def inspect(self, root: Path) -> dict[str, Any]:
        return inspect_folder(root)

    def loss(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Cross-entropy over the questions that have an answer (a release's test split has none)."""
        return torch.nn.functional.cross_entropy(output.float(), batch["answer"], ignore_index=IGNORE)

    def records(self, output: torch.Tensor, batch: Batch) -> Records:
        answered = batch["answer"] != IGNORE
        return {
            "correct": (output.argmax(-1) == batch["answer"]) & answered,
            "answered": answered,
            "question_type": batch["question_type"],
        }

    def summarize(self, records: Records) -> dict[str, float]:
        """Accuracy overall and per category of the RN paper's Table 1."""
        answered = records["answered"].bool()
        correct = records["correct"].bool()
        metrics = {"accuracy": float(correct[answered].float().mean()) if answered.any() else float("nan")}
        category_of = torch.tensor([CATEGORIES.index(c) for c in QUESTION_TYPES.values()])
        types = records["question_type"].long()
        known = types >= 0
        categories = torch.full_like(types, -1)
        categories[known] = category_of[types[known]]
        for number, category in enumerate(CATEGORIES):
            chosen = answered & (categories == number)
            metrics[category] = float(correct[chosen].float().mean()) if chosen.any() else float("nan")
        return metrics
