"""The Sort-of-CLEVR task (RN paper §3.2): generator, dataset, models, recipes and metrics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import torch

from relnet.errors import DataFormatError
from relnet.tasks.base import Batch, Metric, Records, Task
from relnet.tasks.sort_of_clevr.augment import augment
from relnet.tasks.sort_of_clevr.dataset import load_images, load_table
from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, SUBTYPES, read_split
from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, answer_question, generate
from relnet.tasks.sort_of_clevr.models import MODELS
from relnet.tasks.sort_of_clevr.recipes import RECIPES


class SortOfClevr(Task):
    name = "sort-of-clevr"
    description = "Sort-of-CLEVR (Santoro et al. 2017): 75×75 images of 6 shapes, relational questions"
    options = GeneratorConfig
    models = MODELS
    load = staticmethod(load_table)
    recipes = RECIPES
    metrics = (
        Metric("relational", headline=True),
        Metric("non_relational", headline=True),
        Metric("accuracy", select=True),
    )
    group_column = "image_index"  # 20 questions per image: group_size > 1 encodes each image once
    # A recipe's curriculum admits question subtypes epoch by epoch (indices into ALL_SUBTYPES: 0-2 the
    # non-relational ones, 3-5 closest-to, furthest-from, count).
    curriculum_column = "subtype"
    augment = staticmethod(augment)  # the scene's 8 mirror images and axis swaps
    # RN §5.3: CNN+RN > 94% on both; CNN+MLP 63% relational, ~94% non-relational.
    paper_results = {
        "rn": {"relational": 0.94, "non_relational": 0.94},
        "cnn-mlp": {"relational": 0.63, "non_relational": 0.94},
    }

    def generate(self, out: Path, *, seed: int, options: GeneratorConfig) -> dict[str, Any]:
        return generate(out, seed=seed, config=options)

    def inspect(self, root: Path) -> dict[str, Any]:
        """Decode every image and re-derive every answer from its scene."""
        report: dict[str, Any] = {"task": self.name, "path": str(root), "splits": {}}
        for split_name in self.splits:
            split = read_split(root, split_name)
            load_images(split, Path(root), use_cache=False)  # decodes and checks every image, refreshes the cache
            for index, scene in enumerate(split.scenes):
                for number, question in enumerate(scene.questions):
                    expected = answer_question(scene.objects, question.color, question.subtype, split.image_size)
                    if question.answer != expected:
                        raise DataFormatError(
                            split.path,
                            f"answer {question.answer!r} disagrees with the scene, which gives {expected!r}",
                            record=f"scene {index}, question {number}",
                        )
            questions = [q for scene in split.scenes for q in scene.questions]
            report["splits"][split_name] = {
                "images": len(split.scenes),
                "image_size": split.image_size,
                "questions": len(questions),
                "subtypes": dict(sorted(Counter(q.subtype for q in questions).items())),
                "answers": dict(sorted(Counter(q.answer for q in questions).items())),
                "shapes": dict(sorted(Counter(o.shape for s in split.scenes for o in s.objects).items())),
            }
        return report

    def fit_config(self, model_name: str, config: dict[str, Any], root: Path, split: str) -> dict[str, Any]:
        if model_name == "cnn-mlp":  # its MLP's input size depends on the image size
            return {**config, "image_size": read_split(root, split).image_size}
        return config

    def records(self, output: torch.Tensor, batch: Batch) -> Records:
        """Per question: ``correct`` (bool) and ``subtype`` (index into ``ALL_SUBTYPES``)."""
        return {"correct": output.argmax(dim=-1) == batch["answer"], "subtype": batch["subtype"]}

    def summarize(self, records: Records) -> dict[str, float]:
        """``accuracy``, ``relational``, ``non_relational`` and one accuracy per subtype (the paper's Fig. 4)."""
        correct, subtype = records["correct"].float(), records["subtype"]
        metrics = {"accuracy": correct.mean().item()}
        groups = {kind: [ALL_SUBTYPES.index(name) for name in names] for kind, names in SUBTYPES.items()}
        groups |= {name: [index] for index, name in enumerate(ALL_SUBTYPES)}
        for name, members in groups.items():
            chosen = torch.isin(subtype, torch.tensor(members))
            metrics[name] = correct[chosen].mean().item() if chosen.any() else float("nan")
        return metrics
