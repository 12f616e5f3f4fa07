"""``relnet bench rn-training``: does the fast RN path learn exactly as well as the textbook one?

Trains the same Sort-of-CLEVR model twice with the same seed, data order and recipe: once with
relnet's :class:`~relnet.nn.RelationNetwork` path (split first layer, no pair tensor) and once with
:func:`~relnet.nn.relation_network_reference` (every ``[o_i; o_j; q]`` concatenated) in its place,
then scores both on the test split. The two paths compute the same function, but in a different
floating-point order, so the runs drift apart by rounding; the accuracies should agree within noise.

``--quick``: the state-description RN, half an epoch of the quick recipe (minutes on a CPU).
Without it: the pixel RN of the quick main job (1.5 epochs).
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightning as L

from relnet.nn import RelationNetwork, relation_network_reference
from relnet.runtime import device_description
from relnet.tasks import get_task
from relnet.training.reproduce import default_data_root, ensure_dataset
from relnet.training.run import evaluate, train

Note = Callable[[str], None]
TASK = "sort-of-clevr"
METRICS = ("relational", "non_relational", "closest_to", "furthest_from", "count")


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


def _train_and_test(model_name: str, config: Any, data: Path, reference: bool, progress: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        outcome = train(
            TASK,
            model_name,
            data,
            config,
            run_dir=Path(run_dir),
            seed=0,
            progress=progress,
            callbacks=[UseReferencePath()] if reference else None,
        )
        seconds = time.perf_counter() - start
    metrics = evaluate(outcome.module, data, "test", progress=progress)
    return {"train_seconds": round(seconds, 1), "test": {name: metrics[name] for name in METRICS}}


def bench_rn_training(quick: bool = False, note: Note = print) -> dict[str, Any]:
    model_name = "rn-state" if quick else "rn"
    config = get_task(TASK).preset(model_name, "quick")
    if quick:
        config = replace(config, train_fraction=0.5)
    data = default_data_root(TASK, 0)
    ensure_dataset(TASK, data, seed=0, progress_note=note)
    runs = {}
    for path in ("relnet", "reference"):
        note(f"training {model_name} with the {path} path ...")
        runs[path] = _train_and_test(model_name, config, data, path == "reference", progress=False)
    difference = {name: runs["relnet"]["test"][name] - runs["reference"]["test"][name] for name in METRICS}
    lines = [
        f"{TASK} {model_name}, quick recipe{' (half an epoch)' if quick else ''}, seed 0, {device_description()}",
        f"{'path':<10} {'train s':>8} " + " ".join(f"{name:>14}" for name in METRICS),
    ]
    for path, run in runs.items():
        values = " ".join(f"{100 * run['test'][name]:13.1f}%" for name in METRICS)
        lines.append(f"{path:<10} {run['train_seconds']:8.0f} {values}")
    lines.append(f"{'difference':<10} {'':>8} " + " ".join(f"{100 * difference[name]:+13.1f}%" for name in METRICS))
    return {
        "task": TASK,
        "model": model_name,
        "recipe": "quick" + (" (train_fraction 0.5)" if quick else ""),
        "device": device_description(),
        "runs": runs,
        "difference": difference,
        "text": "\n".join(lines),
    }
