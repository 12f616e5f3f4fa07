"""MultiLayerRelationNetwork: the fast path equals a naive loop over pairs, invariances, masks, chunks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from relnet.nn import MultiLayerRelationNetwork, mlrn_reference

DIM, COND, OUT = 5, 3, 4


def naive_mlrn(model: MultiLayerRelationNetwork, objects, condition, mask) -> torch.Tensor:
    """The formula written as loops over samples, rows i and partners j, with the model's weights."""
    outputs = []
    for b in range(objects.shape[0]):
        valid = [i for i in range(objects.shape[1]) if mask is None or bool(mask[b, i])]
        rows = {i: objects[b, i] for i in valid}
        for layer in model.layers:
            new_rows = {}
            for i in valid:
                total = torch.zeros(layer.output_dim, dtype=torch.float64)
                partners = [j for j in valid if model.self_pairs or j != i]
                for j in partners:
                    pair = (
                        torch.cat([rows[i], rows[j], condition[b]])
                        if model.condition_dim
                        else torch.cat([rows[i], rows[j]])
                    )
                    total = total + layer.rest(F.relu(layer.first(pair)))
                new_rows[i] = total / max(1, len(partners)) if model.reduction == "mean" else total
            rows = new_rows
        total = sum((rows[i] for i in valid), torch.zeros(model.relation_dim, dtype=torch.float64))
        if model.reduction == "mean":
            total = total / max(1, len(valid))
        outputs.append(model.f(total))
    return torch.stack(outputs)


def _model(**kwargs) -> MultiLayerRelationNetwork:
    defaults = {"condition_dim": COND, "layers": ((8, 7), (6,), (9, 5)), "f_widths": (6,)}
    return MultiLayerRelationNetwork(DIM, OUT, **{**defaults, **kwargs}).double()


@pytest.mark.parametrize(
    "options",
    [{}, {"reduction": "mean"}, {"self_pairs": False}, {"pair_chunk_size": 2}, {"condition_dim": 0}],
)
@pytest.mark.parametrize("masked", [False, True])
def test_fast_path_matches_naive_loops(options: dict, masked: bool) -> None:
    model = _model(**options)
    objects = torch.randn(3, 5, DIM, dtype=torch.float64)
    condition = torch.randn(3, COND, dtype=torch.float64) if model.condition_dim else None
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 0, 1, 1, 0], [0, 0, 1, 0, 0]], dtype=torch.bool) if masked else None
    expected = naive_mlrn(model, objects, condition, mask)
    torch.testing.assert_close(model(objects, condition, mask), expected, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(mlrn_reference(model, objects, condition, mask), expected, rtol=1e-9, atol=1e-9)


def test_permuting_objects_changes_nothing() -> None:
    model = _model()
    objects = torch.randn(4, 6, DIM, dtype=torch.float64)
    condition = torch.randn(4, COND, dtype=torch.float64)
    order = torch.randperm(6)
    torch.testing.assert_close(model(objects[:, order], condition), model(objects, condition))


def test_padded_objects_are_irrelevant() -> None:
    model = _model()
    objects = torch.randn(2, 4, DIM, dtype=torch.float64)
    condition = torch.randn(2, COND, dtype=torch.float64)
    padded = torch.cat([objects, torch.full((2, 3, DIM), float("nan"), dtype=torch.float64)], dim=1)
    mask = torch.tensor([[True] * 4 + [False] * 3] * 2)
    torch.testing.assert_close(model(padded, condition, mask), model(objects, condition))


def test_chunked_gradients_match_unchunked() -> None:
    objects = torch.randn(2, 7, DIM, dtype=torch.float64, requires_grad=True)
    condition = torch.randn(2, COND, dtype=torch.float64)
    whole, chunked = _model(), _model(pair_chunk_size=3)
    chunked.load_state_dict(whole.state_dict())
    grads = []
    for model in (whole, chunked):
        objects.grad = None
        model(objects, condition).sum().backward()
        grads.append(objects.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])
    for a, b in zip(whole.parameters(), chunked.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)


def test_bad_inputs_are_named() -> None:
    model = _model()
    with pytest.raises(ValueError, match="objects must have shape"):
        model(torch.randn(2, 3, DIM + 1, dtype=torch.float64), torch.randn(2, COND, dtype=torch.float64))
    with pytest.raises(ValueError, match="condition must have shape"):
        model(torch.randn(2, 3, DIM, dtype=torch.float64))
    with pytest.raises(ValueError, match="at least one relation layer"):
        MultiLayerRelationNetwork(DIM, OUT, layers=())
