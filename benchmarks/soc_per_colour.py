"""Which colours can a Sort-of-CLEVR model find? Accuracy per question subtype and asked colour.

    python benchmarks/soc_per_colour.py --weights results/sort-of-clevr/quick/rn.safetensors
    python benchmarks/soc_per_colour.py --weights results/sort-of-clevr/rn.safetensors --data data/sort-of-clevr

A model in the colour plateau answers non-relational questions at about 63%. That could be two
things: some colours found and others confused (red, orange and yellow are close), or every colour
found weakly. The table tells them apart. Scored on the validation split (never test).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from relnet.tasks.sort_of_clevr.dataset import load_table
from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, COLORS
from relnet.training.weights import load_model


def accuracy_by_subtype_and_colour(model: torch.nn.Module, data: Path, batch_size: int = 500) -> torch.Tensor:
    """``(len(ALL_SUBTYPES), len(COLORS))`` validation accuracy of ``model``, by subtype and asked colour."""
    table = load_table(data, "val")
    batch = table.__getitems__(range(len(table)))
    with torch.no_grad():
        answers = torch.cat(
            [
                model({key: value[start : start + batch_size] for key, value in batch.items()}).argmax(1)
                for start in range(0, len(table), batch_size)
            ]
        )
    correct = (answers == batch["answer"]).float()
    colour = batch["question"][:, : len(COLORS)].argmax(1)  # the question's first bits: a one-hot colour
    cell = batch["subtype"] * len(COLORS) + colour
    totals = torch.bincount(cell, minlength=len(ALL_SUBTYPES) * len(COLORS)).clamp(min=1)
    hits = torch.bincount(cell, weights=correct, minlength=len(ALL_SUBTYPES) * len(COLORS))
    return (hits / totals).reshape(len(ALL_SUBTYPES), len(COLORS))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", required=True, help="a Sort-of-CLEVR model's .safetensors")
    parser.add_argument("--data", default="data/sort-of-clevr")
    args = parser.parse_args()
    _, model = load_model(Path(args.weights), expect_task="sort-of-clevr")
    table = accuracy_by_subtype_and_colour(model, Path(args.data))
    print(f"validation accuracy (%) by subtype and asked colour, {args.weights}")
    print(f"{'':<18}" + "".join(f"{colour:>8}" for colour in COLORS))
    for name, row in zip(ALL_SUBTYPES, table.tolist(), strict=True):
        print(f"{name:<18}" + "".join(f"{100 * value:8.1f}" for value in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
