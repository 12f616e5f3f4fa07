"""The bAbI task (20 QA tasks, joint training): real v1.2 folders or relnet's generated ones."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from relnet.errors import RelnetError
from relnet.tasks import register
from relnet.tasks.babi import metrics
from relnet.tasks.babi.dataset import load_table
from relnet.tasks.babi.generator import SIZES, generate
from relnet.tasks.babi.models import MODELS
from relnet.tasks.babi.stats import dataset_stats
from relnet.tasks.base import Batch, Records, Task, TrainConfig

PAPER_G = (256, 256, 256, 256)
PAPER_F = (256, 512)


@register
class Babi(Task):
    name = "babi"
    description = "bAbI v1.2 (Weston et al. 2015): 20 text QA tasks trained jointly; real folders or generated"
    models = tuple(MODELS)
    headline_metrics = ("accuracy", "mean_error")
    count_metrics = ("tasks_passed",)
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

    def build_model(self, model_name: str, config: dict[str, Any]) -> nn.Module:
        self.check_model_name(model_name)
        try:
            return MODELS[model_name](**config)
        except TypeError as error:
            raise RelnetError(f"bad configuration for {self.name} model {model_name!r}: {error}") from None

    def preset(self, model_name: str, preset: str) -> TrainConfig:
        self.check_model_name(model_name)
        if preset not in self.presets:
            raise RelnetError(f"unknown preset {preset!r}; choose one of {', '.join(self.presets)}")
        return _PRESETS[preset][model_name]

    def loss(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        return metrics.loss(output, batch["answer"])

    def eval_records(self, output: torch.Tensor, batch: Batch) -> Records:
        return metrics.eval_records(output, batch)

    def summarize(self, records: Records) -> dict[str, float]:
        return metrics.summarize(records)


_QUICK_MODEL = {
    "rn": {"g_widths": (128, 128, 128), "f_widths": (128, 256)},
    "mlrn": {"layers": ((128,), (128,), (128,)), "f_widths": (128, 256)},
    "rrn": {"hidden_dim": 64, "message_widths": (64, 64), "node_widths": (64, 64), "output_widths": (64,)},
}
_PAPER_MODEL = {
    "rn": {"g_widths": PAPER_G, "f_widths": PAPER_F},
    "mlrn": {"layers": ((256, 256), (256, 256), (256, 256)), "f_widths": PAPER_F},
    "rrn": {},  # the defaults are the RRN paper's
}
_PRESETS: dict[str, dict[str, TrainConfig]] = {
    # One pass over the generated en-10k train split (180k questions, 2,812 steps) with a narrower model:
    # about half an hour per model on a shared 2-core CPU, enough to show learning.
    "quick": {
        name: TrainConfig(
            epochs=1, batch_size=64, lr=1e-3, warmup_steps=200, schedule="cosine", precision="auto", model=model
        )
        for name, model in _QUICK_MODEL.items()
    },
    # Precision "auto": bf16 on GPUs and bf16-capable CPUs, fp32 elsewhere (bf16 is ~9x slower on AVX2 CPUs).
    # The papers' architectures with a faster schedule (warm-up, higher peak rate, cosine decay).
    "full": {
        name: TrainConfig(
            epochs=30,
            batch_size=64,
            lr=5e-4,
            warmup_steps=1000,
            schedule="cosine",
            grad_clip=5.0,
            precision="auto",
            model=model,
        )
        for name, model in _PAPER_MODEL.items()
    },
    # The papers' recipes: Adam 2e-4 (RN and RRN), constant rate, many epochs.
    "paper": {
        name: TrainConfig(epochs=200, batch_size=64, lr=2e-4, precision="auto", model=model)
        for name, model in _PAPER_MODEL.items()
    },
}
