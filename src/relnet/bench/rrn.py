"""``relnet bench rrn``: training throughput of relnet's RRN against the plain per-edge implementation.

Both paths are the *same* Sudoku RRN (the paper's sizes: embeddings 16, hidden 96, 3-layer MLPs,
LSTM, 1,620 edges) with the same parameters and inputs, timed one after the other in this process:

- **plain** (:meth:`RecurrentRelationalNetwork.reference_forward`, what the public ports do): gather
  ``[h_i; h_j]`` per edge, run the whole message MLP on ``B·1620`` rows, sum into the receivers;
- **relnet** (``forward``): the first message layer split into per-node projections added per edge,
  and the sum over incoming edges taken before the last (linear) layer, which then runs per node.

A training step is forward at every RRN step, the loss at every step, backward and an Adam update.
Times are medians after a warm-up step. On CUDA both fp32 and bf16 autocast are timed; on a CPU,
fp32 only (bf16 matmuls are slow on CPUs without AMX).
"""

from __future__ import annotations

from typing import Any

import torch

from relnet.bench import Note
from relnet.bench.rn import median_seconds
from relnet.runtime import device_description
from relnet.tasks.sudoku.metrics import step_loss
from relnet.tasks.sudoku.models import SudokuRRN


def _time_training(
    model: SudokuRRN, batch: dict[str, torch.Tensor], plain: bool, dtype: torch.dtype | None, repeats: int
) -> tuple[float, float | None]:
    """Median seconds of one training step, and the peak CUDA memory in MiB (None on CPU)."""
    device = batch["quiz"].device
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    forward = model.reference_forward if plain else model.forward
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            logits = forward(batch)
        loss = step_loss(logits, batch["answer"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = median_seconds(step, 1, repeats)  # the first step warms up and is not counted
    memory = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return seconds, memory


def bench_rrn(*, quick: bool, note: Note = print) -> dict[str, Any]:
    """Puzzles per second in training, relnet vs plain, for each precision the device runs well."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if quick:
        batch_size, steps, repeats = 16, 4, 2
    elif device.type == "cuda":
        batch_size, steps, repeats = 64, 32, 5  # the paper's batch and training steps
    else:
        batch_size, steps, repeats = 32, 8, 2  # a paper-size step takes minutes on a CPU
    dtypes: list[torch.dtype | None] = [None, torch.bfloat16] if device.type == "cuda" else [None]
    generator = torch.Generator().manual_seed(0)
    batch = {
        "quiz": torch.randint(0, 10, (batch_size, 81), generator=generator).to(device),
        "answer": torch.randint(1, 10, (batch_size, 81), generator=generator).to(device),
    }
    torch.manual_seed(0)
    model = SudokuRRN(steps=steps).to(device).train()
    with torch.no_grad():  # the two paths compute the same function
        difference = (model(batch) - model.reference_forward(batch)).abs().max().item()
    rows = []
    for dtype in dtypes:
        precision = "fp32" if dtype is None else "bf16"
        for plain in (True, False):
            name = "plain" if plain else "relnet"
            note(f"timing {name} RRN training, {precision}, batch {batch_size}, {steps} steps ...")
            seconds, memory = _time_training(model, batch, plain, dtype, repeats)
            rows.append(
                {
                    "implementation": name,
                    "precision": precision,
                    "step_seconds": round(seconds, 4),
                    "puzzles_per_second": round(batch_size / seconds, 2),
                    "peak_memory_mib": None if memory is None else round(memory, 1),
                }
            )
    for row in rows:
        plain_row = next(r for r in rows if r["precision"] == row["precision"] and r["implementation"] == "plain")
        row["speedup"] = round(plain_row["step_seconds"] / row["step_seconds"], 2)
    hardware = device_description()
    threads = torch.get_num_threads()
    header = (
        f"RRN training throughput on {hardware}, {threads} torch thread(s): Sudoku, paper sizes "
        f"(hidden 96, 3-layer MLPs, 1,620 edges), batch {batch_size}, {steps} steps per puzzle; "
        f"max |relnet - plain| output difference {difference:.1e}"
    )
    lines = [header, "", "| implementation | precision | step (s) | puzzles/s | speed-up | peak memory (MiB) |"]
    lines.append("|---|---|---|---|---|---|")
    for row in rows:
        memory = "–" if row["peak_memory_mib"] is None else f"{row['peak_memory_mib']:.0f}"
        lines.append(
            f"| {row['implementation']} | {row['precision']} | {row['step_seconds']:.3f} | "
            f"{row['puzzles_per_second']:.1f} | {row['speedup']:.2f}× | {memory} |"
        )
    return {
        "benchmark": "rrn",
        "device": hardware,
        "threads": threads,
        "batch": batch_size,
        "steps": steps,
        "max_output_difference": difference,
        "rows": rows,
        "text": "\n".join(lines),
    }
