"""Side-by-side: a Sort-of-CLEVR RN training step with glibc's default allocator behaviour and with
``relnet.runtime.keep_freed_memory`` (which must be set per process, so each variant runs in its own
child process). Usage: ``python benchmarks/rn_step_allocator.py [--g-width 256] [--steps 20]``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, statistics, sys, time
import torch
from relnet.runtime import keep_freed_memory
from relnet.tasks import get_task
if sys.argv[1] == "keep":
    keep_freed_memory()
width, steps = int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
task = get_task("sort-of-clevr")
model = task.build_model("rn", {"g_widths": (width,) * 4, "f_widths": (256, 256)})
optimizer = torch.optim.Adam(model.parameters(), 1e-4)
batch = {
    "image": torch.randint(0, 256, (64, 75, 75, 3), dtype=torch.uint8),
    "question": torch.nn.functional.one_hot(torch.randint(0, 11, (64,)), 11).float(),
    "answer": torch.randint(0, 12, (64,)),
}
times = []
for step in range(steps + 3):
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = task.loss(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step >= 3:
        times.append(time.perf_counter() - start)
print(json.dumps({"median_ms": 1000 * statistics.median(times)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--g-width", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    results = {}
    for variant in ("default", "keep"):
        completed = subprocess.run(
            [sys.executable, "-c", CHILD, variant, str(args.g_width), str(args.steps)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[variant] = json.loads(completed.stdout.strip().splitlines()[-1])["median_ms"]
    ratio = results["default"] / results["keep"]
    print(
        json.dumps(
            {
                "g_width": args.g_width,
                "default_ms": round(results["default"], 1),
                "keep_freed_memory_ms": round(results["keep"], 1),
                "speedup": round(ratio, 2),
                "when": time.strftime("%Y-%m-%d %H:%M"),
            }
        )
    )


if __name__ == "__main__":
    main()
