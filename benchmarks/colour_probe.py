"""Does a Sort-of-CLEVR pixel model's CNN still know colours? A linear probe on its object cells.

Each 5×5 cell of the CNN's feature map is labelled with the colour of the object whose centre lies in
it (or "none"). A linear classifier is fitted on the cells of 500 test images and scored on the
object cells of 100 others. The same probe on each cell's mean pixel colour is the reference: the
colour is plainly there in the pixels.

Usage: ``python benchmarks/colour_probe.py --weights results/sort-of-clevr/rn.safetensors
[--data data/sort-of-clevr]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from relnet.tasks.sort_of_clevr.dataset import load_images
from relnet.tasks.sort_of_clevr.format import COLORS, read_split
from relnet.training import module_from_weights

IMAGES, TRAIN_IMAGES, GRID = 600, 500, 5


def probe_accuracy(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Held-out accuracy on object cells of a linear classifier: ``features`` ``(cells, d)``."""
    features = (features - features.mean(0)) / (features.std(0) + 1e-6)
    split = TRAIN_IMAGES * GRID * GRID
    torch.manual_seed(0)
    classifier = nn.Linear(features.shape[1], len(COLORS) + 1)
    optimizer = torch.optim.Adam(classifier.parameters(), 1e-2)
    for _ in range(500):
        loss = F.cross_entropy(classifier(features[:split]), labels[:split])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    predicted = classifier(features[split:]).argmax(-1)
    objects = labels[split:] < len(COLORS)
    return float((predicted[objects] == labels[split:][objects]).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("data/sort-of-clevr"))
    args = parser.parse_args()
    module = module_from_weights(args.weights, expect_task="sort-of-clevr").eval()
    split = read_split(args.data, "test")
    images = torch.from_numpy(load_images(split, args.data)[:IMAGES]).permute(0, 3, 1, 2).float() / 255
    cell = split.image_size / GRID
    labels = torch.full((IMAGES, GRID * GRID), len(COLORS))
    for index, scene in enumerate(split.scenes[:IMAGES]):
        for obj in scene.objects:
            column, row = (min(GRID - 1, int(coordinate // cell)) for coordinate in obj.center)
            labels[index, row * GRID + column] = COLORS.index(obj.color)
    with torch.no_grad():
        objects = module.model.objects(images)  # (N, 25, channels + 2 coordinates)
    cnn = objects[..., :-2].reshape(-1, objects.shape[-1] - 2)
    pixels = F.avg_pool2d(images, int(cell)).permute(0, 2, 3, 1).reshape(-1, 3)
    chance = 1 / len(COLORS)
    print(f"colour of the object in a cell, held-out accuracy on object cells (chance {chance:.3f}):")
    print(f"  from the model's CNN features: {probe_accuracy(cnn, labels.reshape(-1)):.3f}")
    print(f"  from the cell's mean pixel colour: {probe_accuracy(pixels, labels.reshape(-1)):.3f}")


if __name__ == "__main__":
    main()
