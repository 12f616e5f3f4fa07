"""The bAbI task (20 QA tasks, joint training): real v1.2 folders or relnet's generated ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relnet.errors import RelnetError
from relnet.tasks.babi import metrics as scoring
from relnet.tasks.babi.dataset import load_table
from relnet.tasks.babi.generator import SIZES, generate
from relnet.tasks.babi.models import MODELS
from relnet.tasks.babi.recipes import RECIPES
from relnet.tasks.babi.stats import dataset_stats
from relnet.tasks.base import Metric, Task


@dataclass(frozen=True)
class GeneratorOptions:
    """The flags of ``relnet generate babi``."""

    size: str = field(
        default="10k",
        metadata={
            "help": "training questions per task: 1k writes en/ and en-valid/, 10k en-10k/ and en-valid-10k/",
            "choices": tuple(SIZES),
        },
    )

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise RelnetError(f"--size must be one of {', '.join(SIZES)}, not {self.size!r}")


class Babi(Task):
    name = "babi"
    description = "bAbI v1.2 (Weston et al. 2015): 20 text QA tasks trained jointly; real folders or generated"
    options = GeneratorOptions
    models = MODELS
    load = staticmethod(load_table)
    inspect = staticmethod(dataset_stats)
    recipes = RECIPES
    metrics = (
        Metric("accuracy", headline=True, select=True),
        Metric("mean_error", kind="error", headline=True),
        Metric("tasks_passed", kind="count"),
    )
    loss = staticmethod(scoring.loss)  # for RRN outputs (B, T, A): the mean over steps
    records = staticmethod(scoring.records)
    summarize = staticmethod(scoring.summarize)
    # RN §5.4: 18/20 (task 2 8.1% error, task 3 16.5%, task 16 2.1%); RRN: 20/20, 0.46% mean error;
    # MLRN: 20/20 (abstract). Joint training on en-10k.
    paper_results = {
        "rn": {"tasks_passed": 18, "task_2": 0.919, "task_3": 0.835, "task_16": 0.979},
        "rrn": {"tasks_passed": 20, "mean_error": 0.0046},
        "mlrn": {"tasks_passed": 20},
    }

    def generate(self, out: Path, *, seed: int, options: GeneratorOptions) -> dict[str, Any]:
        return generate(Path(out), seed=seed, size=options.size)
