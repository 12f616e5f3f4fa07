"""Multi-Layer Relation Networks (Jahrens & Martinetz 2018): relation layers stacked on row sums.

    h⁰_ij = g⁰(x_i, x_j, q)
    hᵗ_ij = gᵗ(Σ_k hᵗ⁻¹_ik, Σ_k hᵗ⁻¹_jk, q)        t = 1 … T
    MLRN(O, q) = f(Σ_ij hᵀ_ij)

Each layer has its own ``g`` (not recurrent). Only row sums ``s_i = Σ_k h_ik`` leave a layer, so
every layer is an RN-style pair grid over the ``(B, n, d)`` row sums of the previous one: a
:class:`~relnet.nn.pairs.PairwiseMLP`, with the same efficiency rules as
:class:`~relnet.nn.relation.RelationNetwork` (split first layer, no ``(B, n, n, 2d + c)`` pair input,
chunks of rows recomputed in backward). The final ``Σ_ij`` is the sum of the last row sums.
:func:`relnet.nn.reference.mlrn_reference` is the plain concatenating implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from relnet.nn.mlp import MLP
from relnet.nn.pairs import PairwiseMLP, Reduction, build_g, check_pair_options, prepare_inputs, valid_count


class RelationLayer(PairwiseMLP):
    """One MLRN layer: ``s_i ↦ Σ_j g([s_i; s_j; q])`` for every row ``i``.

    Shapes: rows ``(B, n, input_dim)``, condition ``(B, condition_dim)`` → row sums
    ``(B, n, widths[-1])`` through :meth:`~relnet.nn.pairs.PairwiseMLP.sum_over_pairs` with ``per_row=True``.
    """

    def __init__(self, input_dim: int, widths: Sequence[int], condition_dim: int = 0) -> None:
        super().__init__()
        self.input_dim, self.condition_dim = input_dim, condition_dim
        # The attribute names are those of the saved weights (``layers.0.first.weight``, ...).
        self.first, self.rest = build_g(input_dim, widths, condition_dim)
        self.output_dim = widths[-1]

    def g_layers(self) -> tuple[nn.Linear, nn.Module]:
        return self.first, self.rest


class MultiLayerRelationNetwork(nn.Module):
    """A question-conditioned Multi-Layer Relation Network over a set of objects.

    Args:
        object_dim: features per object, ``d``.
        output_dim: size of the output (answer logits, usually).
        condition_dim: size of the conditioning vector ``q`` given to every layer's ``g`` (0: none).
        layers: the widths of each layer's ``g`` (each followed by ReLU); ``len(layers)`` = T + 1.
        reduction: ``"sum"`` (the paper's Σ) or ``"mean"`` (every Σ divided by its number of valid
            terms, which keeps activations the same size whatever the number of objects).
        self_pairs: include the pairs ``(i, i)``.
        pair_chunk_size: rows of each pair grid processed at once (``None``: all); chunks are
            recomputed in backward, bounding activation memory to ``O(B * chunk * n * width)``.
        pair_memory_budget_mb: instead of a fixed ``pair_chunk_size``, pick for every layer the
            largest chunk whose activations fit this many MB.
        f_widths: hidden widths of ``f``; a final linear layer to ``output_dim`` follows them.
        f_dropout: dropout after each hidden layer of ``f``.

    Shapes:
        objects ``(B, n, object_dim)``, condition ``(B, condition_dim)``, mask ``(B, n)`` bool with
        ``True`` for real objects → ``(B, output_dim)``. Padded objects never enter a sum.
    """

    def __init__(
        self,
        object_dim: int,
        output_dim: int,
        *,
        condition_dim: int = 0,
        layers: Sequence[Sequence[int]] = ((256, 256), (256, 256), (256, 256)),
        reduction: Reduction = "sum",
        self_pairs: bool = True,
        pair_chunk_size: int | None = None,
        pair_memory_budget_mb: float | None = None,
        f_widths: Sequence[int] = (256, 256),
        f_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not layers:
            raise ValueError("an MLRN needs at least one relation layer")
        check_pair_options(reduction, pair_chunk_size, pair_memory_budget_mb)
        self.object_dim, self.condition_dim, self.output_dim = object_dim, condition_dim, output_dim
        self.reduction: Reduction = reduction
        self.self_pairs = self_pairs
        self.pair_chunk_size, self.pair_memory_budget_mb = pair_chunk_size, pair_memory_budget_mb
        relation_layers = []
        width = object_dim
        for widths in layers:
            relation_layers.append(RelationLayer(width, widths, condition_dim))
            width = widths[-1]
        self.layers = nn.ModuleList(relation_layers)
        self.relation_dim = width
        self.f = MLP(width, [*f_widths, output_dim], activate_last=False, dropout=f_dropout)

    def forward(
        self, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``f(Σ_ij hᵀ_ij)``: ``(B, n, d) → (B, output_dim)``."""
        return self.f(self.relation_sum(objects, condition, mask))

    def relation_sum(
        self, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``Σ_ij hᵀ_ij`` (or its mean): ``(B, n, d) → (B, relation_dim)``, accumulated in fp32."""
        rows = self.last_row_sums(objects, condition, mask)
        total = rows.sum(dim=1, dtype=torch.promote_types(rows.dtype, torch.float32))
        if self.reduction == "mean":
            total = total / valid_count(mask, (1,), objects.shape[:2], objects.device)[:, None]
        return total

    def last_row_sums(
        self, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The row sums ``Σ_k hᵀ_ik`` of the last layer, zero for padded rows: ``(B, n, relation_dim)``."""
        rows, pair_mask = prepare_inputs(self, objects, condition, mask)
        batch, n = objects.shape[:2]
        divisor = None if self.reduction == "sum" else valid_count(pair_mask, (2,), (batch, n, n), objects.device)
        for layer in self.layers:
            rows = layer.sum_over_pairs(
                rows,
                condition,
                pair_mask,
                per_row=True,
                chunk_size=self.pair_chunk_size,
                memory_budget_mb=self.pair_memory_budget_mb,
            )
            if divisor is not None:
                rows = rows / divisor.to(rows.dtype)[..., None]
        return rows
