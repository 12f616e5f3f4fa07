"""RecurrentRelationalNetwork: fast path == per-edge reference == compiled, equivariance, masks, steps, bf16,
errors."""

from __future__ import annotations

import pytest
import torch

from relnet.nn import RecurrentRelationalNetwork

# fp32 on CPU: the two paths differ only in summation order.
TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}
N_NODES = 6


def _complete_graph(n: int = N_NODES) -> torch.Tensor:
    """All ordered pairs i != j as a ``(2, n(n-1))`` edge list."""
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    return torch.tensor(pairs).T


def _ring(n: int = N_NODES) -> torch.Tensor:
    """A directed ring i -> i+1 plus a chord 0 -> 3: nodes have different in-degrees."""
    pairs = [(i, (i + 1) % n) for i in range(n)] + [(0, 3)]
    return torch.tensor(pairs).T


def _network(**overrides) -> RecurrentRelationalNetwork:
    settings = {
        "input_widths": (12,),
        "message_widths": (12, 10),
        "node_widths": (12,),
        "output_widths": (8,),
        "steps": 3,
    } | overrides
    return RecurrentRelationalNetwork(7, 16, 5, **settings)


@pytest.mark.parametrize("update", ["lstm", "mlp"])
@pytest.mark.parametrize("readout", ["node", "graph"])
@pytest.mark.parametrize("edge_dim", [0, 3])
@pytest.mark.parametrize("use_mask", [False, True])
def test_fast_path_equals_reference(update: str, readout: str, edge_dim: int, use_mask: bool) -> None:
    network = _network(update=update, readout=readout, edge_dim=edge_dim)
    edges = _ring()
    nodes = torch.randn(3, N_NODES, 7, requires_grad=True)
    features = torch.randn(3, edges.shape[1], edge_dim) if edge_dim else None
    mask = torch.rand(3, N_NODES) > 0.3 if use_mask else None
    fast = network(nodes, edges, features, mask)
    reference = network.reference_forward(nodes, edges, features, mask)
    expected_shape = (3, 3, N_NODES, 5) if readout == "node" else (3, 3, 5)
    assert fast.shape == expected_shape
    torch.testing.assert_close(fast, reference, **TOLERANCE)
    parameters = [nodes, *network.parameters()]
    fast_grads = torch.autograd.grad(fast.square().sum(), parameters)
    reference_grads = torch.autograd.grad(reference.square().sum(), parameters)
    for got, expected in zip(fast_grads, reference_grads, strict=True):
        torch.testing.assert_close(got, expected, **TOLERANCE)


def test_compiled_step_equals_eager() -> None:
    """``--compile`` (``torch.compile``, inductor on a CPU; CUDA graphs on a GPU) changes the speed,
    not the function: outputs and gradients equal the eager path's, and the weights keep their names."""
    network = _network(edge_dim=3)
    edges = _complete_graph()
    nodes = torch.randn(2, N_NODES, 7)
    features = torch.randn(2, edges.shape[1], 3)
    names = list(network.state_dict())
    eager = network(nodes, edges, features)
    eager_grads = torch.autograd.grad(eager.square().sum(), list(network.parameters()))
    network.compile()
    compiled = network(nodes, edges, features)
    compiled_grads = torch.autograd.grad(compiled.square().sum(), list(network.parameters()))
    torch.testing.assert_close(compiled, eager, **TOLERANCE)
    for got, expected in zip(compiled_grads, eager_grads, strict=True):
        torch.testing.assert_close(got, expected, **TOLERANCE)
    assert list(network.state_dict()) == names


def test_permuting_nodes_permutes_outputs() -> None:
    network = _network(edge_dim=2)
    edges = _ring()
    nodes, features = torch.randn(2, N_NODES, 7), torch.randn(edges.shape[1], 2)
    permutation = torch.randperm(N_NODES)
    inverse = torch.argsort(permutation)  # node k of the permuted graph is node permutation[k]
    permuted = network(nodes[:, permutation], inverse[edges], features)
    torch.testing.assert_close(permuted, network(nodes, edges, features)[:, :, permutation], **TOLERANCE)
    # The order in which edges are listed does not matter either.
    order = torch.randperm(edges.shape[1])
    torch.testing.assert_close(network(nodes, edges[:, order], features[order]), network(nodes, edges, features))


def test_graph_readout_is_permutation_invariant() -> None:
    network = _network(readout="graph")
    edges, nodes = _complete_graph(), torch.randn(2, N_NODES, 7)
    permutation = torch.randperm(N_NODES)
    permuted = network(nodes[:, permutation], torch.argsort(permutation)[edges])
    torch.testing.assert_close(permuted, network(nodes, edges), **TOLERANCE)


@pytest.mark.parametrize("readout", ["node", "graph"])
def test_padded_nodes_change_nothing(readout: str) -> None:
    network = _network(readout=readout)
    small = torch.randn(1, 4, 7)
    padded = torch.cat([small, torch.full((1, 2, 7), float("nan"))], dim=1)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    alone = network(small, _complete_graph(4))
    with_padding = network(padded, _complete_graph(6), node_mask=mask)
    if readout == "node":
        with_padding = with_padding[:, :, :4]
    torch.testing.assert_close(with_padding, alone, **TOLERANCE)


def test_outputs_at_every_step_are_causal() -> None:
    network = _network()
    nodes, edges = torch.randn(2, N_NODES, 7), _ring()
    long = network(nodes, edges, steps=5)
    assert long.shape[1] == 5
    assert network(nodes, edges).shape[1] == network.steps
    torch.testing.assert_close(network(nodes, edges, steps=2), long[:, :2])
    assert not torch.allclose(long[:, 0], long[:, 4])  # the state does evolve


def test_bf16_autocast_is_close_to_fp32() -> None:
    network = _network(message_widths=(32, 32), node_widths=(32,))
    nodes, edges = torch.randn(4, N_NODES, 7), _complete_graph()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = network(nodes, edges)
    assert low.dtype == torch.bfloat16
    torch.testing.assert_close(low.float(), network(nodes, edges), atol=3e-2, rtol=3e-2)


def test_bad_inputs_raise_clear_errors() -> None:
    network = _network(edge_dim=2)
    nodes, edges = torch.randn(2, N_NODES, 7), _ring()
    features = torch.randn(edges.shape[1], 2)
    with pytest.raises(ValueError, match="edges must be an integer tensor of shape"):
        network(nodes, edges.T.contiguous(), features)
    with pytest.raises(ValueError, match=r"edge indices must lie in \[0, 6\)"):
        network(nodes, edges + 1, features)
    with pytest.raises(ValueError, match="expects edge features"):
        network(nodes, edges)
    with pytest.raises(ValueError, match="nodes must have shape"):
        network(torch.randn(2, N_NODES, 3), edges, features)
    with pytest.raises(ValueError, match="node_mask must be a bool tensor"):
        network(nodes, edges, features, torch.ones(2, N_NODES))
    with pytest.raises(ValueError, match="without an input MLP"):
        RecurrentRelationalNetwork(7, 16, 5, input_widths=None)
