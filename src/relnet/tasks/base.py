"""What every task package provides, so the training glue and the CLI can serve all tasks alike."""

from __future__ import annotations

import argparse
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from relnet.data.tables import Batch
from relnet.errors import RelnetError

Records = dict[str, torch.Tensor]
CommandHandler = Callable[[argparse.Namespace], dict[str, Any]]


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe: optimisation settings plus the model's constructor arguments."""

    epochs: int
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: str = "constant"  # "constant" or "cosine" (decays to 1% of lr at the last step)
    precision: str = "auto"  # bf16-mixed where the hardware has fast bf16, else 32-true
    grad_clip: float | None = None
    eval_batch_size: int = 512
    # >1: training batches hold runs of this many examples sharing the task's ``group_column`` (e.g.
    # questions about one image), so a model can encode each image once per batch.
    group_size: int = 1
    # <1: each epoch trains on this fraction of a fresh shuffle of the training set (CPU-sized recipes).
    train_fraction: float = 1.0
    # "best": the saved weights are those of the epoch with the best validation metrics (the task's
    # ``selection_metrics``); "last": those of the last epoch.
    keep: str = "best"
    # True: each training batch goes through the task's :meth:`Task.augment` (random transforms that
    # keep the answers known, e.g. a scene's mirror images) before the model sees it.
    augment: bool = False
    # Learning-rate factors for parts of the model, by parameter-name prefix (e.g. {"objects": 0.1}
    # trains a pixel RN's CNN at a tenth of ``lr``); every other parameter trains at ``lr``.
    lr_scale: dict[str, float] = field(default_factory=dict)
    # Minutes of training (validation included) after which the run stops at the next step, validates
    # and keeps its best epoch; the cosine schedule then decays over whichever ends first, the epochs
    # or the budget. For "as far as this machine gets in N minutes" runs; a run stopped by the clock
    # depends on the hardware's speed, so it is not reproducible bit for bit elsewhere.
    time_budget: float | None = None
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be at least 1 (got {self.epochs})")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            problems.append(f"batch sizes must be at least 1 (got {self.batch_size}, {self.eval_batch_size})")
        if not self.lr > 0:
            problems.append(f"the learning rate must be positive (got {self.lr})")
        if self.schedule not in ("constant", "cosine"):
            problems.append(f"schedule must be 'constant' or 'cosine' (got {self.schedule!r})")
        if not 0 < self.train_fraction <= 1:
            problems.append(f"train_fraction must be in (0, 1] (got {self.train_fraction})")
        if self.keep not in ("best", "last"):
            problems.append(f"keep must be 'best' or 'last' (got {self.keep!r})")
        if self.group_size < 1:
            problems.append(f"group_size must be at least 1 (got {self.group_size})")
        if any(not factor > 0 for factor in self.lr_scale.values()):
            problems.append(f"lr_scale factors must be positive (got {self.lr_scale})")
        if self.time_budget is not None and not 0 < self.time_budget < math.inf:
            problems.append(f"time_budget must be a positive number of minutes (got {self.time_budget})")
        if self.warmup_steps < 0 or self.weight_decay < 0:
            problems.append("warmup_steps and weight_decay must not be negative")
        if problems:
            raise RelnetError("bad training recipe: " + "; ".join(problems))

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with every non-None override applied."""
        return replace(self, **{key: value for key, value in overrides.items() if value is not None})


class Task(ABC):
    """One benchmark: its data format and generator, its models, its loss and its metrics."""

    name: ClassVar[str]
    description: ClassVar[str]
    models: ClassVar[tuple[str, ...]]
    splits: ClassVar[tuple[str, ...]] = ("train", "val", "test")
    #: Metrics whose values the paper reports, per model: ``{model: {metric: value}}``.
    paper_results: ClassVar[dict[str, dict[str, float]]] = {}
    #: A column of the training table grouping examples (e.g. ``"image_index"``), for ``group_size``.
    group_column: ClassVar[str | None] = None
    #: The metrics shown first in tables and progress output.
    headline_metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    #: Metrics that are counts rather than fractions (tables print them as numbers, not percentages).
    count_metrics: ClassVar[tuple[str, ...]] = ()
    #: Metrics where lower is better (error rates); accuracy charts leave them out.
    error_metrics: ClassVar[tuple[str, ...]] = ()
    #: Validation metrics that pick the kept epoch (``TrainConfig.keep == "best"``), compared in
    #: order: a later one breaks ties of the earlier ones (Sudoku: whole grids, then cells).
    selection_metrics: ClassVar[tuple[str, ...]] = ("accuracy",)

    # -- data ------------------------------------------------------------------------------
    def add_generate_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Task-specific options of ``relnet generate``."""

    @abstractmethod
    def generate(self, out: Path, *, seed: int, options: dict[str, Any] | None = None) -> dict:
        """Write a dataset in the task's canonical format; returns a summary for printing."""

    @abstractmethod
    def load(self, root: Path, split: str) -> Dataset:
        """A dataset whose ``__getitems__`` returns a collated :data:`Batch`."""

    @abstractmethod
    def inspect(self, root: Path) -> dict[str, Any]:
        """Validate a dataset folder and return its statistics."""

    # -- models ----------------------------------------------------------------------------
    #: ``{model name: module class}`` and ``{preset: {model name: recipe}}``, used by the default
    #: :meth:`build_model` and :meth:`preset`.
    model_classes: ClassVar[dict[str, type[nn.Module]]] = {}
    recipes: ClassVar[dict[str, dict[str, TrainConfig]]] = {}

    def build_model(self, model_name: str, config: dict[str, Any]) -> nn.Module:
        """A module mapping a :data:`Batch` to the task's output (usually answer logits)."""
        self.check_model_name(model_name)
        try:
            return self.model_classes[model_name](**config)
        except TypeError as error:
            raise RelnetError(f"bad configuration for {self.name} model {model_name!r}: {error}") from None

    def fit_config_to_data(self, model_name: str, config: dict[str, Any], root: Path, split: str) -> dict[str, Any]:
        """The model config adjusted to a dataset split (e.g. its image size); unchanged by default."""
        return config

    def check_model_name(self, model_name: str) -> None:
        if model_name not in self.models:
            raise RelnetError(f"unknown model {model_name!r} for {self.name}; known models: {', '.join(self.models)}")

    def preset(self, model_name: str, preset: str) -> TrainConfig:
        """The training recipe ``preset`` (``quick``, ``full``, ``gpu`` or ``paper``) for ``model_name``."""
        self.check_model_name(model_name)
        if preset not in self.recipes:
            raise RelnetError(f"unknown preset {preset!r} for {self.name}; choose one of {', '.join(self.recipes)}")
        if model_name not in self.recipes[preset]:
            raise RelnetError(f"{self.name} has no {preset!r} recipe for {model_name}")
        return self.recipes[preset][model_name]

    def add_commands(self, commands: argparse._SubParsersAction) -> dict[str, CommandHandler]:
        """Task-specific top-level verbs (``relnet solve``, ``relnet clevr ...``): add their parsers to
        ``commands`` and return ``{verb: handler}``. A handler takes the parsed arguments and returns a
        JSON-able payload; its ``"text"`` entry, if any, is what is printed without ``--json``."""
        return {}

    def show(self, model_name: str, model: nn.Module, root: Path, split: str, indices: list[int], out: Path) -> Path:
        """Draw what the model does on some examples (e.g. which pairs drove each answer) into ``out``."""
        raise RelnetError(f"`relnet show` is not available for {self.name} yet")

    def augment(self, batch: Batch) -> Batch:
        """A training batch under random answer-preserving transforms, for ``TrainConfig.augment``.

        Randomness comes from torch's global generator, which training seeds at every step. Tasks
        without augmentation keep this default, which refuses."""
        raise RelnetError(f"{self.name} has no training augmentation; train without it (--no-augment)")

    @property
    def can_augment(self) -> bool:
        return type(self).augment is not Task.augment

    # -- objective and metrics -------------------------------------------------------------
    def loss(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy against ``batch["answer"]``."""
        return F.cross_entropy(output.float(), batch["answer"])

    @abstractmethod
    def eval_records(self, output: torch.Tensor, batch: Batch) -> Records:
        """Per-example facts for the metrics (e.g. ``correct`` and a category), each ``(B, ...)``."""

    @abstractmethod
    def summarize(self, records: Records) -> dict[str, float]:
        """Metrics from the records of a whole split."""
