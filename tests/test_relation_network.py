"""RelationNetwork: the fast path equals the concatenating reference; invariances; masks; errors."""

from __future__ import annotations

import pytest
import torch

from relnet.nn import RelationNetwork, pad_objects, relation_network_reference

# fp32 on CPU: the two paths differ only in summation order.
TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}


def _network(**overrides) -> RelationNetwork:
    settings = {"condition_dim": 5, "g_widths": (16, 16, 12), "f_widths": (16,)} | overrides
    return RelationNetwork(6, 4, **settings)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("self_pairs", [True, False])
@pytest.mark.parametrize("chunk", [None, 1, 3])
@pytest.mark.parametrize("use_mask", [False, True])
def test_fast_path_equals_reference(reduction: str, self_pairs: bool, chunk: int | None, use_mask: bool) -> None:
    network = _network(reduction=reduction, self_pairs=self_pairs, pair_chunk_size=chunk)
    objects = torch.randn(3, 7, 6, requires_grad=True)
    condition = torch.randn(3, 5)
    mask = torch.rand(3, 7) > 0.3 if use_mask else None
    fast = network(objects, condition, mask)
    reference = relation_network_reference(network, objects, condition, mask)
    torch.testing.assert_close(fast, reference, **TOLERANCE)
    (fast_grad,) = torch.autograd.grad(fast.square().sum(), objects)
    (reference_grad,) = torch.autograd.grad(reference.square().sum(), objects)
    torch.testing.assert_close(fast_grad, reference_grad, **TOLERANCE)


def test_parameter_gradients_match_reference_with_chunking() -> None:
    network = _network(pair_chunk_size=2)
    objects, condition = torch.randn(2, 5, 6), torch.randn(2, 5)
    fast = torch.autograd.grad(network(objects, condition).sum(), list(network.parameters()))
    reference = torch.autograd.grad(
        relation_network_reference(network, objects, condition).sum(), list(network.parameters())
    )
    for got, expected in zip(fast, reference, strict=True):
        torch.testing.assert_close(got, expected, **TOLERANCE)


def test_without_condition() -> None:
    network = _network(condition_dim=0)
    objects = torch.randn(2, 4, 6)
    torch.testing.assert_close(network(objects), relation_network_reference(network, objects), **TOLERANCE)


def test_permutation_invariance() -> None:
    network = _network()
    objects, condition = torch.randn(4, 9, 6), torch.randn(4, 5)
    permutation = torch.randperm(9)
    torch.testing.assert_close(network(objects, condition), network(objects[:, permutation], condition), **TOLERANCE)


def test_padded_objects_contribute_nothing() -> None:
    network = _network()
    sets = [torch.randn(3, 6), torch.randn(5, 6)]
    condition = torch.randn(2, 5)
    padded, mask = pad_objects(sets)
    alone = torch.cat([network(s[None], condition[k : k + 1]) for k, s in enumerate(sets)])
    torch.testing.assert_close(network(padded, condition, mask), alone, **TOLERANCE)
    # Whatever sits in the padding is ignored.
    garbage = padded.clone()
    garbage[~mask] = float("nan")
    garbage.requires_grad_(True)
    output = network(garbage, condition, mask)
    torch.testing.assert_close(output, alone, **TOLERANCE)
    (gradient,) = torch.autograd.grad(output.sum(), garbage)
    assert torch.isfinite(gradient).all()
    assert (gradient[~mask] == 0).all()


def test_pair_outputs_sum_to_pair_sum() -> None:
    network = _network(pair_chunk_size=2)
    objects, condition = torch.randn(2, 5, 6), torch.randn(2, 5)
    mask = torch.tensor([[True] * 5, [True, True, False, True, False]])
    per_pair = network.pair_outputs(objects, condition, mask)
    assert per_pair.shape == (2, 5, 5, network.relation_dim)
    torch.testing.assert_close(per_pair.sum(dim=(1, 2)), network.pair_sum(objects, condition, mask), **TOLERANCE)


@pytest.mark.parametrize("settings", [{}, {"pair_chunk_size": 3, "reduction": "mean"}])
def test_bf16_autocast_close_to_fp32(settings: dict) -> None:
    network = _network(**settings)
    objects, condition = torch.randn(4, 8, 6), torch.randn(4, 5)
    expected = network(objects, condition)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = network(objects, condition).float()
    torch.testing.assert_close(got, expected, atol=0.05 * expected.abs().max().item(), rtol=0.05)


@pytest.mark.parametrize(
    ("objects", "condition", "mask", "message"),
    [
        (torch.randn(2, 4), torch.randn(2, 5), None, "objects must have shape"),
        (torch.randn(2, 4, 3), torch.randn(2, 5), None, "objects must have shape"),
        (torch.randn(2, 0, 6), torch.randn(2, 5), None, "n_objects >= 1"),
        (torch.randn(2, 4, 6), None, None, "expects a condition"),
        (torch.randn(2, 4, 6), torch.randn(3, 5), None, "condition must have shape"),
        (torch.randn(2, 4, 6), torch.randn(2, 5), torch.ones(2, 4), "mask must be a bool tensor"),
        (torch.randn(2, 4, 6), torch.randn(2, 5), torch.ones(2, 3, dtype=torch.bool), "mask must be a bool tensor"),
    ],
)
def test_bad_inputs_are_explained(objects, condition, mask, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _network()(objects, condition, mask)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="reduction"):
        RelationNetwork(4, 2, reduction="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pair_chunk_size"):
        RelationNetwork(4, 2, pair_chunk_size=0)
    with pytest.raises(ValueError, match="g needs"):
        RelationNetwork(4, 2, g_widths=())


def test_tiny_rn_learns_a_relational_task() -> None:
    """Are any two of 3 objects the same colour? A pairwise question no single object answers."""
    generator = torch.Generator().manual_seed(0)

    def sample(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, 6, (count, 3), generator=generator)
        objects = torch.nn.functional.one_hot(labels, 6).float()
        duplicate = (labels[:, :, None] == labels[:, None, :]).sum(dim=(1, 2)) > 3
        return objects, duplicate.long()

    network = RelationNetwork(6, 2, g_widths=(32, 32), f_widths=(32,), self_pairs=False)
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    for _ in range(400):
        objects, target = sample(64)
        loss = torch.nn.functional.cross_entropy(network(objects), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    objects, target = sample(2000)
    with torch.no_grad():
        accuracy = (network(objects).argmax(-1) == target).float().mean().item()
    majority = max(target.float().mean().item(), 1 - target.float().mean().item())
    assert majority < 0.6
    assert accuracy > 0.97


def test_memory_budget_picks_a_chunk_and_keeps_the_result() -> None:
    # 16 bytes per pair-layer-row budget unit: a tiny budget forces one row per chunk.
    network = _network(pair_memory_budget_mb=1e-4)
    objects, condition = torch.randn(2, 7, 6), torch.randn(2, 5)
    assert network.rows_per_chunk(2, 7, 4, memory_budget_mb=network.pair_memory_budget_mb) == 1
    assert network.rows_per_chunk(2, 7, 4, memory_budget_mb=1024) == 7
    assert network.rows_per_chunk(2, 7, 4, chunk_size=3) == 3
    torch.testing.assert_close(
        network(objects, condition), relation_network_reference(network, objects, condition), **TOLERANCE
    )
    with pytest.raises(ValueError, match="pair_memory_budget_mb"):
        _network(pair_memory_budget_mb=10, pair_chunk_size=2)


def test_bench_reference_switch_runs_the_textbook_path_with_the_same_parameters() -> None:
    from relnet.bench.rn_training import UseReferencePath

    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"relation": RelationNetwork(6, 3, condition_dim=2, g_widths=(8, 8), f_widths=(8,))})
    network = model["relation"]
    objects, condition = torch.randn(2, 5, 6), torch.randn(2, 2)
    fast = network(objects, condition)
    state = {name: value.clone() for name, value in network.state_dict().items()}
    UseReferencePath().on_fit_start(None, model)  # type: ignore[arg-type]
    reference = network(objects, condition)
    torch.testing.assert_close(reference, relation_network_reference(network, objects, condition), rtol=0, atol=0)
    torch.testing.assert_close(reference, fast, **TOLERANCE)
    assert network.state_dict().keys() == state.keys()
    assert not hasattr(network, "use_reference")
