"""The Recurrent Relational Network of Palm et al. (2018): many steps of message passing on a graph.

Every node ``j`` has an input ``x_j`` and a hidden state ``h_j``. At each step ``t``

    m_ij = f(h_i, h_j [, e_ij])            a message along every directed edge i → j
    m_j  = sum_i m_ij                       summed over the incoming edges
    h_j  = LSTM(g([x_j; m_j]), state_j)     (or h_j = g([x_j; h_j; m_j]) without the LSTM)
    o_j  = r(h_j)  or  o = r(sum_j h_j)     an output per node, or per graph, at every step

and the loss is usually taken at every step. The graph is an edge list ``(2, E)`` shared by the whole
batch, so no per-sample graph objects exist: messages are gathers and one ``index_add_``.

Two facts make the message function cheap:

- ``f``'s first layer is linear, so ``W [h_i; h_j; e] + b = W_s h_i + (W_r h_j + b) + W_e e``: the
  two node terms are computed once per node (``n`` rows, not ``E``) and gathered per edge.
- ``f``'s last layer is linear too, so ``sum_i (W z_ij + b) = W (sum_i z_ij) + deg_j b``: the sum over
  incoming edges is taken before it, and it runs once per node as well.

Only ``f``'s middle layers run per edge. :meth:`RecurrentRelationalNetwork.reference_forward`
is the plain implementation (concatenate ``[h_i; h_j; e]`` per edge, full MLP, sum), kept as the
ground truth that tests and ``relnet bench rrn`` compare against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from relnet.nn.mlp import MLP
from relnet.nn.pairs import check_mask

Update = Literal["lstm", "mlp"]
Readout = Literal["node", "graph"]


def _head(input_dim: int, widths: Sequence[int], output_dim: int) -> nn.Module:
    """``len(widths)`` ReLU layers, then a linear layer to ``output_dim``: ``(..., in) -> (..., out)``."""
    return MLP(input_dim, [*widths, output_dim], activate_last=False)


class RecurrentRelationalNetwork(nn.Module):
    """Recurrent message passing on a fixed graph, with an output at every step.

    Args:
        input_dim: features per node input ``x_j`` (before the input MLP).
        hidden_dim: size of the node state ``h`` and of the messages.
        output_dim: size of each output (e.g. 10 digit logits per Sudoku cell).
        edge_dim: features per edge ``e_ij`` (0: none).
        input_widths: hidden widths of the input MLP that turns ``x`` into ``hidden_dim`` features
            (a final linear layer follows them); ``None``: no input MLP, ``input_dim`` must equal
            ``hidden_dim``.
        message_widths: hidden widths of the message MLP ``f`` (at least one); a final linear layer
            to ``hidden_dim`` follows them.
        node_widths: hidden widths of the node MLP ``g``; a final linear layer to ``hidden_dim`` follows.
        output_widths: hidden widths of the readout ``r``; a final linear layer to ``output_dim`` follows.
        update: ``"lstm"``: ``h = LSTMCell(g([x; m]), (h, c))`` (Sudoku and bAbI in the paper);
            ``"mlp"``: ``h = g([x; h; m])`` (the paper's Pretty-CLEVR code).
        readout: ``"node"``: an output per node; ``"graph"``: ``r`` of the sum of the valid nodes' states.
        steps: message-passing steps when ``forward`` is not told otherwise.

    Shapes (``B`` graphs of ``n`` nodes, ``E`` directed edges, ``T`` steps):
        nodes ``(B, n, input_dim)``; edges ``(2, E)`` long, row 0 the senders ``i``, row 1 the
        receivers ``j``; edge_features ``(E, edge_dim)`` or ``(B, E, edge_dim)``; node_mask ``(B, n)``
        bool, ``True`` for real nodes → outputs ``(B, T, n, output_dim)`` (node readout) or
        ``(B, T, output_dim)`` (graph readout).
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        *,
        edge_dim: int = 0,
        input_widths: Sequence[int] | None = (),
        message_widths: Sequence[int] = (96, 96, 96),
        node_widths: Sequence[int] = (96, 96, 96),
        output_widths: Sequence[int] = (),
        update: Update = "lstm",
        readout: Readout = "node",
        steps: int = 32,
    ) -> None:
        super().__init__()
        if not message_widths:
            raise ValueError("the message MLP needs at least one hidden layer")
        if update not in ("lstm", "mlp"):
            raise ValueError(f"update must be 'lstm' or 'mlp', not {update!r}")
        if readout not in ("node", "graph"):
            raise ValueError(f"readout must be 'node' or 'graph', not {readout!r}")
        if steps < 1:
            raise ValueError(f"steps must be at least 1, not {steps}")
        if input_widths is None and input_dim != hidden_dim:
            raise ValueError(f"without an input MLP, input_dim ({input_dim}) must equal hidden_dim ({hidden_dim})")
        self.input_dim, self.hidden_dim, self.output_dim = input_dim, hidden_dim, output_dim
        self.edge_dim, self.steps = edge_dim, steps
        self.update: Update = update
        self.readout: Readout = readout
        self.input_net: nn.Module = (
            nn.Identity() if input_widths is None else _head(input_dim, input_widths, hidden_dim)
        )
        # f = message_last ∘ ReLU ∘ message_middle ∘ ReLU ∘ message_first, one weight per layer so that
        # both implementations share every parameter.
        self.message_first = nn.Linear(2 * hidden_dim + edge_dim, message_widths[0])
        self.message_middle: nn.Module = (
            MLP(message_widths[0], message_widths[1:]) if len(message_widths) > 1 else nn.Identity()
        )
        self.message_last = nn.Linear(message_widths[-1], hidden_dim)
        node_input = 2 * hidden_dim if update == "lstm" else 3 * hidden_dim
        self.node_net = _head(node_input, node_widths, hidden_dim)
        self.cell = nn.LSTMCell(hidden_dim, hidden_dim) if update == "lstm" else None
        self.output_net = _head(hidden_dim, output_widths, output_dim)

    # ------------------------------------------------------------------ public API
    def forward(
        self,
        nodes: torch.Tensor,
        edges: torch.Tensor,
        edge_features: torch.Tensor | None = None,
        node_mask: torch.Tensor | None = None,
        *,
        steps: int | None = None,
    ) -> torch.Tensor:
        """Outputs at every step: ``(B, n, input_dim) -> (B, T, n, output_dim)`` or ``(B, T, output_dim)``."""
        return self._run(nodes, edges, edge_features, node_mask, steps, self._messages)

    def reference_forward(
        self,
        nodes: torch.Tensor,
        edges: torch.Tensor,
        edge_features: torch.Tensor | None = None,
        node_mask: torch.Tensor | None = None,
        *,
        steps: int | None = None,
    ) -> torch.Tensor:
        """The plain implementation: the whole message MLP on ``[h_i; h_j; e_ij]`` per edge, then a sum.

        Same parameters and result as :meth:`forward`, ``O(B E (2h + e))`` input memory per step. For
        tests and benchmarks only.
        """
        return self._run(nodes, edges, edge_features, node_mask, steps, self._reference_messages)

    # ------------------------------------------------------------------ steps
    def _run(
        self,
        nodes: torch.Tensor,
        edges: torch.Tensor,
        edge_features: torch.Tensor | None,
        node_mask: torch.Tensor | None,
        steps: int | None,
        messages: Callable[[torch.Tensor, _Graph], torch.Tensor],
    ) -> torch.Tensor:
        """Run ``steps`` steps with the message function ``messages``; outputs stacked on dim 1."""
        steps = self.steps if steps is None else steps
        if steps < 1:
            raise ValueError(f"steps must be at least 1, not {steps}")
        graph = _Graph.build(nodes, edges, edge_features, node_mask, self.edge_dim, self.input_dim)
        batch, n = nodes.shape[:2]
        if node_mask is not None:  # whatever sits in padded nodes (even NaN) must not leak through 0-weights
            nodes = nodes.masked_fill(~node_mask[..., None], 0.0)
        x = self.input_net(nodes)  # (B, n, h)
        hidden = x
        cell_state = torch.zeros_like(x).flatten(0, 1) if self.cell is not None else None  # (B·n, h)
        outputs = []
        for _ in range(steps):
            message = messages(hidden, graph)  # (B, n, h)
            if self.cell is not None:
                update = self.node_net(torch.cat([x, message.to(x.dtype)], dim=-1))
                h_flat, c_flat = self.cell(update.reshape(batch * n, -1), (hidden.reshape(batch * n, -1), cell_state))
                hidden, cell_state = h_flat.view(batch, n, -1), c_flat
            else:
                hidden = self.node_net(torch.cat([x, hidden.to(x.dtype), message.to(x.dtype)], dim=-1))
            outputs.append(self._read(hidden, graph.node_mask))
        return torch.stack(outputs, dim=1)

    def _read(self, hidden: torch.Tensor, node_mask: torch.Tensor | None) -> torch.Tensor:
        """``(B, n, h) -> (B, n, output_dim)`` or, for a graph readout, ``(B, output_dim)``."""
        if self.readout == "node":
            return self.output_net(hidden)
        if node_mask is not None:
            hidden = hidden * node_mask[..., None].to(hidden.dtype)
        return self.output_net(hidden.float().sum(dim=1))

    def _messages(self, hidden: torch.Tensor, graph: _Graph) -> torch.Tensor:
        """``sum_i f(h_i, h_j, e_ij)`` with the split first layer and the sum before the last layer."""
        batch, n, h = hidden.shape
        weight = self.message_first.weight
        sender_term = F.linear(hidden, weight[:, :h]).flatten(0, 1)  # (B·n, w): W_s h_i, once per node
        receiver_term = F.linear(hidden, weight[:, h : 2 * h], self.message_first.bias).flatten(0, 1)
        first = sender_term.index_select(0, graph.senders) + receiver_term.index_select(0, graph.receivers)
        if self.edge_dim:
            if graph.edge_term is None:  # edge features do not change between steps: project them once
                graph.edge_term = F.linear(graph.edge_features, weight[:, 2 * h :]).flatten(0, 1)
            first = first + graph.edge_term
        z = self.message_middle(F.relu(first))  # (B·E, w'): the only per-edge matmuls
        if graph.edge_weight is not None:
            z = z * graph.edge_weight[:, None].to(z.dtype)
        # Sum in fp32 (bf16 would round every partial sum), then the last layer once per node.
        summed = z.new_zeros(batch * n, z.shape[-1], dtype=torch.float32).index_add_(0, graph.receivers, z.float())
        message = F.linear(summed.to(z.dtype), self.message_last.weight)
        return (message + graph.in_degree[:, None] * self.message_last.bias).view(batch, n, h)

    def _reference_messages(self, hidden: torch.Tensor, graph: _Graph) -> torch.Tensor:
        """The textbook message function: concatenate per edge, full MLP, sum over incoming edges."""
        batch, n, h = hidden.shape
        flat = hidden.flatten(0, 1)
        parts = [flat.index_select(0, graph.senders), flat.index_select(0, graph.receivers)]
        if self.edge_dim:
            parts.append(graph.edge_features.flatten(0, 1).to(flat.dtype))
        messages = self.message_last(self.message_middle(F.relu(self.message_first(torch.cat(parts, dim=-1)))))
        if graph.edge_weight is not None:
            messages = messages * graph.edge_weight[:, None].to(messages.dtype)
        summed = messages.new_zeros(batch * n, h).index_add_(0, graph.receivers, messages)
        return summed.view(batch, n, h)


@dataclass
class _Graph:
    """The batch's edge list flattened over ``B·n`` node rows, built once per forward (not per step).

    ``senders``/``receivers`` ``(B·E,)`` index rows of a ``(B·n, ·)`` node tensor; ``edge_weight``
    ``(B·E,)`` is 1 for edges between real nodes and 0 otherwise (None without a mask);
    ``in_degree`` ``(B·n,)`` counts each node's live incoming edges; ``edge_features`` is
    ``(B, E, edge_dim)`` or None.
    """

    senders: torch.Tensor
    receivers: torch.Tensor
    edge_weight: torch.Tensor | None
    in_degree: torch.Tensor
    edge_features: torch.Tensor | None
    node_mask: torch.Tensor | None
    #: ``(B·E, w)``: the edge features' share of the message MLP's first layer, set at the first step.
    edge_term: torch.Tensor | None = None

    @classmethod
    def build(
        cls,
        nodes: torch.Tensor,
        edges: torch.Tensor,
        edge_features: torch.Tensor | None,
        node_mask: torch.Tensor | None,
        edge_dim: int,
        input_dim: int,
    ) -> _Graph:
        """Validate the inputs and index the edges over the flattened batch."""
        if nodes.dim() != 3 or nodes.shape[-1] != input_dim or nodes.shape[1] == 0:
            raise ValueError(f"nodes must have shape (batch, n_nodes >= 1, {input_dim}), got {tuple(nodes.shape)}")
        batch, n = nodes.shape[:2]
        device = nodes.device
        if edges.dim() != 2 or edges.shape[0] != 2 or edges.dtype not in (torch.long, torch.int):
            raise ValueError(
                f"edges must be an integer tensor of shape (2, n_edges), got {edges.dtype} {tuple(edges.shape)}"
            )
        edges = edges.to(device=device, dtype=torch.long)
        if edges.numel() and (edges.min() < 0 or edges.max() >= n):
            raise ValueError(f"edge indices must lie in [0, {n}), got [{int(edges.min())}, {int(edges.max())}]")
        n_edges = edges.shape[1]
        offsets = torch.arange(batch, device=device)[:, None] * n  # (B, 1)
        senders = (edges[0][None] + offsets).reshape(-1)
        receivers = (edges[1][None] + offsets).reshape(-1)
        if edge_dim:
            if edge_features is None:
                raise ValueError(f"this network expects edge features of shape (n_edges, {edge_dim})")
            if edge_features.dim() == 2:
                edge_features = edge_features[None].expand(batch, -1, -1)
            if edge_features.shape != (batch, n_edges, edge_dim):
                raise ValueError(
                    f"edge_features must have shape ({n_edges}, {edge_dim}) or ({batch}, {n_edges}, {edge_dim}), "
                    f"got {tuple(edge_features.shape)}"
                )
        elif edge_features is not None:
            raise ValueError("this network was built with edge_dim=0 but got edge features")
        edge_weight = None
        if node_mask is not None:
            check_mask(node_mask, (batch, n), "node_mask")
            edge_weight = (node_mask[:, edges[0]] & node_mask[:, edges[1]]).reshape(-1).float()
            in_degree = torch.zeros(batch * n, device=device).index_add_(0, receivers, edge_weight)
        else:
            in_degree = torch.bincount(edges[1], minlength=n).float().repeat(batch)
        return cls(senders, receivers, edge_weight, in_degree, edge_features, node_mask)
