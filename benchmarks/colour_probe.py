"""Does a Sort-of-CLEVR pixel model's CNN still know colours? A linear probe on its object cells.

Each 5×5 cell of the CNN's feature map is labelled with the colour of the object whose centre lies in
it (or "none"). A linear classifier is fitted on the cells of 500 test images and scored on the
object cells of 100 others. The same probe on each cell's mean pixel colour is the reference: the
colour is plainly there in the pixels.

Usage: ``python benchmarks/colour_probe.py --weights results/sort-of-clevr/rn-15-epochs/rn.safetensors
[--data data/sort-of-clevr]``. ``--untrained 24,24,24,24`` probes a freshly initialised CNN of those
channel widths instead (three seeds), to see how much colour a CNN of that width keeps before training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from relnet.nn import ConvObjects
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


def probe_data(root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The first 600 test images ``(600, 3, H, W)`` in [0, 1] and each cell's label ``(600, 25)``: the
    colour index of the object whose centre lies in it, or ``len(COLORS)`` for none."""
    split = read_split(root, "test")
    images = torch.from_numpy(load_images(split, root)[:IMAGES]).permute(0, 3, 1, 2).float() / 255
    cell = split.image_size / GRID
    labels = torch.full((IMAGES, GRID * GRID), len(COLORS))
    for index, scene in enumerate(split.scenes[:IMAGES]):
        for obj in scene.objects:
            column, row = (min(GRID - 1, int(coordinate // cell)) for coordinate in obj.center)
            labels[index, row * GRID + column] = COLORS.index(obj.color)
    return images, labels


def channel_widths(text: str) -> tuple[int, ...]:
    """``"32,64,128,256"`` → ``(32, 64, 128, 256)``; anything else is an argparse error."""
    try:
        widths = tuple(int(width) for width in text.split(","))
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return widths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", type=Path, help="a pixel model's weights file")
    source.add_argument(
        "--untrained", type=channel_widths, help="channel widths of a freshly initialised CNN, e.g. 32,64,128,256"
    )
    parser.add_argument("--data", type=Path, default=Path("data/sort-of-clevr"))
    args = parser.parse_args()
    images, labels = probe_data(args.data)
    chance = 1 / len(COLORS)
    print(f"colour of the object in a cell, held-out accuracy on object cells (chance {chance:.3f}):")
    if args.weights:
        module = module_from_weights(args.weights, expect_task="sort-of-clevr").eval()
        print(f"  from the model's CNN features: {cnn_probe(module.model.objects, images, labels):.3f}")
    else:
        channels = args.untrained
        for seed in range(3):
            torch.manual_seed(seed)
            objects = ConvObjects(3, channels).train()  # batch statistics, as training first sees them
            accuracy = cnn_probe(objects, images, labels)
            print(f"  from an untrained CNN {','.join(map(str, channels))}, seed {seed}: {accuracy:.3f}")
    pixels = F.avg_pool2d(images, images.shape[-1] // GRID).permute(0, 2, 3, 1).reshape(-1, 3)
    print(f"  from the cell's mean pixel colour: {probe_accuracy(pixels, labels.reshape(-1)):.3f}")


def cnn_probe(objects: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The probe on ``objects(images)`` ``(N, 25, channels + 2 coordinates)``, coordinates left out."""
    with torch.no_grad():
        cells = objects(images)
    return probe_accuracy(cells[..., :-2].reshape(-1, cells.shape[-1] - 2), labels.reshape(-1))


if __name__ == "__main__":
    main()
