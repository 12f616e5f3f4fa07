"""The CLEVR task: the v1.0 format, a generator with a renderer, the executor and the data pipeline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from relnet.tasks.base import Batch, Metric, Records, Task
from relnet.tasks.clevr.augment import augment
from relnet.tasks.clevr.dataset import IGNORE, load_table
from relnet.tasks.clevr.generate import GenerateConfig, generate
from relnet.tasks.clevr.models import MODELS
from relnet.tasks.clevr.recipes import DATA, RECIPES
from relnet.tasks.clevr.stats import inspect_folder
from relnet.tasks.clevr.vocab import CATEGORIES, QUESTION_TYPES


def _progress(name: str, done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        print(f"\r{name}: {done}/{total} images", end="\n" if done == total else "", file=sys.stderr, flush=True)


_TABLE_1_COLUMNS = ("accuracy", "count", "exist", "compare_integer", "query_attribute", "compare_attribute")


class Clevr(Task):
    name = "clevr"
    description = "CLEVR v1.0 (Johnson et al. 2017): 3-D scenes of 3-10 objects, 13 question types"
    options = GenerateConfig
    models = MODELS
    load = staticmethod(load_table)
    inspect = staticmethod(inspect_folder)
    recipes = RECIPES
    preset_data = DATA
    metrics = (
        Metric("accuracy", headline=True, select=True),
        *(Metric(c, headline=True) for c in CATEGORIES),
        # Questions with a word outside the fixed vocabulary (read as <unk>): 0 on relnet's data.
        Metric("unknown_word_questions", kind="count"),
        # Accuracy per question family (question_family_index of the questions file), in the JSON only.
        Metric("family_*", table=False),
    )
    group_column = "image_index"  # ~10 questions per image: group_size > 1 runs the CNN once per image
    augment = staticmethod(augment)  # the paper's pad-crop and small rotation, per image (pixel models)
    # RN paper Table 1 (test, %): overall, count, exist, compare numbers, query attribute, compare attribute
    # (CNN+LSTM+SA: the RN authors' re-tuned SA*); the state-description RN: 96.4% overall (§5.2).
    paper_results = {
        model: dict(zip(_TABLE_1_COLUMNS, (round(value / 100, 4) for value in row), strict=True))
        for model, row in {
            "rn": (95.5, 90.1, 97.8, 93.6, 97.9, 97.1),
            "cnn-lstm-sa": (76.6, 64.4, 82.7, 77.4, 82.6, 75.4),
            "cnn-lstm": (52.3, 43.7, 65.2, 67.1, 49.3, 53.0),
            "lstm": (46.8, 41.7, 61.1, 69.8, 36.8, 51.8),
        }.items()
    } | {"rn-state": {"accuracy": 0.964}}

    def generate(self, out: Path, *, seed: int, options: GenerateConfig) -> dict[str, Any]:
        summary = generate(Path(out), seed=seed, config=options, progress=_progress)
        return {split: counts["questions"] for split, counts in summary.items()}

    def loss(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Cross-entropy over the questions that have an answer (a release's test split has none)."""
        return torch.nn.functional.cross_entropy(output.float(), batch["answer"], ignore_index=IGNORE)

    def records(self, output: torch.Tensor, batch: Batch) -> Records:
        answered = batch["answer"] != IGNORE
        return {
            "correct": (output.argmax(-1) == batch["answer"]) & answered,
            "answered": answered,
            "question_type": batch["question_type"],
            "family": batch["family"],
            "unknown_words": batch["unknown_tokens"] > 0,
        }

    def summarize(self, records: Records) -> dict[str, float]:
        """Accuracy overall, per category of the RN paper's Table 1 and per question family."""
        answered, correct = records["answered"].bool(), records["correct"].bool()
        metrics = {"accuracy": float(correct[answered].float().mean()) if answered.any() else float("nan")}
        metrics["unknown_word_questions"] = float(records["unknown_words"].sum())
        category_of = torch.tensor([CATEGORIES.index(c) for c in QUESTION_TYPES.values()])
        types = records["question_type"].long()
        known = types >= 0
        categories = torch.full_like(types, -1)
        categories[known] = category_of[types[known]]
        for number, category in enumerate(CATEGORIES):
            chosen = answered & (categories == number)
            metrics[category] = float(correct[chosen].float().mean()) if chosen.any() else float("nan")
        families = records["family"].long()
        for family in torch.unique(families[answered & (families >= 0)]).tolist():
            chosen = answered & (families == family)
            metrics[f"family_{family:02d}"] = float(correct[chosen].float().mean())
        return metrics
