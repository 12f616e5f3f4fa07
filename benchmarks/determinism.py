"""Which settings change a seeded training's weights? Each run is a fresh process.

Trains the quick Sort-of-CLEVR pixel RN for a few steps (seed 0) in separate child processes and prints
a hash of the trained weights per setting: the thread count, ``PYTHONHASHSEED``, and busy-loop
processes running beside the training. Equal hashes mean bit-identical weights.

Usage: ``python benchmarks/determinism.py --data data/sort-of-clevr [--steps-fraction 0.004]``
(needs a generated dataset: ``relnet generate sort-of-clevr --out data/sort-of-clevr``).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path


def _busy_loop() -> None:
    while True:
        pass


def child(data: Path, threads: int, fraction: float) -> str:
    """Train in this process and return the weights' hash (first 16 hex digits)."""
    import torch

    from relnet.tasks.sort_of_clevr.recipes import RECIPES
    from relnet.training import train

    torch.set_num_threads(threads)
    config = replace(RECIPES["quick"]["rn"], epochs=1, train_fraction=fraction, warmup_steps=5)
    with tempfile.TemporaryDirectory() as run_dir:
        outcome = train("sort-of-clevr", "rn", data, config, run_dir=Path(run_dir), progress=False)
    digest = hashlib.sha256()
    for _, value in sorted(outcome.module.model.state_dict().items()):
        digest.update(value.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def run_child(data: Path, threads: int, fraction: float, hash_seed: str, busy: int) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    loops = [multiprocessing.Process(target=_busy_loop, daemon=True) for _ in range(busy)]
    for loop in loops:
        loop.start()
    try:
        command = [sys.executable, __file__, "--child", "--data", str(data), "--threads", str(threads)]
        command += ["--steps-fraction", str(fraction)]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    finally:
        for loop in loops:
            loop.terminate()
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/sort-of-clevr"))
    parser.add_argument("--steps-fraction", type=float, default=0.004, help="of one epoch (0.004: 12 steps)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(child(args.data, args.threads, args.steps_fraction))
        return
    settings = [
        ("2 threads, PYTHONHASHSEED=1", 2, "1", 0),
        ("2 threads, PYTHONHASHSEED=2", 2, "2", 0),
        ("2 threads, PYTHONHASHSEED=1, 2 busy loops beside", 2, "1", 2),
        ("1 thread,  PYTHONHASHSEED=1", 1, "1", 0),
    ]
    for name, threads, hash_seed, busy in settings:
        print(f"{name:<50} {run_child(args.data, threads, args.steps_fraction, hash_seed, busy)}", flush=True)


if __name__ == "__main__":
    main()
