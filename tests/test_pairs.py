"""The pair grid (relnet.nn.pairs): split first layer, masks, chunks with recomputation, counts, checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from relnet.nn import (
    MultiLayerRelationNetwork,
    PairwiseMLP,
    RelationNetwork,
    mlrn_reference,
    relation_network_reference,
)
from relnet.nn.pairs import build_g, check_pair_options, pair_mask, prepare_inputs, valid_count
from relnet.nn.reference import concatenated_pairs_g

DIM, COND = 5, 3


class Grid(PairwiseMLP):
    """The smallest PairwiseMLP: g's layers and nothing else."""

    def __init__(self, widths: tuple[int, ...] = (8, 7, 6), condition_dim: int = COND) -> None:
        super().__init__()
        self.first, self.rest = build_g(DIM, widths, condition_dim)
        self.out_dim = widths[-1]

    def g_layers(self) -> tuple[nn.Linear, nn.Module]:
        return self.first, self.rest


def _inputs(batch: int = 3, n: int = 6, *, condition: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    x = torch.randn(batch, n, DIM, dtype=torch.float64, requires_grad=True)
    return x, torch.randn(batch, COND, dtype=torch.float64) if condition else None


def _object_mask(batch: int = 3, n: int = 6) -> torch.Tensor:
    mask = torch.rand(batch, n) > 0.4
    mask[:, 0] = True
    mask[-1] = False  # a sample with a single object
    mask[-1, 2] = True
    return mask


def _loop_sums(grid: Grid, x: torch.Tensor, condition: torch.Tensor | None, pairs: torch.Tensor | None) -> torch.Tensor:
    """``Σ_j g([x_i; x_j; q])`` per row, written as loops over samples, rows and partners."""
    batch, n, _ = x.shape
    rows = []
    for b in range(batch):
        for i in range(n):
            total = torch.zeros(grid.out_dim, dtype=x.dtype)
            for j in range(n):
                if pairs is None or bool(pairs[b, i, j]):
                    parts = [x[b, i], x[b, j]] + ([] if condition is None else [condition[b]])
                    total = total + grid.rest(torch.relu(grid.first(torch.cat(parts))))
            rows.append(total)
    return torch.stack(rows).view(batch, n, -1)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("self_pairs", [True, False])
@pytest.mark.parametrize("with_condition", [True, False])
@pytest.mark.parametrize("chunk", [None, 1, 4])
def test_sums_equal_the_loops_and_the_concatenating_reference(
    masked: bool, self_pairs: bool, with_condition: bool, chunk: int | None
) -> None:
    torch.manual_seed(0)
    grid = Grid(condition_dim=COND if with_condition else 0).double()
    x, condition = _inputs(condition=with_condition)
    pairs = pair_mask(x, _object_mask() if masked else None, self_pairs=self_pairs)
    expected = _loop_sums(grid, x, condition, pairs)
    per_row = grid.sum_over_pairs(x, condition, pairs, per_row=True, chunk_size=chunk)
    total = grid.sum_over_pairs(x, condition, pairs, per_row=False, chunk_size=chunk)
    torch.testing.assert_close(per_row, expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(total, expected.sum(dim=1), rtol=1e-10, atol=1e-10)
    reference = concatenated_pairs_g(grid, x, condition, pairs)
    torch.testing.assert_close(reference.sum(dim=2), expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(grid.every_pair(x, condition, pairs), reference, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("per_row", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_chunked_values_and_gradients_equal_unchunked(per_row: bool, masked: bool) -> None:
    torch.manual_seed(1)
    grid = Grid().double()
    x, condition = _inputs(n=7)
    condition.requires_grad_(True)
    pairs = pair_mask(x, _object_mask(n=7) if masked else None, self_pairs=False)
    results = []
    for chunk in (None, 1, 3, 7, 50):
        output = grid.sum_over_pairs(x, condition, pairs, per_row=per_row, chunk_size=chunk)
        gradients = torch.autograd.grad(output.square().sum(), [x, condition, *grid.parameters()])
        results.append((output, gradients))
    for output, gradients in results[1:]:
        torch.testing.assert_close(output, results[0][0], rtol=1e-10, atol=1e-10)
        for got, expected in zip(gradients, results[0][1], strict=True):
            torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_memory_budget_sizes_the_chunks_and_keeps_the_result() -> None:
    grid = Grid(widths=(8, 8))  # 16 values per pair and layer, 3 buffers of 4 bytes each: 192 bytes a pair
    assert grid.rows_per_chunk(2, 10, 4) == 10
    assert grid.rows_per_chunk(2, 10, 4, chunk_size=3) == 3
    assert grid.rows_per_chunk(2, 10, 4, chunk_size=30) == 10
    row_bytes = 2 * 10 * 192
    assert grid.rows_per_chunk(2, 10, 4, memory_budget_mb=4 * row_bytes / 2**20) == 4
    assert grid.rows_per_chunk(2, 10, 2, memory_budget_mb=4 * row_bytes / 2**20) == 8  # bf16: twice the rows
    assert grid.rows_per_chunk(2, 10, 4, memory_budget_mb=1e-9) == 1  # never fewer than one row
    x, condition = torch.randn(2, 10, DIM), torch.randn(2, COND)
    budget = grid.sum_over_pairs(x, condition, None, per_row=True, memory_budget_mb=4 * row_bytes / 2**20)
    torch.testing.assert_close(budget, grid.sum_over_pairs(x, condition, None, per_row=True))


def test_total_is_accumulated_in_fp32_under_bf16_autocast() -> None:
    torch.manual_seed(2)
    grid = Grid()
    x, condition = torch.randn(2, 9, DIM), torch.randn(2, COND)
    expected = grid.sum_over_pairs(x, condition, None, per_row=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total = grid.sum_over_pairs(x, condition, None, per_row=False, chunk_size=2)
        rows = grid.sum_over_pairs(x, condition, None, per_row=True, chunk_size=2)
    assert total.dtype == torch.float32
    assert rows.dtype == torch.bfloat16
    torch.testing.assert_close(total, expected, atol=0.05 * expected.abs().max().item(), rtol=0.05)


def test_pair_mask_and_valid_counts() -> None:
    x = torch.zeros(2, 3, 1)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    assert pair_mask(x, None, self_pairs=True) is None
    pairs = pair_mask(x, mask, self_pairs=False)
    assert pairs is not None
    assert pairs.tolist() == [
        [[False, True, False], [True, False, False], [False, False, False]],
        [[False, False, False], [False, False, False], [False, False, False]],
    ]
    everything = pair_mask(x, None, self_pairs=False)
    assert everything is not None
    assert everything.sum().item() == 2 * 6
    assert valid_count(pairs, (1, 2), (2, 3, 3), x.device).tolist() == [2.0, 1.0]  # at least 1
    assert valid_count(pairs, (2,), (2, 3, 3), x.device).tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    assert valid_count(None, (1, 2), (2, 3, 3), x.device).tolist() == [9.0, 9.0]
    assert valid_count(None, (2,), (2, 3, 3), x.device).shape == (2, 3)
    assert valid_count(mask, (1,), (2, 3), x.device).tolist() == [2.0, 1.0]


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("self_pairs", [True, False])
def test_both_owners_equal_their_references(reduction: str, self_pairs: bool) -> None:
    torch.manual_seed(3)
    options = {"condition_dim": COND, "reduction": reduction, "self_pairs": self_pairs, "pair_chunk_size": 2}
    rn = RelationNetwork(DIM, 4, g_widths=(8, 6), f_widths=(8,), **options).double()
    mlrn = MultiLayerRelationNetwork(DIM, 4, layers=((8,), (6, 5)), f_widths=(8,), **options).double()
    x, condition = _inputs()
    mask = _object_mask()
    for module, reference in ((rn, relation_network_reference), (mlrn, mlrn_reference)):
        fast = module(x, condition, mask)
        expected = reference(module, x, condition, mask)
        torch.testing.assert_close(fast, expected, rtol=1e-10, atol=1e-10)
        got_grad = torch.autograd.grad(fast.sum(), [x, *module.parameters()])
        expected_grad = torch.autograd.grad(expected.sum(), [x, *module.parameters()])
        for got, want in zip(got_grad, expected_grad, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_mlrn_memory_budget_keeps_the_result() -> None:
    torch.manual_seed(4)
    mlrn = MultiLayerRelationNetwork(DIM, 4, condition_dim=COND, layers=((8,), (6,)), pair_memory_budget_mb=1e-4)
    x, condition = torch.randn(2, 7, DIM), torch.randn(2, COND)
    assert mlrn.layers[0].rows_per_chunk(2, 7, 4, memory_budget_mb=mlrn.pair_memory_budget_mb) < 7
    torch.testing.assert_close(mlrn(x, condition), mlrn_reference(mlrn, x, condition), atol=1e-5, rtol=1e-4)


def test_prepare_inputs_zeroes_padding_and_names_the_module() -> None:
    rn = RelationNetwork(DIM, 4, condition_dim=COND, g_widths=(8,), f_widths=(8,), self_pairs=False)
    x = torch.full((1, 3, DIM), float("nan"))
    x[0, 0] = 1.0
    objects, pairs = prepare_inputs(rn, x, torch.zeros(1, COND), torch.tensor([[True, False, False]]))
    assert objects[0, 0].eq(1).all() and objects[0, 1:].eq(0).all()
    assert pairs is not None and not pairs.any()
    with pytest.raises(ValueError, match="this RelationNetwork expects a condition"):
        prepare_inputs(rn, x, None, None)
    mlrn = MultiLayerRelationNetwork(DIM, 4, layers=((8,),))
    with pytest.raises(ValueError, match="this MultiLayerRelationNetwork was built with condition_dim=0"):
        prepare_inputs(mlrn, x, torch.zeros(1, COND), None)


@pytest.mark.parametrize(
    ("reduction", "chunk", "budget", "message"),
    [
        ("max", None, None, "reduction must be"),
        ("sum", 0, None, "pair_chunk_size must be"),
        ("sum", 2, 10.0, "not both"),
        ("sum", None, 0.0, "positive pair_memory_budget_mb"),
    ],
)
def test_bad_options_are_refused(reduction: str, chunk: int | None, budget: float | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_pair_options(reduction, chunk, budget)
    with pytest.raises(ValueError, match=message):
        MultiLayerRelationNetwork(DIM, 4, reduction=reduction, pair_chunk_size=chunk, pair_memory_budget_mb=budget)  # type: ignore[arg-type]


def test_g_needs_a_layer() -> None:
    with pytest.raises(ValueError, match="g needs at least one layer"):
        build_g(DIM, ())
    first, rest = build_g(DIM, (4,), COND)
    assert first.in_features == 2 * DIM + COND and isinstance(rest, nn.Identity)
