"""``relnet bench rrn``: training throughput of relnet's RRN against the plain per-edge implementation.

Both paths are the *same* Sudoku RRN (the paper's sizes: embeddings 16, hidden 96, 3-layer MLPs,
LSTM, 1,620 edges) with the same parameters and inputs, timed one after the other in this process:

- **plain** (:meth:`RecurrentRelationalNetwork.reference_forward`, what the public ports do): gather
  ``[h_i; h_j]`` per edge, run the whole message MLP on ``B·1620`` rows, sum into the receivers;
- **relnet** (``forward``): the first message layer split into per-node projections added per edge,
  and the sum over incoming edges taken before the last (linear) layer, which then runs per node;
- **relnet, compiled**: the same forward through ``torch.compile`` (``mode="reduce-overhead"`` on
  CUDA, which replays the unrolled steps' kernels as one CUDA graph; the default mode on a CPU), what
  ``--compile`` does in training. The eager forward stays the reference: the bench reports how far
  the compiled outputs are from it.

A training step is forward at every RRN step, the loss at every step, backward and an Adam update.
Times are medians after a warm-up step. On CUDA both fp32 and bf16 autocast are timed; on a CPU,
fp32 only (bf16 matmuls are slow on CPUs without AMX).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from relnet.bench import Note
from relnet.bench.rn import compile_mode, median_seconds
from relnet.runtime import device_description
from relnet.tasks.sudoku.metrics import step_loss
from relnet.tasks.sudoku.models import SudokuRRN

Forward = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def _time_training(
    model: SudokuRRN,
    batch: dict[str, torch.Tensor],
    forward: Forward,
    dtype: torch.dtype | None,
    repeats: int,
    warmup: int,
) -> tuple[float, float | None]:
    """Median seconds of one training step of ``model`` through ``forward`` after ``warmup`` uncounted
    ones, and the peak CUDA memory in MiB (None on CPU)."""
    device = batch["quiz"].device
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            logits = forward(batch)
        loss = step_loss(logits, batch["answer"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = median_seconds(step, warmup, repeats)
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
    mode = compile_mode(device)
    compiled = torch.compile(model.forward, mode=mode)
    with torch.no_grad():  # the three paths compute the same function
        eager = model(batch)
        difference = (eager - model.reference_forward(batch)).abs().max().item()
        compiled_difference = (eager - compiled(batch)).abs().max().item()
    paths = {"plain": model.reference_forward, "relnet": model.forward, "relnet, compiled": compiled}
    rows = []
    for dtype in dtypes:
        precision = "fp32" if dtype is None else "bf16"
        for name, forward in paths.items():
            note(f"timing {name} RRN training, {precision}, batch {batch_size}, {steps} steps ...")
            # Compiled: the first steps compile (once per precision) and record the CUDA graph.
            warmup = 3 if forward is compiled else 1
            seconds, memory = _time_training(model, batch, forward, dtype, repeats, warmup)
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
        f"max |relnet - plain| output difference {difference:.1e}, |compiled ({mode}) - relnet| "
        f"{compiled_difference:.1e}"
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
        "compile_mode": mode,
        "max_compiled_difference": compiled_difference,
        "rows": rows,
        "text": "\n".join(lines),
    }
