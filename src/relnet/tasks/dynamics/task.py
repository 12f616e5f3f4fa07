"""The dynamics task (RN paper §5.5): tensors from the splits, the two targets' loss and metrics, the
recipes, and the :class:`Task` that ties them to relnet's CLI.

One task, two targets: each model declares its ``target`` (:mod:`relnet.tasks.dynamics.models`), and
the loss and records tell them apart by the output's shape, ``(B, 10, 10)`` connection logits or
``(B, 6)`` count logits. Metrics, for every model:

- ``connections``: scenes whose 100 connection bits are all right (the paper's 93%); none for counters;
- ``systems``: scenes whose number of systems is right (the paper's 95%); a connection model's count
  is that of the systems its predicted connections make;
- ``bits``: connection bits right, over all bits (none for counters);
- ``pair_auc``: how well the connection logits rank the pairs, whatever the threshold: the chance that
  a connected pair of balls scores above an unconnected one (ties count half; the two logits of a pair
  averaged; none for counters). It shows learning long before whole scenes come out right, and breaks
  ties between epochs that get no scene right.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from relnet.data import TensorTable
from relnet.errors import RelnetError
from relnet.tasks.base import Metric, Records, Task, TrainConfig
from relnet.tasks.dynamics.augment import augment
from relnet.tasks.dynamics.generator import (
    SPLITS,
    DynamicsOptions,
    count_systems,
    generate,
    read_split,
    split_paths,
    split_stats,
)
from relnet.tasks.dynamics.models import MODELS
from relnet.tasks.dynamics.simulator import BALLS


# ---------------------------------------------------------------------------- data
def load_table(root: Path, split: str) -> TensorTable:
    """Batch keys: ``positions`` ``(B, 16, 10, 2)`` float, ``connections`` ``(B, 10, 10)`` float 0/1,
    ``systems`` ``(B,)`` long and, when the split has pictures, ``frames`` ``(B, 16, S, S, 3)`` uint8."""
    data = read_split(root, split)
    columns = {
        "positions": torch.from_numpy(np.ascontiguousarray(data.positions)),
        "connections": torch.from_numpy(data.connections.astype(np.float32)),
        "systems": torch.from_numpy(data.systems.astype(np.int64)),
    }
    if data.frames is not None:
        columns["frames"] = torch.from_numpy(data.frames)
    return TensorTable(columns)


def dataset_stats(root: Path) -> dict[str, Any]:
    """Validate every split (each scene's systems re-derived from its connections) and describe it."""
    root = Path(root)
    splits = [root] if root.suffix in (".npz", ".json") else SPLITS
    report: dict[str, Any] = {"task": "dynamics", "path": str(root), "splits": {}}
    for split in splits:
        npz, _ = split_paths(root, str(split))
        report["splits"][npz.stem] = split_stats(read_split(root, str(split)))
    return report


# ---------------------------------------------------------------------------- objective and metrics
def predicts_connections(output: torch.Tensor) -> bool:
    """``(B, 10, 10)`` connection logits, not ``(B, 6)`` count logits."""
    return output.dim() == 3


def loss(output: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Binary cross-entropy over the 100 bits, or cross-entropy over the counts."""
    if predicts_connections(output):
        return F.binary_cross_entropy_with_logits(output.float(), batch["connections"].float())
    return F.cross_entropy(output.float(), batch["systems"])


def records(output: torch.Tensor, batch: dict[str, torch.Tensor]) -> Records:
    """Per scene: ``systems_right`` ``(B,)`` and, for connection models, ``bits_right`` ``(B,)`` (how
    many of the 100 bits are right) and each unordered pair's mean logit and truth, ``pair_scores``
    and ``pair_truth`` ``(B, 45)``."""
    if not predicts_connections(output):
        return {"systems_right": output.argmax(dim=-1) == batch["systems"]}
    predicted = output > 0
    truth = batch["connections"].bool()
    first, second = torch.triu_indices(BALLS, BALLS, offset=1, device=output.device)
    return {
        "bits_right": (predicted == truth).flatten(1).sum(dim=1),
        "systems_right": count_systems(predicted) == batch["systems"],
        "pair_scores": (output[:, first, second].float() + output[:, second, first].float()) / 2,
        "pair_truth": truth[:, first, second],
    }


def ranking_auc(scores: torch.Tensor, truth: torch.Tensor) -> float:
    """The chance that a positive scores above a negative (ties count half): scores and bool truth of
    any one shape; NaN without both kinds. Computed from average ranks (Mann-Whitney)."""
    scores, truth = scores.flatten().float(), truth.flatten().bool()
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if not positives or not negatives:
        return float("nan")
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    ranks = (counts.cumsum(0) - (counts - 1) / 2)[inverse]  # 1-based, ties sharing their mean rank
    return ((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives)).item()


def summarize(records: Records) -> dict[str, float]:
    """``connections``, ``systems``, ``bits`` and ``pair_auc`` (see the module docstring; NaN where a
    model has none)."""
    metrics = dict.fromkeys(("connections", "systems", "bits", "pair_auc"), float("nan"))
    metrics["systems"] = records["systems_right"].float().mean().item()
    if "bits_right" in records:
        bits = records["bits_right"].float()
        metrics["connections"] = (bits == bits.new_tensor(100.0)).float().mean().item()
        metrics["bits"] = (bits / 100).mean().item()
        metrics["pair_auc"] = ranking_auc(records["pair_scores"], records["pair_truth"])
    return metrics


# ---------------------------------------------------------------------------- recipes
#: The paper's optimiser (Adam 1e-4, batch 50) and sizes (the models' defaults: the sum readout, one
#: colour number).
_PAPER = TrainConfig(epochs=50, batch_size=50, lr=1e-4, eval_batch_size=500)
_CPU = TrainConfig(epochs=1, batch_size=32, lr=1e-3, schedule="cosine", warmup_steps=100, eval_batch_size=500)
#: The CPU recipes' state models see each ball's motion too (``motion=True``: its velocities and
#: accelerations beside its positions, see ``state_objects``): the same information, conditioned so
#: that a spring's pull is a unit-sized input. In a 10-minute A/B of the full connection RN it took
#: scenes with every connection right from 41.7% to 72% (results/dynamics/motion-ab/); the MLPs get
#: the same rows. Colours as one-hot bits; the connection RN reads each pair's bit off that pair
#: (``readout="pairs"``, see ``StateRN``).
#: Quick sizes: an RN of about 76,000 parameters and an MLP of 79,000.
_RN_CPU = {"g_widths": (128, 128, 128), "f_widths": (128,), "colour": "onehot", "motion": True}
_MLP_CPU = {"widths": (64, 64, 64), "colour": "onehot", "motion": True}
#: The full recipe's: an RN of 890,000 parameters and an MLP of 931,000.
_RN_FULL = {"g_widths": (512, 512, 512), "f_widths": (512,), "colour": "onehot", "motion": True}
_MLP_FULL = {"widths": (512, 512, 256), "colour": "onehot", "motion": True}
_FRAMES_RN_CPU = {"channels": (16, 32, 32), "embed_dim": 64, "g_widths": (128, 128), "f_widths": (128,)}
_FRAMES_CNN_CPU = {"channels": (32, 32, 32), "widths": (256,)}
_MODELS = ("rn", "mlp", "rn-count", "mlp-count", "rn-frames", "cnn-mlp-frames")


def _cpu_recipes(
    state_epochs: int, mlp_epochs: int, frames_epochs: int, rn: dict[str, Any], mlp: dict[str, Any], augment: bool
) -> dict[str, TrainConfig]:
    """The CPU networks trained for the given epochs (the MLPs' steps are far cheaper than the RNs')."""
    cpu = replace(_CPU, augment=augment)
    return {
        "rn": replace(cpu, epochs=state_epochs, model={**rn, "readout": "pairs"}),
        "mlp": replace(cpu, epochs=mlp_epochs, model=mlp),
        "rn-count": replace(cpu, epochs=state_epochs, model=rn),
        "mlp-count": replace(cpu, epochs=mlp_epochs, model=mlp),
        "rn-frames": replace(cpu, epochs=frames_epochs, model=_FRAMES_RN_CPU),
        "cnn-mlp-frames": replace(cpu, epochs=frames_epochs, model=_FRAMES_CNN_CPU),
    }


RECIPES: dict[str, dict[str, TrainConfig]] = {
    # A few minutes of one CPU thread each on the quick data (10,000 training scenes).
    "quick": _cpu_recipes(20, 60, 1, _RN_CPU, _MLP_CPU, augment=False),
    # Wider networks on the default data (20,000 training scenes), trained on the scenes' symmetries:
    # without them the counting models overfit (validation loss rising from epoch 6 for the frame RN,
    # from epoch 17 for the state RN) while the quick-sized connection RN stalls at 39% of scenes with
    # its validation loss equal to its training loss (too small). About an hour for all six models on
    # one AVX-512 EPYC thread (the RN 18 minutes).
    "full": _cpu_recipes(30, 60, 20, _RN_FULL, _MLP_FULL, augment=True),
    # The paper's networks, with a larger batch and learning rate for one GPU.
    "gpu": {
        name: replace(_PAPER, epochs=100, batch_size=256, lr=3e-4, schedule="cosine", warmup_steps=500)
        for name in _MODELS
    },
    "paper": dict.fromkeys(_MODELS, _PAPER),
}


class Dynamics(Task):
    name = "dynamics"
    description = (
        "mass-spring dynamics (Santoro et al. 2017, §5.5): 10 balls over 16 frames, some joined by invisible "
        "springs or rods; infer the connections, or count the connected systems"
    )
    options = DynamicsOptions
    models = MODELS
    recipes = RECIPES
    preset_data = {"quick": DynamicsOptions(train_size=10_000, val_size=1_000, test_size=1_000)}
    metrics = (
        Metric("connections", headline=True, select=True),
        Metric("systems", headline=True, select=True),
        Metric("bits"),
        Metric("pair_auc", select=True),
    )
    target = "systems"
    loss = staticmethod(loss)
    augment = staticmethod(augment)  # the square's 8 symmetries, time reversal, relabelled balls
    records = staticmethod(records)
    summarize = staticmethod(summarize)
    paper_results = {"rn": {"connections": 0.93}, "rn-count": {"systems": 0.95}}

    generate = staticmethod(generate)
    load = staticmethod(load_table)
    inspect = staticmethod(dataset_stats)

    def fit_config(self, model_name: str, config: dict[str, Any], root: Path, split: str) -> dict[str, Any]:
        """Frame models take the frame size from the data (and need data with frames)."""
        if model_name not in ("rn-frames", "cnn-mlp-frames"):
            return config
        frames = read_split(root, split).frames
        if frames is None:
            raise RelnetError(
                f"{model_name} reads the rendered frames, but {root} has none; generate with --frame-size 32"
            )
        return {**config, "frame_size": int(frames.shape[2])}
