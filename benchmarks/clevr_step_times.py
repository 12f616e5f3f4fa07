"""Training-step time of every CLEVR model at a few widths and batch sizes (forward, backward, Adam).

Batches are synthetic but shaped like CLEVR's: 128×128 uint8 images shared by runs of ``group`` questions
(as ``TrainConfig.group_size`` makes them), questions of 10-40 tokens, 3-10 state objects. The numbers
size the CPU recipes in ``relnet.tasks.clevr.recipes``.

    OMP_NUM_THREADS=1 python benchmarks/clevr_step_times.py [--threads 1] [--steps 3] [--models rn,lstm] [--bf16]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
import torch.nn.functional as F

from relnet.tasks.clevr.dataset import MAX_OBJECTS, STATE_FEATURES
from relnet.tasks.clevr.models import MODELS, VOCAB_SIZE
from relnet.tasks.clevr.vocab import ANSWERS

# (model, label, constructor kwargs, batch size, questions per image in a batch)
CASES: list[tuple[str, str, dict[str, Any], int, int]] = [
    ("lstm", "paper-ish", {}, 64, 4),
    ("cnn-lstm", "paper CNN", {}, 64, 4),
    ("cnn-lstm-sa", "paper CNN", {}, 64, 4),
    ("rn-state", "g 4x128 f 256,256", {"g_widths": (128,) * 4, "f_widths": (256, 256), "question_dim": 128}, 64, 1),
    ("rn-state", "g 4x256 f 256,512", {"g_widths": (256,) * 4, "f_widths": (256, 512)}, 64, 1),
    ("rn-state", "g 4x256 f 256,512", {"g_widths": (256,) * 4, "f_widths": (256, 512)}, 128, 1),
    ("rn-state", "paper g 4x512", {}, 64, 1),
    ("rn", "5 conv (16 obj) g 4x64", {"channels": (24,) * 5, "g_widths": (64,) * 4}, 64, 4),
    ("rn", "5 conv (16 obj) g 4x128", {"channels": (24,) * 5, "g_widths": (128,) * 4}, 64, 4),
    ("rn", "4 conv (64 obj) g 4x32", {"g_widths": (32,) * 4}, 64, 4),
    ("rn", "4 conv (64 obj) g 4x64", {"g_widths": (64,) * 4}, 64, 4),
    ("rn", "paper g 4x256", {}, 32, 4),
    ("rn", "paper g 4x256", {}, 64, 5),
    ("rn", "full CPU: 5 conv 32-128 g 4x256", {"channels": (32, 64, 64, 128, 128)}, 64, 5),
    ("cnn-lstm-sa", "full CPU: 5 conv 32-128", {"channels": (32, 64, 64, 128, 128)}, 64, 5),
    ("cnn-lstm", "full CPU: 5 conv 32-128", {"channels": (32, 64, 64, 128, 128)}, 64, 5),
]


def synthetic_batch(batch_size: int, group: int, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """A CLEVR-shaped batch: ``batch_size`` questions about ``batch_size / group`` images."""
    generator = torch.Generator().manual_seed(seed)
    images = -(-batch_size // group)
    lengths = torch.randint(10, 41, (batch_size,), generator=generator)
    tokens = torch.randint(2, VOCAB_SIZE, (batch_size, 40), generator=generator)
    tokens = tokens.masked_fill(torch.arange(40)[None, :] >= lengths[:, None], 0)
    objects = torch.randint(3, MAX_OBJECTS + 1, (batch_size,), generator=generator)
    return {
        "question": tokens,
        "answer": torch.randint(0, len(ANSWERS), (batch_size,), generator=generator),
        "image_index": torch.arange(batch_size) // group,
        "image": torch.randint(0, 256, (images, 128, 128, 3), dtype=torch.uint8, generator=generator).repeat_interleave(
            group, dim=0
        )[:batch_size],
        "state": torch.randn(batch_size, MAX_OBJECTS, STATE_FEATURES, generator=generator),
        "state_mask": torch.arange(MAX_OBJECTS)[None, :] < objects[:, None],
    }


def step_seconds(
    model_name: str, config: dict[str, Any], batch_size: int, group: int, steps: int, bf16: bool = False
) -> tuple[int, float]:
    """Parameters of the model and the median seconds of one training step (after one warm-up step),
    the forward under bf16 autocast when ``bf16`` (as ``--precision auto`` trains on bf16-capable CPUs)."""
    model = MODELS[model_name](**config).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    batch = synthetic_batch(batch_size, group)
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(batch)
        F.cross_entropy(logits.float(), batch["answer"]).backward()
        optimizer.step()
        if step:  # the first step allocates and warms caches
            times.append(time.perf_counter() - start)
    return sum(p.numel() for p in model.parameters()), sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per case (median reported)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated model names")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (fast on AVX-512 BF16 / AMX CPUs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wanted = set(args.models.split(","))
    print(f"{'bf16' if args.bf16 else 'fp32'}, {args.threads} thread(s), torch {torch.__version__}")
    print(f"{'model':<12} {'config':<26} {'batch':>5} {'q/img':>5} {'params':>10} {'ms/step':>9} {'questions/s':>11}")
    for model_name, label, config, batch_size, group in CASES:
        if model_name not in wanted:
            continue
        params, seconds = step_seconds(model_name, config, batch_size, group, args.steps, args.bf16)
        print(
            f"{model_name:<12} {label:<26} {batch_size:>5} {group:>5} {params:>10,} "
            f"{seconds * 1000:>9.0f} {batch_size / seconds:>11.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
