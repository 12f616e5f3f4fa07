"""The CLEVR task: the v1.0 format, a generator with a renderer, the executor and the data pipeline.

CLEVR models (CNN+LSTM+RN from pixels, the state-description RN) come in a later issue.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from relnet.errors import RelnetError
from relnet.tasks import register
from relnet.tasks.base import Batch, CommandHandler, Records, Task, TrainConfig
from relnet.tasks.clevr import commands
from relnet.tasks.clevr.dataset import IGNORE, load_table
from relnet.tasks.clevr.generate import GenerateConfig, generate
from relnet.tasks.clevr.scenes import SceneConfig
from relnet.tasks.clevr.stats import inspect_folder
from relnet.tasks.clevr.vocab import CATEGORIES, QUESTION_TYPES

_NO_MODELS = "CLEVR models (CNN+LSTM+RN, state RN) are not there yet: relnet has the CLEVR data engine only"


def _progress(name: str, done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        print(f"\r{name}: {done}/{total} images", end="\n" if done == total else "", file=sys.stderr, flush=True)


@register
class Clevr(Task):
    name = "clevr"
    description = "CLEVR v1.0 (Johnson et al. 2017): 3-D scenes of 3-10 objects, 13 question types"
    models: ClassVar[tuple[str, ...]] = ()
    splits: ClassVar[tuple[str, ...]] = ("train", "val", "test")
    headline_metrics = ("accuracy", *CATEGORIES)
    # RN paper Table 1, CNN+LSTM+RN from pixels.
    paper_results: ClassVar[dict[str, dict[str, float]]] = {
        "rn": {
            "accuracy": 0.955,
            "count": 0.901,
            "exist": 0.978,
            "compare_integer": 0.931,
            "query_attribute": 0.971,
            "compare_attribute": 0.979,
        }
    }

    def add_generate_arguments(self, parser: argparse.ArgumentParser) -> None:
        defaults = GenerateConfig()
        parser.add_argument("--images", type=int, default=defaults.images, help="images in all splits together")
        parser.add_argument("--questions-per-image", type=int, default=defaults.questions_per_image)
        parser.add_argument("--image-size", default="480x320", help="PNG size, WIDTHxHEIGHT (default 480x320)")
        parser.add_argument("--splits", default="train,val,test", help="comma-separated (70/15/15 shares)")
        parser.add_argument("--cogent", choices=("A", "B"), help="CLEVR-CoGenT colour condition")
        parser.add_argument("--cache-size", default="128x128", help="image cache size, or 'none'")
        parser.add_argument("--workers", type=int, default=1, help="processes rendering images")
        parser.add_argument("--supersample", type=int, default=defaults.supersample, help="rays per pixel side")
        parser.add_argument("--min-objects", type=int, default=3)
        parser.add_argument("--max-objects", type=int, default=10)
        parser.add_argument(
            "--hide-test-answers", action="store_true", help="omit test answers/programs like the release"
        )

    def generate(self, out: Path, *, seed: int, options: dict[str, Any] | None = None) -> dict:
        options = {key: value for key, value in (options or {}).items() if value is not None}
        width, height = commands.parse_size(options.get("image_size", "480x320"))
        cache = options.get("cache_size", "128x128")
        cache_width, cache_height = (None, None) if str(cache).lower() == "none" else commands.parse_size(cache)
        splits = tuple(s.strip() for s in options.get("splits", "train,val,test").split(",") if s.strip())
        if not splits or len(set(splits)) != len(splits):
            raise RelnetError(f"--splits must name distinct splits, got {options.get('splits')!r}")
        if options.get("questions_per_image", 10) < 0 or options.get("supersample", 2) < 1:
            raise RelnetError("--questions-per-image must be >= 0 and --supersample >= 1")
        config = GenerateConfig(
            images=options.get("images", 100),
            questions_per_image=options.get("questions_per_image", 10),
            width=width,
            height=height,
            splits=splits,
            cogent=options.get("cogent"),
            cache_width=cache_width,
            cache_height=cache_height,
            workers=options.get("workers", 1),
            supersample=options.get("supersample", 2),
            hide_test_answers=options.get("hide_test_answers", False),
            scene=SceneConfig(min_objects=options.get("min_objects", 3), max_objects=options.get("max_objects", 10)),
        )
        summary = generate(Path(out), seed=seed, config=config, progress=_progress)
        return {split: counts["questions"] for split, counts in summary.items()}

    def load(self, root: Path, split: str) -> torch.utils.data.Dataset:
        return load_table(root, split)

    def inspect(self, root: Path) -> dict[str, Any]:
        return inspect_folder(root)

    def build_model(self, model_name: str, config: dict[str, Any]) -> nn.Module:
        raise RelnetError(_NO_MODELS)

    def preset(self, model_name: str, preset: str) -> TrainConfig:
        raise RelnetError(_NO_MODELS)

    def add_commands(self, commands_: argparse._SubParsersAction) -> dict[str, CommandHandler]:
        commands.add_parser(commands_)
        return {"clevr": commands.run}

    def eval_records(self, output: torch.Tensor, batch: Batch) -> Records:
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
