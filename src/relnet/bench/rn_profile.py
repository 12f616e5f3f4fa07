"""``relnet bench rn-profile``: where a Relation Network training step spends its time, naive vs relnet.

``relnet bench rn`` says how much faster relnet's path is; this says why it is not faster still. Both
paths of :mod:`relnet.bench.rn` (same module, parameters and inputs) run a few training steps under
``torch.profiler``; every operator's self time is put into one of a few kinds of work (the matmuls,
the ReLUs, the pair grid's broadcast add / concatenation / sum, dtype casts, the optimizer, the rest),
per step and per path. The speed-up of a whole step is a weighted mean of the speed-ups of its kinds
of work, so it can never exceed the largest of them: that is the ceiling the profile shows, with
the matmuls' rate beside the hardware's measured matmul peak.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from relnet.bench import Note
from relnet.bench.rn import CONFIGS, RNShape, bench_device, build_paths, fast_bf16, in_child, matmul_peaks
from relnet.runtime import device_description

#: Kinds of work, each by operator names (exact) and name fragments (autograd nodes contain their
#: forward's name, e.g. ``autograd::engine::evaluate_function: ReluBackward0``). First match wins.
KINDS: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("matmul", frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_addmm_activation"}), ()),
    ("relu", frozenset({"aten::relu", "aten::relu_", "aten::clamp_min", "aten::threshold_backward"}), ("Relu",)),
    (
        "pair grid",  # building the pairs (broadcast add or concatenation) and summing over them
        frozenset({"aten::add", "aten::cat", "aten::sum", "aten::einsum", "aten::expand"}),
        ("AddBackward", "CatBackward", "SumBackward", "ExpandBackward"),
    ),
    ("casts", frozenset({"aten::copy_", "aten::_to_copy", "aten::to", "aten::clone", "aten::contiguous"}), ("ToCopy",)),
    ("optimizer", frozenset(), ("Optimizer.", "aten::_foreach", "aten::addcdiv_", "aten::addcmul_", "aten::lerp_")),
)
OTHER = "other"


def kind_of(operator: str) -> str:
    """The kind of work of a profiler event name (:data:`KINDS`), ``"other"`` if none matches."""
    for kind, names, fragments in KINDS:
        if operator in names or any(fragment in operator for fragment in fragments):
            return kind
    return OTHER


def _profile(shape_fields: dict[str, Any], path: str, steps: int, threads: int) -> dict[str, float]:
    """Milliseconds per training step of each kind of work, one path; runs in a fresh child process."""
    from torch.profiler import ProfilerActivity, profile

    from relnet.runtime import keep_freed_memory

    keep_freed_memory()
    torch.set_num_threads(threads)
    device = bench_device()
    train_step, _ = build_paths(RNShape(**shape_fields), path, device)
    for _ in range(2):  # warm-up: allocator, autocast weight casts, lazy initialisation
        train_step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as profiler:
        for _ in range(steps):
            train_step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    totals = dict.fromkeys([*(kind for kind, _, _ in KINDS), OTHER], 0.0)
    for event in profiler.key_averages():
        microseconds = event.self_device_time_total if device.type == "cuda" else event.self_cpu_time_total
        totals[kind_of(event.key)] += microseconds / 1000 / steps
    return totals


def bench_rn_profile(
    *, quick: bool = False, note: Note = print, shape: RNShape | None = None, steps: int | None = None
) -> dict[str, Any]:
    """Profile both paths at ``shape`` (default: CLEVR size); the ``relnet bench rn-profile --json`` payload."""
    shape = shape or next(config for config in CONFIGS if config.name == "clevr")
    threads = torch.get_num_threads()
    steps = steps if steps is not None else (1 if quick else 3)
    precision = "bf16" if fast_bf16() else "fp32"
    note(f"bench rn-profile on {device_description()}, {threads} threads, {shape.name} size, {steps} profiled steps")
    peaks = matmul_peaks(threads)
    kinds: dict[str, dict[str, float]] = {}
    for path in ("naive", "fast"):
        note(f"  {path} path ...")
        kinds[path] = in_child(_profile, asdict(shape), path, steps, threads)
    # Training step ≈ 3 forward passes of multiply-adds (forward, and two products in backward).
    flops = {"naive": 3 * shape.naive_flops(), "fast": 3 * shape.fast_flops()}
    matmul_rate = {path: flops[path] / (kinds[path]["matmul"] / 1000) / 1e12 for path in kinds}
    totals = {path: sum(kinds[path].values()) for path in kinds}
    ratios = {kind: kinds["naive"][kind] / kinds["fast"][kind] for kind in kinds["fast"] if kinds["fast"][kind] > 0}
    # The fast step with its matmuls at the measured peak and everything else as it is.
    at_peak = totals["fast"] - kinds["fast"]["matmul"] + flops["fast"] / (peaks[precision] * 1e12) * 1000
    payload = {
        "device": device_description(),
        "threads": threads,
        "torch": torch.__version__,
        "steps": steps,
        "shape": asdict(shape),
        "fast_precision": precision,
        "matmul_peak_tflops": peaks,
        "ms_per_step": kinds,
        "step_ms": totals,
        "step_speedup": totals["naive"] / totals["fast"],
        "kind_speedups": ratios,
        "matmul_tflops": matmul_rate,
        "fast_step_ms_with_matmuls_at_peak": at_peak,
        "speedup_with_matmuls_at_peak": totals["naive"] / at_peak,
        # Both paths' matmuls at their precision's peak: the FLOP ratio times the peaks' ratio.
        "matmul_speedup_at_peaks": flops["naive"] / flops["fast"] * peaks[precision] / peaks["fp32"],
    }
    payload["text"] = format_profile(payload)
    return payload


def format_profile(payload: dict[str, Any]) -> str:
    """The kinds-of-work table and the ceiling it implies."""
    kinds, totals, ratios = payload["ms_per_step"], payload["step_ms"], payload["kind_speedups"]
    peaks, rate, precision = payload["matmul_peak_tflops"], payload["matmul_tflops"], payload["fast_precision"]
    lines = [
        f"ms per training step by kind of work (relnet's path in {precision}, the naive path in fp32)",
        "| kind | naive ms | share | relnet ms | share | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for kind in kinds["fast"]:
        naive, fast = kinds["naive"][kind], kinds["fast"][kind]
        ratio = f"{ratios[kind]:.1f}×" if kind in ratios else "—"
        lines.append(
            f"| {kind} | {naive:.1f} | {100 * naive / totals['naive']:.0f}% | {fast:.1f} | "
            f"{100 * fast / totals['fast']:.0f}% | {ratio} |"
        )
    lines.append(f"| step | {totals['naive']:.1f} | | {totals['fast']:.1f} | | {payload['step_speedup']:.1f}× |")
    largest = max(ratios, key=ratios.get)
    lines += [
        f"matmuls: naive {rate['naive']:.2f} TFLOP/s (fp32 peak {peaks['fp32']:.2f}), relnet {rate['fast']:.2f} "
        f"TFLOP/s ({precision} peak {peaks[precision]:.2f})",
        f"Matmul speed-up if both paths ran at their peaks: {payload['matmul_speedup_at_peaks']:.1f}× "
        f"(the naive path's extra multiply-adds times the {precision}/fp32 peak ratio).",
        f"A step's speed-up is a weighted mean of its kinds' speed-ups, so at most the largest "
        f"({largest}: {ratios[largest]:.1f}×).",
        f"relnet's matmuls at the {precision} peak, the rest unchanged: "
        f"{payload['fast_step_ms_with_matmuls_at_peak']:.1f} ms a step, "
        f"{payload['speedup_with_matmuls_at_peak']:.1f}× the naive step.",
    ]
    return "\n".join(lines)
