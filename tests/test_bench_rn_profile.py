"""``relnet bench rn-profile``: operators sorted into kinds of work, per-step times, the ceiling it prints."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from relnet.bench import bench_names
from relnet.bench.rn import RNShape
from relnet.bench.rn_profile import KINDS, OTHER, _profile, format_profile, kind_of

TINY = RNShape(
    "tiny", batch=4, objects=6, object_dim=5, condition_dim=3, output_dim=7, g_widths=(16, 16), f_widths=(16,)
)


@pytest.mark.parametrize(
    ("operator", "kind"),
    [
        ("aten::mm", "matmul"),
        ("aten::addmm", "matmul"),
        ("aten::clamp_min", "relu"),
        ("aten::threshold_backward", "relu"),
        ("autograd::engine::evaluate_function: ReluBackward0", "relu"),
        ("aten::add", "pair grid"),
        ("aten::cat", "pair grid"),
        ("aten::sum", "pair grid"),
        ("aten::_to_copy", "casts"),
        ("aten::copy_", "casts"),
        ("Optimizer.step#Adam.step", "optimizer"),
        ("aten::_foreach_addcdiv_", "optimizer"),
        ("aten::add_", OTHER),  # in-place gradient accumulation, not the pair grid's broadcast add
        ("aten::view", OTHER),
    ],
)
def test_operators_fall_into_their_kind(operator: str, kind: str) -> None:
    assert kind_of(operator) == kind


@pytest.mark.parametrize("path", ["naive", "fast"])
def test_a_profiled_step_has_every_kind_and_spends_most_in_named_ones(path: str) -> None:
    per_step = _profile(asdict(TINY), path, steps=2, threads=1)
    assert list(per_step) == [*(kind for kind, _, _ in KINDS), OTHER]
    assert all(value >= 0 for value in per_step.values())
    assert per_step["matmul"] > 0 and per_step["relu"] > 0 and per_step["optimizer"] > 0


def test_the_text_names_the_largest_kind_speedup_as_the_ceiling() -> None:
    kinds = {"matmul": 10.0, "relu": 4.0, "pair grid": 2.0, "casts": 0.0, "optimizer": 1.0, "other": 1.0}
    fast = {"matmul": 2.0, "relu": 2.0, "pair grid": 1.0, "casts": 1.0, "optimizer": 1.0, "other": 1.0}
    payload = {
        "ms_per_step": {"naive": kinds, "fast": fast},
        "step_ms": {"naive": 18.0, "fast": 8.0},
        "step_speedup": 18.0 / 8.0,
        "kind_speedups": {kind: kinds[kind] / fast[kind] for kind in fast},
        "matmul_peak_tflops": {"fp32": 1.0, "bf16": 2.0},
        "matmul_tflops": {"naive": 0.5, "fast": 1.0},
        "fast_precision": "bf16",
        "fast_step_ms_with_matmuls_at_peak": 7.0,
        "speedup_with_matmuls_at_peak": 18.0 / 7.0,
        "matmul_speedup_at_peaks": 3.0,
    }
    text = format_profile(payload)
    assert "| matmul | 10.0 | 56% | 2.0 | 25% | 5.0× |" in text
    assert "| step | 18.0 | | 8.0 | | 2.2× |" in text
    assert "at most the largest (matmul: 5.0×)" in text
    assert "7.0 ms a step, 2.6× the naive step" in text
    assert "if both paths ran at their peaks: 3.0×" in text


def test_it_is_registered() -> None:
    assert "rn-profile" in bench_names()
