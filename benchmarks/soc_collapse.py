"""Where a pixel RN that answers from the question alone lost the image: CNN, g or f.

    python benchmarks/soc_collapse.py --data data/sort-of-clevr --lr 3e-3    # the rate that collapses
    python benchmarks/soc_collapse.py --data data/sort-of-clevr --lr 1e-3    # the quick recipe's

Trains the quick recipe's ``rn`` for one epoch of its 75% training share (2,296 steps) at ``--lr``,
then on 400 validation questions reports: how many of the CNN's output channels are active on some
cell, the batch-norm shifts, the share of pairs on which g's last-layer units are active, how much
the pair sum and f's answers change when the images are shuffled among the questions, and the
training loss along the way.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from relnet.nn.objects import images_to_float
from relnet.tasks import get_task
from relnet.tasks.sort_of_clevr.dataset import load_table
from relnet.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a Sort-of-CLEVR folder (relnet generate sort-of-clevr)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = Path(args.data)
    config = replace(get_task("sort-of-clevr").preset("rn", "quick"), lr=args.lr, epochs=1)
    with tempfile.TemporaryDirectory() as run_dir:
        outcome = train("sort-of-clevr", "rn", data, config, run_dir=Path(run_dir), seed=args.seed, progress=False)
        log = [row for row in csv.DictReader((Path(run_dir) / "logs" / "metrics.csv").open()) if row["train/loss"]]
    print("training loss:", " ".join(f"{float(row['train/loss']):.2f}" for row in log[:: max(1, len(log) // 12)]))
    model = outcome.module.model.eval()
    batch = load_table(data, "val").__getitems__(range(400))
    shuffled = torch.randperm(400, generator=torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        objects = model.objects(images_to_float(batch["image"]))
        other_objects = model.objects(images_to_float(batch["image"][shuffled]))
        cells = objects[..., :-2]  # (B, 25, channels) without the coordinates
        active = (cells > 0).float().mean(dim=(0, 1))
        print(f"CNN output channels active on some cell: {int((active > 0).sum())} of {cells.shape[-1]}")
        norms = [layer for layer in model.modules() if isinstance(layer, torch.nn.BatchNorm2d)]
        shifts = [f"{layer.bias.mean().item():+.3f}" for layer in norms]
        print("batch-norm shifts (mean per layer):", " ".join(shifts))
        question = batch["question"]
        pairs = model.relation.pair_outputs(objects, question)  # (B, 25, 25, g width)
        print(f"g's last layer: active on {100 * (pairs > 0).float().mean().item():.1f}% of pairs and units")
        total = model.relation.pair_sum(objects, question)
        other_total = model.relation.pair_sum(other_objects, question)
        change = ((total - other_total).norm() / total.norm()).item()
        print(f"pair sum: norm {total.norm(dim=1).mean().item():.1f}, changed {100 * change:.1f}% by shuffled images")
        answers, other_answers = model.relation.f(total).argmax(1), model.relation.f(other_total).argmax(1)
        print(f"f's answers changed by shuffled images: {100 * (answers != other_answers).float().mean().item():.1f}%")


if __name__ == "__main__":
    main()
