"""How fast does a pixel RN's CNN lose colour while it trains? The colour probe along a training run.

Trains the full recipe's pixel model (CNN 32/64/128/256, g 4×64) on Sort-of-CLEVR with Adam, batches
of 16 images × 4 questions, and prints the linear colour probe of ``colour_probe.py`` on its CNN cells
every ``--every`` steps, with the mean training loss since the last print. ``--cnn-lr-scale`` trains
the CNN at a fraction of the learning rate, to see whether a slower CNN keeps its colour longer.

Usage: ``python benchmarks/colour_erosion.py [--steps 2000] [--every 500] [--lr 5e-4]
[--cnn-lr-scale 1.0] [--data data/sort-of-clevr]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from colour_probe import cnn_probe, probe_data

from relnet.tasks.sort_of_clevr.dataset import load_table
from relnet.tasks.sort_of_clevr.models import PixelRelationNetwork

IMAGES_PER_BATCH, QUESTIONS_PER_IMAGE, WARMUP = 16, 4, 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--cnn-lr-scale", type=float, default=1.0)
    parser.add_argument("--data", type=Path, default=Path("data/sort-of-clevr"))
    args = parser.parse_args()
    images, labels = probe_data(args.data)
    table = load_table(args.data, "train")
    questions_per_image = len(table) // int(table.columns["image_index"].max() + 1)
    torch.manual_seed(0)
    model = PixelRelationNetwork(channels=(32, 64, 128, 256), g_widths=(64,) * 4).train()
    cnn = list(model.objects.parameters())
    rest = [parameter for name, parameter in model.named_parameters() if not name.startswith("objects.")]
    peaks = (args.lr * args.cnn_lr_scale, args.lr)
    optimizer = torch.optim.Adam([{"params": cnn, "lr": peaks[0]}, {"params": rest, "lr": peaks[1]}])
    batches = torch.Generator().manual_seed(0)
    losses: list[float] = []
    start = time.perf_counter()

    def report(step: int) -> None:
        model.eval()
        accuracy = cnn_probe(model.objects, images, labels)
        model.train()
        loss = f"{sum(losses) / len(losses):.3f}" if losses else "-"
        print(f"step {step:5d}  colour probe {accuracy:.3f}  train loss {loss}  {time.perf_counter() - start:.0f} s")
        losses.clear()

    for step in range(args.steps):
        if step % args.every == 0:
            report(step)
        scenes = torch.randint(0, len(table) // questions_per_image, (IMAGES_PER_BATCH,), generator=batches)
        asked = torch.randint(0, questions_per_image, (IMAGES_PER_BATCH, QUESTIONS_PER_IMAGE), generator=batches)
        batch = table.__getitems__((scenes[:, None] * questions_per_image + asked).reshape(-1).tolist())
        for group, peak in zip(optimizer.param_groups, peaks, strict=True):
            group["lr"] = peak * min(1.0, (step + 1) / WARMUP)
        loss = F.cross_entropy(model(batch), batch["answer"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    report(args.steps)


if __name__ == "__main__":
    main()
