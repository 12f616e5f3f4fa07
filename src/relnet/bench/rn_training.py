"""``relnet bench rn-training``: does the fast RN path learn as well as the textbook one, and how fast?

Trains the same Sort-of-CLEVR model twice with the same seed, data order and recipe: once with
relnet's :class:`~relnet.nn.RelationNetwork` path (split first layer, no pair tensor) and once with
:func:`~relnet.nn.relation_network_reference` (every ``[o_i; o_j; q]`` concatenated) in its place,
then scores both on the test split. The two paths compute the same function, but in a different
floating-point order, so the runs drift apart by rounding; the accuracies should agree within noise.

Time to accuracy: during both runs an :class:`AccuracyCurve` records validation accuracy against
training seconds. The payload holds each path's ``curve``, the text a table of both paths' accuracy at
quarters of the slower run's time, and ``figure=PATH`` draws both curves on shared axes
(:func:`relnet.viz.accuracy_over_time`).

``--quick``: the state-description RN, half an epoch of the quick recipe (minutes on a CPU).
Without it: the pixel RN of the quick main job (1.5 epochs).
"""

from __future__ import annotations

import functools
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightning as L
import torch

from relnet.bench import Note
from relnet.errors import RelnetError
from relnet.nn import RelationNetwork, relation_network_reference
from relnet.runtime import device_description
from relnet.tasks import TrainConfig, get_task
from relnet.training.module import RelnetModule
from relnet.training.reproduce import default_data_root, ensure_dataset
from relnet.training.run import evaluate, train

TASK = "sort-of-clevr"
METRICS = ("relational", "non_relational", "closest_to", "furthest_from", "count")
#: The accuracies a curve point records.
CURVE_METRICS = ("relational", "non_relational")
#: Points a curve aims at when no step interval is given (plus the start and the last step).
CURVE_POINTS = 20
#: The validation questions each curve point is scored on: the split's first ones (100 images' worth).
CURVE_QUESTIONS = 2_000
PATHS = ("relnet", "reference")
LABELS = {"relnet": "relnet (split first layer)", "reference": "reference (concatenated pairs)"}


class UseReferencePath(L.Callback):
    """Runs every RelationNetwork of the model through the concatenating reference implementation.

    The bench's own switch: each network's ``forward`` is shadowed by an instance attribute that calls
    :func:`~relnet.nn.relation_network_reference` with the network's parameters, so the module itself
    needs no mode, and its parameters, state dict and every other method stay as they are.
    """

    def on_fit_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        for layer in module.modules():
            if isinstance(layer, RelationNetwork):
                layer.forward = functools.partial(relation_network_reference, layer)  # type: ignore[method-assign]


class AccuracyCurve(L.Callback):
    """Validation accuracy against training wall-clock seconds, every ``every_steps`` optimiser steps.

    Each point scores the model on the first ``questions`` questions of the **validation** split (never
    the test split), in batches of the recipe's ``eval_batch_size`` built once before training starts,
    in eval mode under ``torch.no_grad`` and the trainer's precision (autocast) context, the way
    relnet's validation runs a batch; the task's own ``records`` and ``summarize`` give the accuracies.
    Points are taken before the first step (step 0), after every ``every_steps``-th step and after the
    last step, each as ``{"seconds", "step", <metric>: fraction, ...}`` in :attr:`points`.

    ``seconds`` is training time only: wall-clock seconds since training started, less the time spent
    in these evaluations and in Lightning's epoch-end validations (both timed after a CUDA
    synchronisation, so queued training work counts as training). :attr:`eval_seconds` is the time the
    curve's own evaluations took. An evaluation leaves training unchanged: the RNG state is restored
    afterwards, every module's train/eval mode too, and no weight is touched.

    Batch norm: with ``recalibrate_batch_norm`` (default) the running statistics that eval mode reads are
    first recomputed exactly over fixed training batches, as relnet's validation does
    (:meth:`RelnetModule.recalibrate_batch_norm`; why: ``relnet.training.batchnorm``). Training never
    reads them and every epoch-end validation recomputes them, so this changes neither the training nor
    the kept weights (a run ending without a final validation keeps the last point's statistics).
    Without it a point reads the lagging running averages: cheaper, but noisier.

    ``every_steps`` None: about ``points`` intervals over the run (Lightning's estimated steps).
    Single-process runs only (a curve under DDP would score each process's model separately).
    """

    def __init__(
        self,
        every_steps: int | None = None,
        *,
        points: int = CURVE_POINTS,
        questions: int = CURVE_QUESTIONS,
        metrics: Sequence[str] = CURVE_METRICS,
        recalibrate_batch_norm: bool = True,
    ) -> None:
        if every_steps is not None and every_steps < 1:
            raise ValueError(f"every_steps must be at least 1, got {every_steps}")
        if points < 1 or questions < 1:
            raise ValueError(f"points and questions must be at least 1, got {points} and {questions}")
        self.every_steps, self.target_points, self.questions = every_steps, points, questions
        self.metrics, self.recalibrate_batch_norm = tuple(metrics), recalibrate_batch_norm
        self.every = every_steps or 1
        self.points: list[dict[str, Any]] = []
        self.eval_seconds = 0.0
        self.validation_seconds = 0.0
        self._batches: list[dict[str, torch.Tensor]] = []
        self._start = 0.0
        self._validation_start: float | None = None

    @property
    def evaluated_questions(self) -> int:
        return sum(len(next(iter(batch.values()))) for batch in self._batches)

    # -- hooks ----------------------------------------------------------------------------------
    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not isinstance(module, RelnetModule):
            raise RelnetError("AccuracyCurve scores a relnet model (RelnetModule) only")
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is None:
            raise RelnetError("AccuracyCurve needs the trainer's data module (the validation split)")
        if self.every_steps is None:
            total = float(trainer.estimated_stepping_batches)
            self.every = max(1, math.ceil(total / self.target_points)) if math.isfinite(total) else 100
        dataset = datamodule.dataset("val")
        count = min(self.questions, len(dataset))
        size = module.config.eval_batch_size
        self._batches = [
            {
                name: value.to(module.device)
                for name, value in dataset.__getitems__(list(range(start, min(start + size, count)))).items()
            }
            for start in range(0, count, size)
        ]
        self.points, self.eval_seconds, self.validation_seconds = [], 0.0, 0.0
        _synchronize(module.device)
        self._start = time.perf_counter()
        self._record(trainer, module)

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_index: int
    ) -> None:
        if trainer.global_step % self.every == 0 and (
            not self.points or self.points[-1]["step"] != trainer.global_step
        ):
            self._record(trainer, module)

    def on_validation_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.state.fn == "fit":
            _synchronize(module.device)
            self._validation_start = time.perf_counter()

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self._validation_start is not None:
            _synchronize(module.device)
            self.validation_seconds += time.perf_counter() - self._validation_start
            self._validation_start = None

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not self.points or self.points[-1]["step"] != trainer.global_step:
            self._record(trainer, module)

    # -- one point ------------------------------------------------------------------------------
    def _record(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        assert isinstance(module, RelnetModule)
        _synchronize(module.device)
        begin = time.perf_counter()
        seconds = begin - self._start - self.eval_seconds - self.validation_seconds
        metrics = self._evaluate(trainer, module)
        _synchronize(module.device)
        self.eval_seconds += time.perf_counter() - begin
        point: dict[str, Any] = {"seconds": round(seconds, 3), "step": int(trainer.global_step)}
        point |= {name: metrics[name] for name in self.metrics}
        self.points.append(point)

    def _evaluate(self, trainer: L.Trainer, module: RelnetModule) -> dict[str, float]:
        modes = {layer: layer.training for layer in module.modules()}
        rng_devices = [module.device] if module.device.type == "cuda" else []
        parts = []
        try:
            with torch.random.fork_rng(devices=rng_devices):
                if self.recalibrate_batch_norm:
                    module.recalibrate_batch_norm(trainer.datamodule.dataset("train"))  # type: ignore[attr-defined]
                module.eval()
                with torch.no_grad(), trainer.precision_plugin.forward_context():
                    for batch in self._batches:
                        records = module.task.records(module.model(batch), batch)
                        parts.append({name: value.detach().cpu() for name, value in records.items()})
        finally:
            for layer, training in modes.items():
                layer.train(training)
        return module.task.summarize({name: torch.cat([part[name] for part in parts]) for name in parts[0]})


def _synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a clock read after it counts that work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _train_and_test(
    model_name: str, config: TrainConfig, data: Path, reference: bool, progress: bool, curve: AccuracyCurve
) -> dict[str, Any]:
    callbacks: list[L.Callback] = [curve, *([UseReferencePath()] if reference else [])]
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        outcome = train(
            TASK, model_name, data, config, run_dir=Path(run_dir), seed=0, progress=progress, callbacks=callbacks
        )
        seconds = time.perf_counter() - start - curve.eval_seconds
    metrics = evaluate(outcome.module, data, "test", progress=progress)
    return {
        # The whole train() call (set-up, epoch-end validations, checkpoints) less the curve's evaluations.
        "train_seconds": round(seconds, 1),
        "curve_eval_seconds": round(curve.eval_seconds, 3),
        "steps": outcome.steps,
        "test": {name: metrics[name] for name in METRICS},
        "curve": curve.points,
    }


def accuracy_at(curve: Sequence[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """The curve's last point taken at or before ``seconds`` of training (its first point if none)."""
    reached = [point for point in curve if point["seconds"] <= seconds]
    return reached[-1] if reached else curve[0]


def curve_marks(
    runs: dict[str, dict[str, Any]], fractions: Sequence[float] = (0.25, 0.5, 0.75, 1.0)
) -> list[dict[str, Any]]:
    """Each run's curve accuracy at ``fractions`` of the slower run's curve time: the accuracy each had
    reached by then (a run that finished earlier keeps its last point)."""
    slowest = max(run["curve"][-1]["seconds"] for run in runs.values())
    marks = []
    for fraction in fractions:
        seconds = fraction * slowest
        mark: dict[str, Any] = {"fraction": fraction, "seconds": round(seconds, 1)}
        for path, run in runs.items():
            point = accuracy_at(run["curve"], seconds)
            mark[path] = {"step": point["step"], **{name: point[name] for name in CURVE_METRICS}}
        marks.append(mark)
    return marks


def compare_paths(
    model_name: str,
    config: TrainConfig,
    data: Path,
    *,
    recipe: str,
    recipe_text: str | None = None,
    note: Note = print,
    figure: Path | None = None,
    curve_every: int | None = None,
    curve_points: int = CURVE_POINTS,
    curve_questions: int = CURVE_QUESTIONS,
    progress: bool = False,
) -> dict[str, Any]:
    """Train ``model_name`` with ``config`` on ``data`` through both paths; the bench's payload.

    ``recipe`` names the recipe in the payload, ``recipe_text`` in the text (default: ``recipe``);
    ``figure``: also draw both paths' accuracy curves there (a PNG)."""
    if figure is not None:
        from relnet.viz.files import figure_file  # matplotlib only when drawing

        figure = figure_file(figure)  # a bad name fails now, not after the trainings
    runs: dict[str, dict[str, Any]] = {}
    curves: dict[str, AccuracyCurve] = {}
    for path in PATHS:
        note(f"training {model_name} with the {path} path ...")
        curves[path] = AccuracyCurve(curve_every, points=curve_points, questions=curve_questions)
        runs[path] = _train_and_test(model_name, config, data, path == "reference", progress, curves[path])
    difference = {name: runs["relnet"]["test"][name] - runs["reference"]["test"][name] for name in METRICS}
    marks = curve_marks(runs)
    curve_info = {
        "split": "val",
        "questions": curves["relnet"].evaluated_questions,
        "every_steps": curves["relnet"].every,
        "metrics": list(CURVE_METRICS),
        "batch_norm": "recalibrated before each point",
        "seconds": "training wall-clock seconds, without the curve's evaluations and the epoch-end validations",
    }
    device = device_description()
    lines = [
        f"{TASK} {model_name}, {recipe_text or recipe}, seed 0, {device}",
        f"{'path':<10} {'train s':>8} " + " ".join(f"{name:>14}" for name in METRICS),
    ]
    for path, run in runs.items():
        values = " ".join(f"{100 * run['test'][name]:13.1f}%" for name in METRICS)
        lines.append(f"{path:<10} {run['train_seconds']:8.0f} {values}")
    lines.append(f"{'difference':<10} {'':>8} " + " ".join(f"{100 * difference[name]:+13.1f}%" for name in METRICS))
    lines += [
        "",
        f"time to accuracy (relational / non-relational %, first {curve_info['questions']:,} val questions, "
        f"every {curve_info['every_steps']} steps):",
        f"{'training s':>16} " + " ".join(f"{path:>15}" for path in runs),
    ]
    for mark in marks:
        pairs = [f"{100 * mark[path]['relational']:.1f} / {100 * mark[path]['non_relational']:.1f}" for path in runs]
        lines.append(f"{mark['seconds']:9.1f} ({100 * mark['fraction']:3.0f}%) " + " ".join(f"{p:>15}" for p in pairs))
    payload: dict[str, Any] = {
        "task": TASK,
        "model": model_name,
        "recipe": recipe,
        "device": device,
        "runs": runs,
        "difference": difference,
        "curve": curve_info,
        "marks": marks,
    }
    if figure is not None:
        from relnet.viz import accuracy_over_time  # matplotlib only when drawing

        title = (
            f"{TASK} {model_name}, {recipe_text or recipe}, {device}\n"
            f"val accuracy (first {curve_info['questions']:,} questions) by training time"
        )
        written = accuracy_over_time(
            {LABELS[path]: run["curve"] for path, run in runs.items()}, CURVE_METRICS, Path(figure), title=title
        )
        payload["figure"] = str(written)
        lines.append(f"figure: {written}")
    payload["text"] = "\n".join(lines)
    return payload


def bench_rn_training(quick: bool = False, note: Note = print, figure: Path | None = None) -> dict[str, Any]:
    model_name = "rn-state" if quick else "rn"
    config = get_task(TASK).preset(model_name, "quick")
    if quick:
        config = replace(config, train_fraction=0.5)
    if figure is not None:
        from relnet.viz.files import figure_file  # matplotlib only when drawing

        figure = figure_file(figure)  # before generating the data
    data = default_data_root(TASK, 0)
    ensure_dataset(TASK, data, seed=0, progress_note=note)
    recipe = "quick" + (" (train_fraction 0.5)" if quick else "")
    recipe_text = "quick recipe" + (" (half an epoch)" if quick else "")
    return compare_paths(model_name, config, data, recipe=recipe, recipe_text=recipe_text, note=note, figure=figure)
