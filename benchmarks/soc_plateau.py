"""What removes the pixel RN's colour plateau on Sort-of-CLEVR: variants of the quick recipe, side by side.

    python benchmarks/soc_plateau.py --data data/sort-of-clevr                      # every variant
    python benchmarks/soc_plateau.py --data data/sort-of-clevr --variants quick,cell-means
    python benchmarks/soc_plateau.py --data data/sort-of-clevr --epochs 1 --json

Each variant is the ``quick`` recipe of the ``rn`` model with a few settings changed, trained with the
same seed and data order for the same number of steps, then scored on the validation split (never
test). The table gives relational and non-relational accuracy, the share of answers that change when
each question is shown another scene's image (near 0: the run answers from the question alone) and the
wall time, so a change that breaks the plateau shows as a before/after pair. Results go to ``--out`` as
JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from run_records import append_run
from torch import nn

from relnet.nn import ConvObjects, tensorflow_init_
from relnet.nn.objects import coordinate_grid, images_to_float
from relnet.tasks import get_task
from relnet.tasks.sort_of_clevr import models
from relnet.tasks.sort_of_clevr.dataset import load_table
from relnet.tasks.sort_of_clevr.format import ENCODING_BITS
from relnet.training import evaluate, train

#: name -> (recipe fields, model fields) changed from the quick recipe. The ``gate`` rows of
#: results/sort-of-clevr/plateau.json (a multiplicative question gate on g's first layer) were
#: measured at commit bdda9ff and the ``patch`` rows (a stem of non-overlapping 15×15 patches) at
#: e43cc83; both options were removed after they made no difference. The ``object-gate`` and
#: ``question-gate`` rows of plateau-epyc-bf16.json (a learned weight per cell, pair (i, j) counting
#: w_i w_j, from the cell or from the cell and the question) were measured at 1b6abfe and removed:
#: relational accuracy fell to the answer prior.
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "quick": ({}, {}),
    "cell-means": ({}, {"cell_means": True}),
    "mean-reduction": ({}, {"reduction": "mean"}),
    "g-128": ({}, {"g_widths": (128,) * 4}),
    "cell-means+g-128": ({}, {"cell_means": True, "g_widths": (128,) * 4}),
    "lr-2e-3": ({"lr": 2e-3}, {}),
    "cell-means+lr-2e-3": ({"lr": 2e-3}, {"cell_means": True}),
    "no-bn": ({}, {"batch_norm": False}),
    # The learning rate with which the same RN leaves the plateau on exact grid features
    # (soc_grid_state.py --lr 3e-3), alone and with the pair sum's scale taken out by a mean.
    "lr-3e-3": ({"lr": 3e-3}, {}),
    "mean-reduction+lr-3e-3": ({"lr": 3e-3}, {"reduction": "mean"}),
    # g's first layer is computed per object, not per pair, so its width costs little: more candidate
    # "this cell has the asked colour" units for the same pair cost in the later layers.
    "wide-first-g": ({}, {"g_widths": (256, 64, 64, 64)}),
    # The first epoch on the non-relational questions alone: every one of them needs "the object of
    # colour c", while count, learnt first otherwise, needs no colour and pulls the CNN away from it
    # (the colour probe). The Pretty-CLEVR jump curriculum broke a plateau of the same kind. The
    # curriculum sampler draws questions one by one (group_size 1), so the CNN encodes an image per
    # question: the steps are slower than the quick recipe's.
    "curriculum-non-relational": ({"curriculum": ((0, 1, 2),), "group_size": 1}, {}),
    # The pair sum standardised before f (batch norm: each feature's common part over the batch
    # taken out, so f sees what varies between scenes; layer norm: per example).
    "sum-bn": ({}, {"sum_norm": "batch"}),
    "sum-ln": ({}, {"sum_norm": "layer"}),
    # The question scaled up before g: g's first-layer units become question-selective (a unit fires
    # for some asked colours only), so "is this cell the asked colour" is linear within each unit.
    "question-scale-4": ({}, {"question_scale": 4.0}),
    "question-scale-10": ({}, {"question_scale": 10.0}),
    # The CNN frozen at its random initialisation (lr scaled by 1e-6; the colour probe reads 67-70%
    # colour from an untrained CNN's cells), alone and with g and f at lr 3e-3, the rate that leaves
    # the plateau on exact grid features (soc_grid_state.py).
    "frozen-cnn": ({"lr_scale": {"objects": 1e-6}}, {}),
    "frozen-cnn+lr-3e-3": ({"lr": 3e-3, "lr_scale": {"objects": 1e-6}}, {}),
    # lr 3e-3 kept from collapsing by gradient clipping and a 1,000-step warm-up, with the CNN at full
    # rate and at a tenth of it.
    "lr-3e-3+clip": ({"lr": 3e-3, "grad_clip": 1.0, "warmup_steps": 1000}, {}),
    "lr-3e-3+clip+cnn-0.1": ({"lr": 3e-3, "grad_clip": 1.0, "warmup_steps": 1000, "lr_scale": {"objects": 0.1}}, {}),
    # The starting weights: PyTorch's default U(±1/√fan_in) shrinks activations about sixfold a ReLU
    # layer, so g's four layers start from tiny outputs. TensorFlow's Glorot default (which the bAbI
    # RRN gained from, docs/babi.md) and He's ReLU-preserving initialisation instead.
    "tensorflow-init": ({}, {"init": "tensorflow"}),
    "he-init": ({}, {"init": "he"}),
    # What kimhc6028's PyTorch RN (89% relational at epoch 20) does differently from relnet's: its CNN
    # is conv → ReLU → batch norm, so the cells g reads are centred (the white background taken
    # out), and every batch holds 64 distinct images, where relnet's group_size 4 gives 16.
    "relu-then-bn": ({}, {"relu_then_bn": True}),
    "group-1": ({"group_size": 1}, {}),
    "relu-then-bn+group-1": ({"group_size": 1}, {"relu_then_bn": True}),
    # The question's injection point moved to the pixels: its 11 bits as constant input channels of
    # the CNN (early fusion), so "this pixel has the asked colour" is a local, per-pixel computation
    # of the first layers instead of a binding g must find among 625 pairs. The CNN then runs once
    # per question, not once per image.
    "question-in-cnn": ({}, {"question_in_cnn": True}),
    "question-in-cnn+sum-bn": ({}, {"question_in_cnn": True, "sum_norm": "batch"}),
    # The rate at which the same RN binds colour on exact 25-cell features (soc_grid_state.py --lr
    # 3e-3: 90% non-relational by step 1,500) for g and f only, the CNN kept at the quick recipe's
    # 1e-3 (at 3e-3 it collapses to the answer prior, above); with and without each cell's mean
    # colour beside its features, the nearest the pixel model has to the exact cells.
    "g-f-3e-3": ({"lr": 3e-3, "lr_scale": {"objects": 1 / 3}}, {}),
    "g-f-3e-3+cell-means": ({"lr": 3e-3, "lr_scale": {"objects": 1 / 3}}, {"cell_means": True}),
    "lr-3e-3+cell-means": ({"lr": 3e-3}, {"cell_means": True}),
    # What sets exact cells apart from the CNN's (soc_grid_state.py): an empty exact cell is all
    # zeros, so the pair sum is the objects' signal; the CNN gives its 19 background cells the same
    # nonzero features, a common part of every pair that the question-only answer can lean on.
    # `cell-norm` centres and scales each channel over the 25 cells of its own image (instance
    # norm), so the background is one constant and only objects stand out, at the quick rate and at
    # the rate that binds exact cells. `coord-input` gives the CNN the pixels' (x, y) as 2 more input
    # planes (CoordConv), so a cell can say where in it its object lies, which closest-to and
    # furthest-from need finer than the 5×5 tags.
    "cell-norm": ({}, {"cell_norm": True}),
    "cell-norm+lr-3e-3": ({"lr": 3e-3}, {"cell_norm": True}),
    "coord-input": ({}, {"coord_input": True}),
    "cell-norm+coord-input": ({}, {"cell_norm": True, "coord_input": True}),
    # On exact cells, 16 features of noise beside the exact ones slow the binding more than a nonzero
    # background or objects shared among cells (soc_grid_state.py --lr 3e-3 --modes grid-noise,...).
    # The CNN's 24 output channels are, to g at the start, mostly such features; 8 leave it fewer.
    "cnn-out-8": ({}, {"channels": (24, 24, 24, 8)}),
    "cnn-out-8+lr-3e-3": ({"lr": 3e-3}, {"channels": (24, 24, 24, 8)}),
    # With 8 output channels lr 3e-3 no longer collapses; higher still, and with 4 channels.
    "cnn-out-8+lr-5e-3": ({"lr": 5e-3}, {"channels": (24, 24, 24, 8)}),
    "cnn-out-4+lr-3e-3": ({"lr": 3e-3}, {"channels": (24, 24, 24, 4)}),
}


class CoordinateInput(nn.Module):
    """CoordConv: the pixels' (x, y) in [-1, 1] as two more input planes of ``objects``' CNN, whose
    first convolution is rebuilt to take them. ``(B, 3, H, W)`` → ``objects``' output."""

    def __init__(self, objects: ConvObjects) -> None:
        super().__init__()
        first = objects.cnn[0]
        objects.cnn[0] = nn.Conv2d(
            first.in_channels + 2,
            first.out_channels,
            first.kernel_size,
            first.stride,
            first.padding,
            bias=first.bias is not None,
        )
        self.objects = objects

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = images.shape
        planes = coordinate_grid(height, width, device=images.device).to(images.dtype)  # (H*W, 2)
        planes = planes.T.reshape(1, 2, height, width).expand(batch, -1, -1, -1)
        return self.objects(torch.cat([images, planes], dim=1))


class CellNorm(nn.Module):
    """Each CNN channel centred and scaled over the cells of its own image (the coordinate tags, the
    last 2 features, left as they are). ``(B, C, H, W)`` → ``(B, h * w, object_dim)``."""

    def __init__(self, objects: nn.Module) -> None:
        super().__init__()
        self.objects = objects

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        objects = self.objects(images)
        features, coords = objects[..., :-2], objects[..., -2:]
        features = F.instance_norm(features.transpose(1, 2)).transpose(1, 2)  # over cells, per channel
        return torch.cat([features, coords], dim=-1)


class ProbeRelationNetwork(models.PixelRelationNetwork):
    """The pixel RN with knobs the library does not have, for the variants above: a norm on the pair
    sum before f (``sum_norm``: ``"batch"`` or ``"layer"``), a factor on the question
    (``question_scale``), the starting weights (``init``: ``"torch"``, ``"tensorflow"`` or ``"he"``) and
    the CNN's layer order (``relu_then_bn``: conv → ReLU → BN instead of conv → BN → ReLU).
    With none it is the library's model, parameter for parameter."""

    def __init__(
        self,
        *args: Any,
        sum_norm: str | None = None,
        question_scale: float = 1.0,
        init: str = "torch",
        relu_then_bn: bool = False,
        question_in_cnn: bool = False,
        cell_norm: bool = False,
        coord_input: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.question_in_cnn = question_in_cnn
        if question_in_cnn and (coord_input or cell_norm):
            raise ValueError("question_in_cnn rebuilds the CNN; it does not combine with coord_input or cell_norm")
        if coord_input:
            self.objects = CoordinateInput(self.objects)
        if cell_norm:
            self.objects = CellNorm(self.objects)
        if question_in_cnn:  # the image's 3 channels and the question's 11, the same CNN otherwise
            convolutions = [layer for layer in self.objects.cnn if isinstance(layer, nn.Conv2d)]
            batch_norm = any(isinstance(layer, nn.BatchNorm2d) for layer in self.objects.cnn)
            channels = [layer.out_channels for layer in convolutions]
            self.objects = ConvObjects(3 + ENCODING_BITS, channels, batch_norm=batch_norm)
        if relu_then_bn:  # conv (with a bias, the ReLU's threshold) → ReLU → BN, layer by layer
            old = list(self.objects.cnn)
            layers: list[nn.Module] = []
            for conv, norm in zip(old[0::3], old[1::3], strict=True):
                layers += [nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)]
                layers += [nn.ReLU(), nn.BatchNorm2d(norm.num_features)]
            self.objects.cnn = nn.Sequential(*layers)
        self.question_scale = question_scale
        width = self.relation.relation_dim
        norms = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}
        if sum_norm is not None:
            self.relation.f = nn.Sequential(norms[sum_norm](width), self.relation.f)
        if init == "tensorflow":
            tensorflow_init_(self)
        elif init == "he":
            for layer in self.modules():
                if isinstance(layer, (nn.Linear, nn.Conv2d)):
                    nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
                    if layer.bias is not None:
                        nn.init.zeros_(layer.bias)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        question = self.question_scale * batch["question"]
        if not self.question_in_cnn:
            return super().forward({**batch, "question": question})
        images = images_to_float(batch["image"])
        height, width = images.shape[-2:]
        planes = question[:, :, None, None].to(images.dtype).expand(-1, -1, height, width)
        objects = self.objects(torch.cat([images, planes], dim=1))
        return self.relation(objects, question.to(objects.dtype))


def image_dependence(model: nn.Module, data: Path, questions: int = 2000, seed: int = 0) -> float:
    """The share of the first ``questions`` validation answers that change when each question is
    shown another scene's image: 0 when the model answers from the question alone (the answer
    prior), as a collapsed run does, whatever its accuracy says."""
    batch = load_table(data, "val").__getitems__(range(questions))
    batch.pop("image_index")  # the images no longer follow the index once shuffled
    shuffled = torch.randperm(questions, generator=torch.Generator().manual_seed(seed))
    model.eval()
    with torch.no_grad():
        answers = model(batch).argmax(1)
        other_scene = model({**batch, "image": batch["image"][shuffled]}).argmax(1)
    return (answers != other_scene).float().mean().item()


def run_variant(name: str, data: Path, epochs: int | None, seed: int) -> dict[str, Any]:
    task = get_task("sort-of-clevr")
    recipe_changes, model_changes = VARIANTS[name]
    config = task.preset("rn", "quick")
    config = replace(config, **recipe_changes, model={**config.model, **model_changes})
    if epochs is not None:
        config = replace(config, epochs=epochs)
    start = time.perf_counter()
    library_model = models.MODELS["rn"]
    models.MODELS["rn"] = ProbeRelationNetwork  # the task's model table, read when training builds "rn"
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            outcome = train("sort-of-clevr", "rn", data, config, run_dir=Path(run_dir), seed=seed, progress=False)
        metrics = evaluate(outcome.module, data, "val", progress=False)
        answers_from_image = image_dependence(outcome.module.model, data)
    finally:
        models.MODELS["rn"] = library_model
    return {
        "variant": name,
        "relational": metrics["relational"],
        "non_relational": metrics["non_relational"],
        "answers_changed_by_another_image": round(answers_from_image, 4),
        "train_steps": outcome.steps,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "changes": {**recipe_changes, **model_changes},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a Sort-of-CLEVR folder (relnet generate sort-of-clevr)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--epochs", type=int, help="instead of the quick recipe's epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/sort-of-clevr/plateau.json")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    for name in names:
        print(f"training {name} ...", file=sys.stderr, flush=True)
        row = run_variant(name, Path(args.data), args.epochs, args.seed)
        print(
            f"{name:<22} relational {100 * row['relational']:5.1f}  non-relational {100 * row['non_relational']:5.1f}"
            f"  answers changed by another image {100 * row['answers_changed_by_another_image']:4.1f}"
            f"  ({row['train_steps']} steps, {row['wall_seconds']:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        record = append_run(Path(args.out), split="val", rows=[row])  # each variant kept as soon as it ends
        if args.json:
            print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
