"""The task contract: tasks with other targets train without framework edits, metrics are read by their
declared kind and direction, generator flags come from the options dataclass, and the layers import
one way only."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from relnet.cli import main
from relnet.data import TensorTable
from relnet.errors import RelnetError
from relnet.tasks import Metric, Task, TrainConfig, get_task, task_names
from relnet.tasks.base import _REGISTRY
from relnet.training import module_from_weights, train
from relnet.training.module import RelnetModule

SOURCE = Path(__file__).resolve().parents[1] / "src" / "relnet"


# -- two toy tasks whose targets are not one class per example -------------------------------------
@dataclass(frozen=True)
class PointsOptions:
    examples: int = field(default=2048, metadata={"help": "examples per training split"})
    noisy: bool = field(default=False, metadata={"help": "add noise to the targets"})
    scale: tuple[float, float] = field(
        default=(1.0, 1.0), metadata={"parse": lambda text: tuple(map(float, text.split(",")))}
    )


class PairSum(nn.Module):
    """Objects ``(B, 4, 2)`` → the sum of their pairwise products ``(B,)`` (regression) or which of
    the 4 objects has a positive sum with some other object ``(B, 4)`` (multi-label logits)."""

    def __init__(self, outputs: int = 1, width: int = 32) -> None:
        super().__init__()
        self.outputs = outputs
        self.g = nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
        self.f = nn.Linear(width * 4, outputs)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        objects = batch["objects"]
        pairs = torch.cat(torch.broadcast_tensors(objects[:, :, None], objects[:, None, :]), dim=-1)
        per_object = self.g(pairs).sum(dim=2)  # (B, 4, width)
        out = self.f(per_object.flatten(1))
        return out.squeeze(-1) if self.outputs == 1 else out


def _write_points(out: Path, seed: int, options: PointsOptions) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    sizes = {"train": options.examples, "val": 128, "test": 128}
    for split, size in sizes.items():
        objects = rng.normal(size=(size, 4, 2)).astype(np.float32)
        np.save(out / f"{split}.npy", objects)
    return sizes


def _load_points(root: Path, split: str) -> TensorTable:
    objects = torch.from_numpy(np.load(Path(root) / f"{split}.npy"))
    products = objects @ objects.transpose(1, 2)  # (N, 4, 4)
    target = products.sum(dim=(1, 2)) - products.diagonal(dim1=1, dim2=2).sum(-1)
    bits = ((products + torch.eye(4) * -1e9) > 0.5).any(dim=-1).float()
    return TensorTable({"objects": objects, "value": target, "bits": bits})


@pytest.fixture(scope="module")
def toy_tasks() -> Iterator[tuple[str, str]]:
    """Register a regression task and a multi-label task for this module only."""

    class PointsRegression(Task):
        name = "toy-regression"
        options = PointsOptions
        models = {"pairs": PairSum}
        recipes = {"quick": {"pairs": TrainConfig(epochs=8, batch_size=32, lr=3e-3)}}
        target = "value"
        metrics = (Metric("mse", kind="value", headline=True, select=True),)

        def generate(self, out: Path, *, seed: int, options: PointsOptions) -> dict[str, int]:
            return _write_points(Path(out), seed, options)

        def load(self, root: Path, split: str) -> TensorTable:
            return _load_points(root, split)

        def loss(self, output: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            return F.mse_loss(output.float(), batch["value"])

        def records(self, output: torch.Tensor, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {"squared_error": (output.float() - batch["value"]) ** 2}

        def summarize(self, records: dict[str, torch.Tensor]) -> dict[str, float]:
            return {"mse": records["squared_error"].mean().item()}

    class PointsBits(PointsRegression):
        name = "toy-bits"
        models = {"pairs": PairSum}
        recipes = {"quick": {"pairs": TrainConfig(epochs=8, batch_size=32, lr=3e-3, model={"outputs": 4})}}
        target = "bits"
        metrics = (Metric("exact", headline=True, select=True), Metric("bit_error", kind="error"))

        def loss(self, output: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            return F.binary_cross_entropy_with_logits(output.float(), batch["bits"])

        def records(self, output: torch.Tensor, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {"right": (output > 0) == batch["bits"].bool()}

        def summarize(self, records: dict[str, torch.Tensor]) -> dict[str, float]:
            right = records["right"]
            return {"exact": right.all(-1).float().mean().item(), "bit_error": 1 - right.float().mean().item()}

    yield PointsRegression.name, PointsBits.name
    for name in (PointsRegression.name, PointsBits.name):
        _REGISTRY.pop(name, None)


def _baseline(task: Task, root: Path) -> dict[str, float]:
    """The metrics of a model that always predicts the training mean (regression) or nothing (bits)."""
    table = task.load(root, "val")
    target = table.columns[task.target]
    train_target = task.load(root, "train").columns[task.target]
    output = train_target.mean(0).expand_as(target) if task.target == "value" else torch.full_like(target, -1.0)
    return task.summarize(task.records(output, table.columns))


@pytest.mark.parametrize("which", [0, 1])
def test_tasks_with_other_targets_train_through_the_glue(toy_tasks, which: int, tmp_path: Path) -> None:
    name = toy_tasks[which]
    task = get_task(name)
    assert name in task_names()
    root = tmp_path / "data"
    task.generate(root, seed=0, options=task.default_options())
    outcome = train(name, "pairs", root, task.preset("pairs", "quick"), run_dir=tmp_path / "run", progress=False)
    baseline = _baseline(task, root)
    headline = task.headline_metrics[0]
    if task.metric(headline).higher_is_better:
        assert outcome.val_metrics[headline] > baseline[headline] + 0.2
    else:
        assert outcome.val_metrics[headline] < 0.5 * baseline[headline]
    # The saved file rebuilds the model, whatever its target.
    rebuilt = module_from_weights(outcome.weights)
    assert rebuilt.task.name == name


def test_an_error_metric_keeps_the_epoch_with_the_lowest_error(toy_tasks) -> None:
    module = RelnetModule.from_config("toy-regression", "pairs", TrainConfig(epochs=3))
    for epoch, mse in enumerate([0.9, 0.2, 0.5, float("nan")], start=1):
        with torch.no_grad():
            next(module.model.parameters()).fill_(epoch)  # weights that tell the epochs apart
        module._remember_if_best({"mse": mse}, epoch)
    assert module.keep_weights("best") == 2
    assert next(module.model.parameters()).flatten()[0].item() == 2


def test_metric_declarations_drive_formatting_and_selection() -> None:
    babi, sudoku = get_task("babi"), get_task("sudoku")
    assert babi.metric("tasks_passed").kind == "count" and babi.format_metric("tasks_passed", 18.0) == "18"
    assert babi.format_metric("mean_error", 0.0046) == "0.5"
    assert not babi.metric("mean_error").higher_is_better
    assert babi.metric("task_7").kind == "fraction"  # undeclared: a fraction
    # Sudoku: whole grids first, blank cells right break ties.
    assert sudoku.selection_key({"overall": 0.0, "cells": 0.6}) > sudoku.selection_key({"overall": 0.0, "cells": 0.5})
    assert sudoku.selection_key({"overall": 0.1, "cells": 0.1}) > sudoku.selection_key({"overall": 0.0, "cells": 0.9})


def test_generator_flags_come_from_the_options_dataclass(toy_tasks, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "toy-regression", "--help"])
    help_text = capsys.readouterr().out
    assert "--examples" in help_text and "--noisy" in help_text and "--no-noisy" in help_text
    out = tmp_path / "points"
    assert main(["generate", "toy-regression", "--out", str(out), "--examples", "40", "--scale", "2,3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"] == {"train": 40, "val": 128, "test": 128}
    assert len(np.load(out / "train.npy")) == 40
    # The dataclass's own checks are the only ones: a bad value fails there, with exit status 2.
    assert main(["generate", "sudoku", "--out", str(tmp_path / "s"), "--givens", "12-20"]) == 2
    assert "givens" in capsys.readouterr().err


def test_tasks_import_nothing_from_training_or_cli_and_no_module_imports_upward() -> None:
    layers = {"nn": 0, "data": 1, "tasks": 2, "training": 3, "bench": 3, "viz": 3, "explain": 3, "cli": 4, "demo": 4}
    problems = []
    for path in SOURCE.rglob("*.py"):
        parts = path.relative_to(SOURCE).parts
        layer = layers.get(parts[0]) if len(parts) > 1 else None
        if layer is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("relnet."):
                target = layers.get(node.module.split(".")[1])
                if target is not None and target > layer and not (parts[0] == "viz" and target == 3):
                    problems.append(f"{path.relative_to(SOURCE)} imports {node.module}")
    assert not problems, problems


def test_unknown_model_and_preset_messages_name_the_choices() -> None:
    task = get_task("sort-of-clevr")
    with pytest.raises(RelnetError, match="known models: rn, cnn-mlp, rn-state"):
        task.preset("transformer", "quick")
    with pytest.raises(RelnetError, match="choose one of quick, full, gpu, paper"):
        task.preset("rn", "huge")


def test_a_recipe_trains_on_the_named_data_it_asks_for(toy_tasks, tmp_path: Path, monkeypatch) -> None:
    """``TrainConfig.data`` names a ``preset_data`` entry: that data is generated in its own folder
    (once), while recipes without it get their preset's data."""
    from relnet.training.reproduce import recipe_data

    task = get_task("toy-regression")
    monkeypatch.setattr(type(task), "preset_data", {"small": PointsOptions(examples=64)})
    monkeypatch.chdir(tmp_path)
    named = recipe_data(task.name, TrainConfig(epochs=1, data="small"), preset="quick", seed=0)
    plain = recipe_data(task.name, TrainConfig(epochs=1), preset="quick", seed=0)
    assert named == Path("data/toy-regression-small") and plain == Path("data/toy-regression")
    assert len(task.load(named, "train")) == 64 and len(task.load(plain, "train")) == 2048
    stamp = (named / "train.npy").stat().st_mtime_ns
    assert recipe_data(task.name, TrainConfig(epochs=1, data="small"), preset="full", seed=0) == named
    assert (named / "train.npy").stat().st_mtime_ns == stamp  # found, not generated again
    with pytest.raises(RelnetError, match="data 'huge', which is not declared"):
        recipe_data(task.name, TrainConfig(epochs=1, data="huge"), preset="quick", seed=0)


def test_generator_flags_given_to_reproduce_change_the_generated_data(toy_tasks, tmp_path: Path, monkeypatch) -> None:
    """`relnet reproduce TASK --<generator option>` generates that data into its own folder and says so
    in the record; beside --data the flag is refused."""
    from relnet.cli import EXIT_USER_ERROR, main

    monkeypatch.chdir(tmp_path)
    argv = ["reproduce", "toy-regression", "--quick", "--epochs", "1", "--no-progress", "--examples", "96"]
    assert main([*argv, "--json"]) == 0
    folders = [p.name for p in (tmp_path / "data").iterdir()]
    assert len(folders) == 1 and folders[0].startswith("toy-regression-")
    assert len(get_task("toy-regression").load(tmp_path / "data" / folders[0], "train")) == 96
    record = json.loads((tmp_path / "results" / "toy-regression" / "quick" / "pairs.json").read_text())
    assert record["data"] == "generated with seed 0 with examples=96"
    assert main([*argv, "--data", "data/" + folders[0]]) == EXIT_USER_ERROR


def test_reproduce_without_model_runs_the_presets_default_models(toy_tasks, tmp_path: Path, monkeypatch) -> None:
    """``Task.preset_models`` picks what a bare ``relnet reproduce`` trains; ``--model`` still reaches
    every model, and every real task's defaults have a recipe in their preset."""
    for name in task_names():
        task = get_task(name)
        for preset, models in task.preset_models.items():
            assert models and set(models) <= set(task.recipes[preset]), (name, preset)
    task_type = type(get_task("toy-regression"))
    recipe = TrainConfig(epochs=1, batch_size=64, lr=3e-3)
    monkeypatch.setattr(task_type, "models", {"pairs": PairSum, "wide": PairSum})
    monkeypatch.setattr(task_type, "recipes", {"quick": {"pairs": recipe, "wide": replace(recipe, model={"width": 8})}})
    monkeypatch.setattr(task_type, "preset_models", {"quick": ("wide",)})
    monkeypatch.chdir(tmp_path)
    argv = ["reproduce", "toy-regression", "--quick", "--no-progress", "--examples", "64"]
    assert main(argv) == 0
    assert sorted(p.name for p in (tmp_path / "results/toy-regression/quick").glob("*.json")) == ["wide.json"]
    assert main([*argv, "--model", "pairs"]) == 0
    assert (tmp_path / "results/toy-regression/quick/pairs.json").exists()


def test_every_recipe_with_a_curriculum_belongs_to_a_task_that_declares_its_column() -> None:
    """A curriculum stage selects examples by ``Task.curriculum_column``; a recipe with a curriculum on a
    task without one would only fail when its training starts."""
    for name in task_names():
        task = get_task(name)
        staged = [
            (preset, model)
            for preset, recipes in task.recipes.items()
            for model, recipe in recipes.items()
            if recipe.curriculum
        ]
        assert not staged or task.curriculum_column, (name, staged)
