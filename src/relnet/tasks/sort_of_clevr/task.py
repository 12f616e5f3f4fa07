"""The Sort-of-CLEVR task (RN paper §3.2): generator, dataset, models, recipes and metrics."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from relnet.errors import DataFormatError, RelnetError
from relnet.tasks import register
from relnet.tasks.base import Batch, Records, Task
from relnet.tasks.sort_of_clevr import metrics
from relnet.tasks.sort_of_clevr.augment import augment as augment_scenes
from relnet.tasks.sort_of_clevr.dataset import load_images, load_table
from relnet.tasks.sort_of_clevr.explain import explain_pairs
from relnet.tasks.sort_of_clevr.format import ANSWERS, read_split
from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, answer_question, generate
from relnet.tasks.sort_of_clevr.models import MODELS
from relnet.tasks.sort_of_clevr.recipes import RECIPES


@register
class SortOfClevr(Task):
    name = "sort-of-clevr"
    description = "Sort-of-CLEVR (Santoro et al. 2017): 75×75 images of 6 shapes, relational questions"
    models = tuple(MODELS)
    model_classes = MODELS
    recipes = RECIPES
    headline_metrics = ("relational", "non_relational")
    group_column = "image_index"  # 20 questions per image: group_size > 1 encodes each image once
    # RN §5.3: CNN+RN > 94% on both; CNN+MLP 63% relational, ~94% non-relational.
    paper_results: ClassVar[dict[str, dict[str, float]]] = {
        "rn": {"relational": 0.94, "non_relational": 0.94},
        "cnn-mlp": {"relational": 0.63, "non_relational": 0.94},
    }

    def add_generate_arguments(self, parser: argparse.ArgumentParser) -> None:
        defaults = GeneratorConfig()
        parser.add_argument("--train-images", type=int, default=defaults.train_images)
        parser.add_argument("--val-images", type=int, default=defaults.val_images)
        parser.add_argument("--test-images", type=int, default=defaults.test_images)
        parser.add_argument("--image-size", type=int, default=defaults.image_size)

    def generate(self, out: Path, *, seed: int, options: dict[str, Any] | None = None) -> dict:
        options = {key: value for key, value in (options or {}).items() if value is not None}
        config = GeneratorConfig(**options)
        if min(config.split_sizes().values()) < 1:
            raise RelnetError("every split needs at least one image")
        if config.image_size < 4 * config.object_size:
            raise RelnetError(f"--image-size must be at least {4 * config.object_size} pixels")
        return generate(out, seed=seed, config=config)

    def load(self, root: Path, split: str) -> torch.utils.data.Dataset:
        return load_table(root, split)

    def inspect(self, root: Path) -> dict[str, Any]:
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

    def fit_config_to_data(self, model_name: str, config: dict[str, Any], root: Path, split: str) -> dict[str, Any]:
        if model_name == "cnn-mlp":  # its MLP's input size depends on the image size
            return {**config, "image_size": read_split(root, split).image_size}
        return config

    def show(self, model_name: str, model: nn.Module, root: Path, split: str, indices: list[int], out: Path) -> Path:
        from relnet.viz import draw_pairs  # matplotlib only when drawing: it costs ~1 s of CLI start-up

        table = load_table(root, split)
        bad = [index for index in indices if not 0 <= index < len(table)]
        if bad:
            raise RelnetError(f"question indices {bad} are out of range: {split} has {len(table)} questions")
        scenes = read_split(root, split)
        batch = table.__getitems__(indices)
        with torch.no_grad():
            predictions = model.eval()(batch).argmax(-1)
        explanation = explain_pairs(model, batch, scenes.image_size)
        # Table rows list each scene's questions in file order (as load_table builds them); scenes need
        # not all have the same number of questions.
        questions = [question for scene in scenes.scenes for question in scene.questions]
        panels = []
        for row, index in enumerate(indices):
            question = questions[index]
            answer = ANSWERS[int(predictions[row])]
            verdict = "right" if answer == question.answer else f"wrong, truth {question.answer}"
            panels.append(
                {
                    "image": batch["image"][row].numpy(),
                    "title": f"#{index} {question.subtype.replace('_', ' ')}: {question.color}?\n"
                    f"{model_name} says {answer} ({verdict})",
                    "strength": None if explanation is None else explanation.strength[row].numpy(),
                    "positions": None if explanation is None else explanation.positions[row].numpy(),
                }
            )
        return draw_pairs(panels, out)

    def augment(self, batch: Batch) -> Batch:
        return augment_scenes(batch)

    def eval_records(self, output: torch.Tensor, batch: Batch) -> Records:
        return metrics.eval_records(output, batch)

    def summarize(self, records: Records) -> dict[str, float]:
        return metrics.summarize(records)
