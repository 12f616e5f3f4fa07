"""The bAbI task (20 QA tasks, joint training): real v1.2 folders or relnet's generated ones."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, ClassVar

import torch

from relnet.errors import RelnetError
from relnet.tasks import register
from relnet.tasks.babi import metrics
from relnet.tasks.babi.dataset import load_table
from relnet.tasks.babi.generator import SIZES, generate
from relnet.tasks.babi.models import MODELS
from relnet.tasks.babi.recipes import RECIPES
from relnet.tasks.babi.stats import dataset_stats
from relnet.tasks.base import Batch, Records, Task


@register
class Babi(Task):
    name = "babi"
    description = "bAbI v1.2 (Weston et al. 2015): 20 text QA tasks trained jointly; real folders or generated"
    models = tuple(MODELS)
    model_classes = MODELS
    recipes = RECIPES
    headline_metrics = ("accuracy", "mean_error")
    count_metrics = ("tasks_passed",)
    error_metrics = ("mean_error",)
    # RN §5.4: 18/20 (task 2 8.1% error, task 3 16.5%, task 16 2.1%); RRN: 20/20, 0.46% mean error;
    # MLRN: 20/20 (abstract). Joint training on en-10k.
    paper_results: ClassVar[dict[str, dict[str, float]]] = {
        "rn": {"tasks_passed": 18, "task_2": 0.919, "task_3": 0.835, "task_16": 0.979},
        "rrn": {"tasks_passed": 20, "mean_error": 0.0046},
        "mlrn": {"tasks_passed": 20},
    }

    def add_generate_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--size",
            choices=tuple(SIZES),
            default="10k",
            help="training questions per task: 1k writes en/ and en-valid/, 10k en-10k/ and en-valid-10k/",
        )

    def generate(self, out: Path, *, seed: int, options: dict[str, Any] | None = None) -> dict:
        size = (options or {}).get("size") or "10k"
        if size not in SIZES:
            raise RelnetError(f"--size must be one of {', '.join(SIZES)}, not {size!r}")
        return generate(Path(out), seed=seed, size=size)

    def load(self, root: Path, split: str) -> torch.utils.data.Dataset:
        return load_table(root, split)

    def inspect(self, root: Path) -> dict[str, Any]:
        return dataset_stats(root)

    def loss(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        return metrics.loss(output, batch["answer"])

    def eval_records(self, output: torch.Tensor, batch: Batch) -> Records:
        return metrics.eval_records(output, batch)

    def summarize(self, records: Records) -> dict[str, float]:
        return metrics.summarize(records)
