"""Side-by-side training-step times of Sort-of-CLEVR pixel models (this process's threads).

Compares the paper-shaped CNN+RN with the quick recipe's (4×24-channel CNN, narrow g) and shows what
encoding each image once per run of questions saves (``group_size``: questions per image in a batch).
Usage: ``python benchmarks/soc_step_times.py [--repeats 5] [--batch-size 64] [--bf16]`` (``--bf16``:
under CPU bf16 autocast, as training picks on hardware with fast bf16). Every configuration runs in turn in the
same process on the same kind of random batch; the median after one warm-up step is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from relnet.runtime import keep_freed_memory
from relnet.tasks.sort_of_clevr.models import PixelMLP, PixelRelationNetwork

PAPER_CNN = (32, 64, 128, 256)
QUICK_CNN = (24, 24, 24, 24)


def random_batch(questions_per_image: int, size: int = 64) -> dict[str, torch.Tensor]:
    image_index = torch.arange(size) // questions_per_image
    images = torch.randint(0, 256, (size, 75, 75, 3), dtype=torch.uint8)[image_index]
    return {
        "image": images,
        "image_index": image_index,
        "question": F.one_hot(torch.randint(0, 11, (size,)), 11).float(),
        "answer": torch.randint(0, 12, (size,)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="questions a step")
    parser.add_argument("--bf16", action="store_true", help="run under CPU bf16 autocast")
    args = parser.parse_args()
    keep_freed_memory()
    torch.manual_seed(0)
    configs = {
        "RN, paper CNN, g 4x128, 1 question/image": (PixelRelationNetwork(PAPER_CNN, g_widths=(128,) * 4), 1),
        "RN, paper CNN, g 4x128, 4 questions/image": (PixelRelationNetwork(PAPER_CNN, g_widths=(128,) * 4), 4),
        "RN, paper CNN, g 4x256, 4 questions/image": (PixelRelationNetwork(PAPER_CNN, g_widths=(256,) * 4), 4),
        "RN, quick CNN, g 4x128, 4 questions/image": (PixelRelationNetwork(QUICK_CNN, g_widths=(128,) * 4), 4),
        "RN, quick CNN, g 4x64, 4 questions/image (quick)": (PixelRelationNetwork(QUICK_CNN, g_widths=(64,) * 4), 4),
        "MLP, paper CNN, 1 question/image": (PixelMLP(channels=PAPER_CNN), 1),
        "MLP, paper CNN, 4 questions/image": (PixelMLP(channels=PAPER_CNN), 4),
        "MLP, quick CNN, 4 questions/image (quick)": (PixelMLP(channels=QUICK_CNN), 4),
    }
    optimizers = {name: torch.optim.Adam(model.parameters(), 1e-3) for name, (model, _) in configs.items()}
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.repeats + 1):
        for name, (model, per_image) in configs.items():
            batch = random_batch(per_image, args.batch_size)
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                loss = F.cross_entropy(model(batch).float(), batch["answer"])
            optimizers[name].zero_grad()
            loss.backward()
            optimizers[name].step()
            times[name].append(time.perf_counter() - start)
    precision = "bf16 autocast" if args.bf16 else "fp32"
    threads = torch.get_num_threads()
    print(f"training step, batch {args.batch_size}, {precision}, {threads} threads, median of {args.repeats}:")
    for name, values in times.items():
        print(f"  {name:<52} {1000 * statistics.median(values[1:]):7.1f} ms")


if __name__ == "__main__":
    main()
