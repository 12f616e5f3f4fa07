"""The task contract: what a benchmark declares so that one training glue and one CLI serve them all.

A task is a :class:`Task` subclass with a ``name``. Its core is four things: a generator that writes the
real dataset's format (``generate``), a reader that turns a split into tensors (``load``), its models
(``models``) and its metrics (``records`` per batch, ``summarize`` per split, and the :class:`Metric`
declarations that say how to read them). Everything else is declared, not overridden: the generator's
options (a dataclass the CLI turns into flags), the training recipes, the augmentation, the paper's
numbers. Defining the subclass registers the task; nothing else has to be edited.

A minimal task::

    class Parity(Task):
        name = "parity"
        description = "is the number of ones even?"
        options = ParityOptions                  # a dataclass: the flags of `relnet generate parity`
        models = {"mlp": ParityMLP}              # modules mapping a batch dict to logits
        recipes = {"quick": {"mlp": TrainConfig(epochs=2)}}

        def generate(self, out, *, seed, options): ...   # write files; return {split: size}
        def load(self, root, split): ...                 # a TensorTable with an "answer" column

The default loss is cross-entropy against ``batch[target]`` and the default metric is ``accuracy``;
a task with another kind of target (bits, a class per step or node, a real value) overrides ``loss``,
``records`` and ``summarize`` and declares its metrics' kinds.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from relnet.data.tables import Batch
from relnet.errors import RelnetError

Records = dict[str, torch.Tensor]
MetricKind = Literal["fraction", "count", "error", "value"]


#: ``torch.compile`` modes a recipe may name (``TrainConfig.compile``).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class TrainConfig:
    """A training recipe: optimisation settings plus the model's constructor arguments."""

    epochs: int
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.0  # L2 (Adam's coupled decay) on linear and convolution weights only
    warmup_steps: int = 0
    schedule: str = "constant"  # "constant" or "cosine" (decays to 1% of lr at the last step)
    precision: str = "auto"  # bf16-mixed where the hardware has fast bf16, else 32-true
    grad_clip: float | None = None
    eval_batch_size: int = 512
    # >1: training batches hold runs of this many examples sharing the task's ``group_column`` (e.g.
    # questions about one image), so a model can encode each image once per batch.
    group_size: int = 1
    # Easy examples first: in epoch e (counting from 0) training draws only examples whose task's
    # ``curriculum_column`` holds one of ``curriculum[e]``; epochs past the last stage use every
    # example (``relnet.training.curriculum``). E.g. Pretty-CLEVR's ((1,), (0, 1), (0, 1, 2)) by jumps.
    curriculum: tuple[tuple[int, ...], ...] = ()
    # <1: each epoch trains on this fraction of a fresh shuffle of the training set (CPU-sized recipes).
    train_fraction: float = 1.0
    # "best": the saved weights are those of the epoch with the best validation metrics (the task's
    # metrics declared with ``select``); "last": those of the last epoch.
    keep: str = "best"
    # True: each training batch goes through the task's ``augment`` (random transforms that keep the
    # answers known, e.g. a scene's mirror images) before the model sees it.
    augment: bool = False
    # Learning-rate factors for parts of the model, by parameter-name prefix (e.g. {"objects": 0.1}
    # trains a pixel RN's CNN at a tenth of ``lr``); every other parameter trains at ``lr``.
    lr_scale: dict[str, float] = field(default_factory=dict)
    # Minutes of training (validation included) after which the run stops at the next step, validates
    # and keeps its best epoch; the cosine schedule then decays over whichever ends first, the epochs
    # or the budget. For "as far as this machine gets in N minutes" runs; a run stopped by the clock
    # depends on the hardware's speed, so it is not reproducible bit for bit elsewhere.
    time_budget: float | None = None
    # The ``Task.preset_data`` entry this recipe trains on when no ``--data`` is given (None: its
    # preset's), e.g. CLEVR's state RN on many more scenes, generated without images.
    data: str | None = None
    # The model through ``torch.compile`` with this mode: "default", "reduce-overhead" (CUDA graphs:
    # for launch-bound models on a GPU, such as the RRN's many small steps), "max-autotune"; None:
    # eager. The weights and their names are the same either way.
    compile: str | None = None
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        batches_ok = min(self.batch_size, self.eval_batch_size) >= 1
        budget_ok = self.time_budget is None or 0 < self.time_budget < math.inf
        checks = {
            f"epochs must be at least 1 (got {self.epochs})": self.epochs >= 1,
            f"batch sizes must be at least 1 (got {self.batch_size}, {self.eval_batch_size})": batches_ok,
            f"the learning rate must be positive (got {self.lr})": self.lr > 0,
            f"schedule must be 'constant' or 'cosine' (got {self.schedule!r})": self.schedule in ("constant", "cosine"),
            f"train_fraction must be in (0, 1] (got {self.train_fraction})": 0 < self.train_fraction <= 1,
            f"keep must be 'best' or 'last' (got {self.keep!r})": self.keep in ("best", "last"),
            f"group_size must be at least 1 (got {self.group_size})": self.group_size >= 1,
            f"lr_scale factors must be positive (got {self.lr_scale})": all(f > 0 for f in self.lr_scale.values()),
            f"time_budget must be a positive number of minutes (got {self.time_budget})": budget_ok,
            "warmup_steps and weight_decay must not be negative": self.warmup_steps >= 0 and self.weight_decay >= 0,
            f"compile must be one of {', '.join(COMPILE_MODES)} (got {self.compile!r})": self.compile is None
            or self.compile in COMPILE_MODES,
            f"every curriculum stage must admit some values (got {self.curriculum})": all(self.curriculum),
            "a curriculum and group_size > 1 cannot be combined (the curriculum draws single examples)": not (
                self.curriculum and self.group_size > 1
            ),
        }
        problems = [message for message, ok in checks.items() if not ok]
        if problems:
            raise RelnetError("bad training recipe: " + "; ".join(problems))

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with every non-None override applied; ``model`` entries are merged into the recipe's."""
        given = {key: value for key, value in overrides.items() if value is not None}
        if "model" in given:
            given["model"] = {**self.model, **given["model"]}
        return replace(self, **given)


@dataclass(frozen=True)
class Metric:
    """How to read one metric (or a family of them, ``name`` a pattern such as ``"task_*"``).

    ``kind``: ``"fraction"`` (in [0, 1], shown as a percentage, higher is better), ``"error"`` (a
    fraction where lower is better), ``"count"`` (a number, higher is better) or ``"value"`` (a real
    number such as a mean squared error, lower is better). ``headline``: shown first, in progress bars
    and summaries. ``select``: picks the kept epoch; several are compared in declaration order, a later
    one breaking ties of the earlier ones. ``table=False``: kept in the JSON records only, left out of
    tables, charts and printed lists (e.g. one metric per question family, 90 of them).
    """

    name: str
    kind: MetricKind = "fraction"
    headline: bool = False
    select: bool = False
    table: bool = True

    @property
    def higher_is_better(self) -> bool:
        return self.kind in ("fraction", "count")

    @property
    def is_percentage(self) -> bool:
        return self.kind in ("fraction", "error")

    def format(self, value: float | None) -> str:
        """``"93.4"`` for fractions and errors (in %), ``"17"`` for counts, ``"0.0123"`` for values."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        if self.is_percentage:
            return f"{100 * value:.1f}"
        return f"{value:g}" if self.kind == "count" else f"{value:.4g}"


_REGISTRY: dict[str, type[Task]] = {}


class Task:
    """One benchmark: its data, its models and recipes, its objective and metrics.

    Subclasses set the class attributes below and implement :meth:`generate` and :meth:`load`;
    :meth:`loss`, :meth:`records`, :meth:`summarize`, :meth:`inspect` and :meth:`fit_config` have
    defaults for single-class answers.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: The generator's options: a dataclass whose fields (with ``metadata={"help": ...}``, and
    #: ``"parse"`` for values typed as text on the command line) become ``relnet generate`` flags.
    options: ClassVar[type | None] = None
    #: ``{model name: module class}``; a module maps a batch dict to the output :meth:`loss` expects.
    models: ClassVar[Mapping[str, type[nn.Module]]] = {}
    #: ``{preset: {model name: recipe}}``; presets are ``quick``, ``full``, ``gpu`` and ``paper``.
    recipes: ClassVar[Mapping[str, Mapping[str, TrainConfig]]] = {}
    #: ``{preset: generator options}`` for the data a preset generates when no ``--data`` is given
    #: (e.g. a small dataset for ``quick``); presets not listed use the options' defaults. Other names
    #: are datasets a recipe asks for by name (``TrainConfig.data``).
    preset_data: ClassVar[Mapping[str, Any]] = {}
    #: Raised when a change to the generator changes what a seed produces, so that data generated by
    #: an older version is not silently reused by ``relnet reproduce``.
    generator_version: ClassVar[int] = 1
    #: ``{preset: model names}`` that ``relnet reproduce`` runs when no ``--model`` is given (e.g. a
    #: subset that keeps ``quick`` short); presets not listed run every model.
    preset_models: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: How to read the metrics :meth:`summarize` returns; undeclared ones are fractions.
    metrics: ClassVar[tuple[Metric, ...]] = (Metric("accuracy", headline=True, select=True),)
    #: The batch entry holding what the model must predict.
    target: ClassVar[str] = "answer"
    splits: ClassVar[tuple[str, ...]] = ("train", "val", "test")
    #: Metrics whose values the paper reports, per model: ``{model: {metric: value}}``.
    paper_results: ClassVar[Mapping[str, Mapping[str, float]]] = {}
    #: A column of the training table grouping examples (e.g. ``"image_index"``), for ``group_size``.
    group_column: ClassVar[str | None] = None
    #: An integer column of the training table that ``TrainConfig.curriculum`` stages select by.
    curriculum_column: ClassVar[str | None] = None
    #: ``batch -> batch`` under random answer-preserving transforms, for ``TrainConfig.augment``
    #: (a staticmethod; randomness from torch's global generator, which training seeds every step).
    augment: ClassVar[Callable[[Batch], Batch] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _REGISTRY[cls.name] = cls

    # -- data ------------------------------------------------------------------------------
    def generate(self, out: Path, *, seed: int, options: Any) -> dict[str, Any]:
        """Write a dataset in the task's canonical format (``options``: an instance of ``options``);
        returns ``{split: examples}`` or another small summary for printing."""
        raise RelnetError(f"{self.name} has no generator")

    def load(self, root: Path, split: str) -> Dataset:
        """A dataset whose ``__getitems__`` returns a collated batch (e.g. a ``TensorTable``)."""
        raise NotImplementedError

    def inspect(self, root: Path) -> dict[str, Any]:
        """Validate a dataset folder and return its statistics (default: every split's size)."""
        return {"task": self.name, "path": str(root), "splits": {s: len(self.load(root, s)) for s in self.splits}}

    def default_options(self, preset: str | None = None) -> Any:
        """The generator options of ``preset``'s data (``preset_data``), else the options' defaults."""
        if preset in self.preset_data:
            return self.preset_data[preset]
        return None if self.options is None else self.options()

    # -- models ----------------------------------------------------------------------------
    def build_model(self, model_name: str, config: Mapping[str, Any]) -> nn.Module:
        """The module ``model_name`` built with ``config`` (its constructor's keyword arguments)."""
        self.check_model_name(model_name)
        try:
            return self.models[model_name](**config)
        except TypeError as error:
            raise RelnetError(f"bad configuration for {self.name} model {model_name!r}: {error}") from None

    def fit_config(self, model_name: str, config: dict[str, Any], root: Path, split: str) -> dict[str, Any]:
        """The model config adjusted to a dataset split (e.g. its image size); unchanged by default."""
        return config

    def check_model_name(self, model_name: str) -> None:
        if model_name not in self.models:
            known = ", ".join(self.models) or "none yet"
            raise RelnetError(f"unknown model {model_name!r} for {self.name}; known models: {known}")

    def preset(self, model_name: str, preset: str) -> TrainConfig:
        """The training recipe ``preset`` (``quick``, ``full``, ``gpu`` or ``paper``) for ``model_name``."""
        self.check_model_name(model_name)
        if preset not in self.recipes:
            raise RelnetError(f"unknown preset {preset!r} for {self.name}; choose one of {', '.join(self.recipes)}")
        if model_name not in self.recipes[preset]:
            raise RelnetError(f"{self.name} has no {preset!r} recipe for {model_name}")
        return self.recipes[preset][model_name]

    # -- objective and metrics -------------------------------------------------------------
    def loss(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy of ``(B, C)`` logits against ``batch[target]`` ``(B,)``."""
        return F.cross_entropy(output.float(), batch[self.target])

    def records(self, output: torch.Tensor, batch: Batch) -> Records:
        """Per-example facts for :meth:`summarize`, each ``(B, ...)``; default ``correct`` ``(B,)``."""
        return {"correct": output.argmax(dim=-1) == batch[self.target]}

    def summarize(self, records: Records) -> dict[str, float]:
        """The metrics of a whole split from its records; default ``accuracy``."""
        return {"accuracy": records["correct"].float().mean().item()}

    # -- reading metrics -------------------------------------------------------------------
    def metric(self, name: str) -> Metric:
        """The declaration that covers ``name`` (a fraction when none does)."""
        for declared in self.metrics:
            if fnmatch.fnmatchcase(name, declared.name):
                return declared if declared.name == name else replace(declared, name=name)
        return Metric(name)

    @property
    def headline_metrics(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics if m.headline)

    def selection_key(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        """A key that is larger for better validation metrics (missing or NaN ones are worst)."""

        def oriented(metric: Metric) -> float:
            value = metrics.get(metric.name)
            if value is None or math.isnan(value):
                return -math.inf
            return float(value) if metric.higher_is_better else -float(value)

        return tuple(oriented(m) for m in self.metrics if m.select)

    def format_metric(self, name: str, value: float | None) -> str:
        return self.metric(name).format(value)
