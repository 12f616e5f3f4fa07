"""``relnet bench rn``: relnet's Relation Network against the naive pair-materialising one.

The naive path is what the public implementations do (reference/peers.md §5): build every
``[o_i; o_j; q]`` pair in fp32, run ``g`` on the ``(B, n², 2d + q)`` tensor, sum. relnet's path splits
``g``'s first layer (no pair inputs), runs under bf16 autocast and, for large object counts, chunks
the pair grid under a memory budget with recomputation in backward. Both use the *same module and
parameters* (:func:`relnet.nn.relation_network_reference` vs ``forward``) on the same random inputs.
relnet's path is also timed through ``torch.compile`` (what ``--compile`` does in training: CUDA
graphs, ``mode="reduce-overhead"``, on a GPU, where small RNs are bound by kernel launches; inductor's
default mode on a CPU), and each row names the faster of the two, so that the choice is a measurement.

Each (configuration, path) is measured in a fresh child process so that its peak memory is its own:
on CPU the peak resident set size above the process's size after building the model and inputs, on
CUDA ``torch.cuda.max_memory_allocated``. Times are medians over repeated steps after warm-up. The
matrix-multiply peak (fp32 and bf16) is measured in the same run on the same device, so the achieved
FLOP/s can be read as a fraction of what the hardware does on one large matmul.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from relnet.bench import Note
from relnet.runtime import auto_precision, device_description


@dataclass(frozen=True)
class RNShape:
    """One benchmark configuration: the RN's sizes and the batch it sees."""

    name: str
    batch: int
    objects: int
    object_dim: int
    condition_dim: int
    output_dim: int
    g_widths: tuple[int, ...] = (256, 256, 256, 256)
    f_widths: tuple[int, ...] = (256, 256)
    memory_budget_mb: float | None = None  # relnet's pair-chunking budget (None: no chunking)

    def fast_flops(self) -> float:
        """Multiply-add FLOPs of one forward pass with the split first layer."""
        b, n, d, q = self.batch, self.objects, self.object_dim, self.condition_dim
        first = self.g_widths[0]
        return 2 * b * n * (2 * d) * first + 2 * b * q * first + self._rest_flops()  # per-object terms, per-sample q

    def naive_flops(self) -> float:
        """Multiply-add FLOPs of one forward pass on materialised pairs."""
        b, n, d, q = self.batch, self.objects, self.object_dim, self.condition_dim
        return 2 * b * n * n * (2 * d + q) * self.g_widths[0] + self._rest_flops()

    def naive_activation_bytes(self) -> float:
        """fp32 bytes the naive path keeps for backward: the pair tensor plus every g layer's output
        and ReLU mask (what autograd saves); a lower bound on its peak."""
        b, n, d, q = self.batch, self.objects, self.object_dim, self.condition_dim
        pairs = b * n * n
        saved = pairs * (2 * d + q) * 4  # the concatenated pairs (input of the first linear)
        saved += sum(pairs * width * (4 + 4) for width in self.g_widths)  # linear output + relu output
        return float(saved)

    def _rest_flops(self) -> float:
        """Multiply-add FLOPs after g's first layer: g's other layers on every pair, then f."""
        pairs = self.batch * self.objects**2
        rest = sum(2 * pairs * a * c for a, c in itertools.pairwise(self.g_widths))
        widths = [self.g_widths[-1], *self.f_widths, self.output_dim]
        return rest + sum(2 * self.batch * a * c for a, c in itertools.pairwise(widths))


CONFIGS: tuple[RNShape, ...] = (
    # Sort-of-CLEVR: a 5×5 CNN map of 256 channels + 2 coordinates, the 11-bit question.
    RNShape("sort-of-clevr", batch=64, objects=25, object_dim=258, condition_dim=11, output_dim=12),
    # CLEVR from pixels: 8×8 cells of 24 channels + 2 coordinates, a 128-unit question LSTM, 28 answers.
    RNShape("clevr", batch=64, objects=64, object_dim=26, condition_dim=128, output_dim=28),
    # bAbI: 20 sentences (32-unit LSTM + 20-way relative position), a 32-unit question, 68 answer words.
    RNShape("babi", batch=64, objects=20, object_dim=52, condition_dim=32, output_dim=68, f_widths=(256, 512)),
    # A large set: 1,024 objects, one sample, pairs chunked under a 1 GB budget.
    RNShape("large", batch=1, objects=1024, object_dim=26, condition_dim=128, output_dim=28, memory_budget_mb=1024),
)


# ---------------------------------------------------------------------------- child-process measurements
def bench_device() -> torch.device:
    """The device benchmarks run on: the GPU when there is one."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def median_seconds(function: Callable[[], Any], warmup: int, repeats: int) -> float:
    """Median wall seconds of ``function()`` over ``repeats`` runs after ``warmup`` uncounted ones (on
    CUDA, synchronised before and after each run)."""
    times = []
    for index in range(warmup + repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def fast_bf16() -> bool:
    """Whether relnet's path runs in bf16 here: only where bf16 matmuls are hardware-fast (on an
    AVX2-only CPU they are emulated and many times slower than fp32, so the fast path stays fp32)."""
    return auto_precision() == "bf16-mixed"


def _rss_bytes() -> int:
    """Current resident set size of this process (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux: from /proc, in bytes)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


PATHS = ("naive", "fast", "compiled")


def compile_mode(device: torch.device) -> str:
    """``torch.compile``'s mode for relnet's compiled path: CUDA graphs on a GPU (one launch for the
    whole step's kernels), inductor's default on a CPU."""
    return "reduce-overhead" if device.type == "cuda" else "default"


def build_paths(shape: RNShape, path: str, device: torch.device) -> tuple[Callable[[], None], Callable[[], None]]:
    """A training step (forward, backward, Adam) and an inference pass of one path (``"naive"``,
    ``"fast"`` or ``"compiled"``: the fast path through ``torch.compile``) on a freshly built RN of
    ``shape`` and random inputs, seeded (the same parameters and inputs for every path)."""
    from relnet.nn import RelationNetwork, relation_network_reference

    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; known: {', '.join(PATHS)}")
    torch.manual_seed(0)
    model = RelationNetwork(
        shape.object_dim,
        shape.output_dim,
        condition_dim=shape.condition_dim,
        g_widths=shape.g_widths,
        f_widths=shape.f_widths,
        pair_memory_budget_mb=shape.memory_budget_mb if path != "naive" else None,
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    objects = torch.randn(shape.batch, shape.objects, shape.object_dim, device=device)
    condition = torch.randn(shape.batch, shape.condition_dim, device=device)
    answers = torch.randint(0, shape.output_dim, (shape.batch,), device=device)
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    if path == "naive":
        forward = functools.partial(relation_network_reference, model)
    elif path == "compiled":
        forward = torch.compile(model.forward, mode=compile_mode(device))
    else:
        forward = model.forward
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=path != "naive" and fast_bf16())

    def train_step() -> None:
        with autocast:
            logits = forward(objects, condition)
        loss = torch.nn.functional.cross_entropy(logits.float(), answers)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def infer() -> None:
        with torch.inference_mode(), autocast:
            forward(objects, condition)

    return train_step, infer


def _measure(shape_fields: dict[str, Any], path: str, steps: int, threads: int) -> dict[str, float]:
    """Time a training step and an inference pass of one path; runs in a fresh child process."""
    from relnet.runtime import keep_freed_memory

    keep_freed_memory()
    torch.set_num_threads(threads)
    device = bench_device()
    train_step, infer = build_paths(RNShape(**shape_fields), path, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_bytes()
    # A compiled path compiles on its first calls (and records its CUDA graph on the next): one more warm-up.
    warmup = 3 if path == "compiled" else 2
    results = {
        f"{name}_ms": 1000 * median_seconds(run, warmup, steps)
        for name, run in (("step", train_step), ("infer", infer))
    }
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else _peak_rss_bytes()
    results["peak_mb"] = (peak - base) / 2**20
    return results


def _matmul_peak(dtype: torch.dtype, threads: int, size: int = 2048, repeats: int = 5) -> float:
    """TFLOP/s of one ``size × size`` matrix multiply in ``dtype`` (median of ``repeats``)."""
    torch.set_num_threads(threads)
    device = bench_device()
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    return 2 * size**3 / median_seconds(lambda: a @ b, 2, repeats) / 1e12


def matmul_peaks(threads: int) -> dict[str, float]:
    """TFLOP/s of one large matmul in fp32 and in bf16 on this device, each in a fresh process."""
    # Emulated bf16 (no hardware support) is so slow that a smaller matrix gives the same rate sooner.
    return {
        "fp32": in_child(_matmul_peak, torch.float32, threads, 2048),
        "bf16": in_child(_matmul_peak, torch.bfloat16, threads, 2048 if fast_bf16() else 512),
    }


def in_child(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function(*args)`` in a fresh spawned process (its own peak memory) and return its result."""
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(function, args)


# ---------------------------------------------------------------------------- the benchmark
def bench_rn(
    *, quick: bool = False, note: Note = print, configs: Sequence[RNShape] = CONFIGS, steps: int | None = None
) -> dict[str, Any]:
    """Measure every configuration's naive and fast paths; returns the ``relnet bench rn --json`` payload."""
    threads = torch.get_num_threads()
    steps = steps if steps is not None else (3 if quick else 10)
    precision = "bf16 autocast" if fast_bf16() else "fp32 (no fast bf16 on this hardware)"
    note(f"bench rn on {device_description()}, {threads} threads, median of {steps} steps after 2 warm-up steps")
    note(f"relnet's path runs in {precision}; the naive path in fp32")
    peaks = matmul_peaks(threads)
    rows = []
    for shape in configs:
        row: dict[str, Any] = {"name": shape.name, **asdict(shape)}
        naive_bytes = shape.naive_activation_bytes()
        # The naive path at 1,024 objects needs many GB and minutes per step: computed, not run.
        run_naive = naive_bytes < 4 * 2**30
        for path in PATHS:
            if path == "naive" and not run_naive:
                row["naive_step_ms"] = None
                row["naive_infer_ms"] = None
                row["naive_peak_mb"] = naive_bytes / 2**20
                row["naive_measured"] = False
                continue
            if path == "compiled" and shape.memory_budget_mb is not None:
                # Chunked pairs recompute in backward (activation checkpointing): left eager.
                row |= {"compiled_step_ms": None, "compiled_infer_ms": None, "compiled_peak_mb": None}
                continue
            note(f"  {shape.name}: {path} path ...")
            measured = in_child(_measure, asdict(shape), path, steps, threads)
            row |= {f"{path}_{key}": value for key, value in measured.items()}
        row["naive_measured"] = run_naive
        row |= choose_relnet_path(row)
        if run_naive:
            row["step_speedup"] = row["naive_step_ms"] / row["fast_step_ms"]
            row["infer_speedup"] = row["naive_infer_ms"] / row["fast_infer_ms"]
            row["best_step_speedup"] = row["naive_step_ms"] / row["best_step_ms"]
        row["memory_ratio"] = row["naive_peak_mb"] / max(row["fast_peak_mb"], 1e-3)
        # Training step ≈ 3 forward passes of multiply-adds (forward, and two products in backward).
        row["fast_tflops"] = 3 * shape.fast_flops() / (row["fast_step_ms"] / 1000) / 1e12
        if run_naive:
            row["naive_tflops"] = 3 * shape.naive_flops() / (row["naive_step_ms"] / 1000) / 1e12
        row["matmul_peak_fp32_tflops"] = peaks["fp32"]
        row["matmul_peak_bf16_tflops"] = peaks["bf16"]
        row["fast_fraction_of_peak"] = row["fast_tflops"] / peaks["bf16" if fast_bf16() else "fp32"]
        rows.append(row)
    return {
        "device": device_description(),
        "threads": threads,
        "steps": steps,
        "torch": torch.__version__,
        "fast_precision": "bf16-mixed" if fast_bf16() else "32-true",
        "compile_mode": compile_mode(bench_device()),
        "configs": rows,
        "text": f"relnet path: {precision}\n" + format_table(rows, peaks),
    }


def choose_relnet_path(row: dict[str, Any]) -> dict[str, Any]:
    """relnet's path for a measured row: the eager fast path or its compiled form, whichever trained
    faster (``best_path``, ``best_step_ms``). The pick is what a user gets with or without ``--compile``."""
    compiled = row.get("compiled_step_ms")
    if compiled is not None and compiled < row["fast_step_ms"]:
        return {"best_path": "compiled", "best_step_ms": compiled}
    return {"best_path": "eager", "best_step_ms": row["fast_step_ms"]}


def format_table(rows: Sequence[dict[str, Any]], peaks: dict[str, float]) -> str:
    def cell(value: float | None, pattern: str) -> str:
        return "—" if value is None else pattern.format(value)

    lines = [
        f"matmul peak: fp32 {peaks['fp32']:.2f} TFLOP/s, bf16 {peaks['bf16']:.2f} TFLOP/s",
        "| config | naive step ms | fast step ms | speed-up | compiled step ms | best (speed-up) | "
        "naive infer ms | fast infer ms | naive peak MB | fast peak MB | memory ratio | "
        "fast TFLOP/s (of the peak of its precision) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        estimated = "" if row["naive_measured"] else " (computed)"
        best = row["best_path"] + cell(row.get("best_step_speedup"), " ({:.1f}×)")
        lines.append(
            f"| {row['name']} | {cell(row['naive_step_ms'], '{:.1f}')} | {row['fast_step_ms']:.1f} | "
            f"{cell(row.get('step_speedup'), '{:.1f}×')} | {cell(row.get('compiled_step_ms'), '{:.1f}')} | "
            f"{best} | {cell(row['naive_infer_ms'], '{:.1f}')} | "
            f"{row['fast_infer_ms']:.1f} | {row['naive_peak_mb']:.0f}{estimated} | {row['fast_peak_mb']:.0f} | "
            f"{row['memory_ratio']:.1f}× | {row['fast_tflops']:.2f} ({100 * row['fast_fraction_of_peak']:.0f}%) |"
        )
    return "\n".join(lines)
