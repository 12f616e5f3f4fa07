"""``relnet bench rn``: the naive, fast and compiled paths of one RN, and the faster relnet path named."""

from __future__ import annotations

import pytest
import torch

from relnet.bench.rn import PATHS, RNShape, bench_rn, build_paths, choose_relnet_path, compile_mode
from relnet.nn import RelationNetwork

TINY = RNShape(
    "tiny", batch=4, objects=6, object_dim=5, condition_dim=3, output_dim=7, g_widths=(16, 16), f_widths=(16,)
)


def test_the_compiled_rn_computes_what_the_eager_one_does() -> None:
    """What the bench times as ``compiled`` (and ``--compile`` trains) is the same function, gradients
    included; only the speed may differ."""
    torch.manual_seed(0)
    network = RelationNetwork(5, 7, condition_dim=3, g_widths=(16, 16), f_widths=(16,))
    objects, condition = torch.randn(4, 6, 5), torch.randn(4, 3)
    parameters = list(network.parameters())
    eager = network(objects, condition)
    eager_grads = torch.autograd.grad(eager.square().sum(), parameters)
    compiled_forward = torch.compile(network.forward, mode=compile_mode(torch.device("cpu")))
    compiled = compiled_forward(objects, condition)
    compiled_grads = torch.autograd.grad(compiled.square().sum(), parameters)
    torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-5)
    for got, expected in zip(compiled_grads, eager_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("fast", "compiled", "best"),
    [(10.0, 6.0, ("compiled", 6.0)), (5.0, 6.0, ("eager", 5.0)), (5.0, None, ("eager", 5.0))],
)
def test_relnets_path_is_the_faster_of_eager_and_compiled(
    fast: float, compiled: float | None, best: tuple[str, float]
) -> None:
    chosen = choose_relnet_path({"fast_step_ms": fast, "compiled_step_ms": compiled})
    assert (chosen["best_path"], chosen["best_step_ms"]) == best


def test_an_unknown_path_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown path 'fused'"):
        build_paths(TINY, "fused", torch.device("cpu"))


def test_the_bench_times_every_path_and_names_the_best() -> None:
    payload = bench_rn(configs=[TINY], steps=1, note=lambda _: None)
    (row,) = payload["configs"]
    for path in PATHS:
        assert row[f"{path}_step_ms"] > 0 and row[f"{path}_infer_ms"] > 0
    assert row["best_path"] in ("eager", "compiled")
    assert row["best_step_ms"] == min(row["fast_step_ms"], row["compiled_step_ms"])
    assert row["best_step_speedup"] == pytest.approx(row["naive_step_ms"] / row["best_step_ms"])
    assert payload["compile_mode"] == "default"
    assert "| tiny |" in payload["text"] and "compiled step ms" in payload["text"]
