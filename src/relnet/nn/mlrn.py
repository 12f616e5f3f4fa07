"""Multi-Layer Relation Networks (Jahrens & Martinetz 2018): relation layers stacked on row sums.

    h⁰_ij = g⁰(x_i, x_j, q)
    hᵗ_ij = gᵗ(Σ_k hᵗ⁻¹_ik, Σ_k hᵗ⁻¹_jk, q)        t = 1 … T
    MLRN(O, q) = f(Σ_ij hᵀ_ij)

Each layer has its own ``g`` (not recurrent). Only row sums ``s_i = Σ_k h_ik`` leave a layer, so
every layer is an RN-style pair grid over the ``(B, n, d)`` row sums of the previous one, and the
same efficiency rules as :class:`~relnet.nn.relation.RelationNetwork` apply: ``gᵗ``'s first layer
splits into a per-row term (``W_a s_i + W_q q + b``) and a per-column term (``W_b s_j``) that are
broadcast-added, so the ``(B, n, n, 2d + c)`` pair input is never built; pair rows can be processed
in chunks with recomputation in backward; and the final ``Σ_ij`` is the sum of the last row sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from relnet.nn.mlp import MLP
from relnet.nn.relation import pair_mask

Reduction = Literal["sum", "mean"]


class RelationLayer(nn.Module):
    """One MLRN layer: ``s_i ↦ Σ_j g([s_i; s_j; q])`` for every row ``i``.

    Shapes: rows ``(B, n, input_dim)``, condition ``(B, condition_dim)``, pair_mask ``(B, n, n)``
    float (1 for pairs that count) or None → ``(B, n, widths[-1])``.
    """

    def __init__(self, input_dim: int, widths: Sequence[int], condition_dim: int = 0) -> None:
        super().__init__()
        if not widths:
            raise ValueError("every relation layer needs at least one width")
        self.input_dim, self.condition_dim = input_dim, condition_dim
        self.first = nn.Linear(2 * input_dim + condition_dim, widths[0])  # over [s_i; s_j; q]
        self.rest: nn.Module = MLP(widths[0], widths[1:]) if len(widths) > 1 else nn.Identity()
        self.output_dim = widths[-1]

    def terms(self, rows: torch.Tensor, condition: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The first linear layer split into a row term (s_i, q, bias) and a column term (s_j): two
        ``(B, n, widths[0])`` tensors whose broadcast sum is the first pre-activation of every pair."""
        d, weight = self.input_dim, self.first.weight
        row_term = F.linear(rows, weight[:, :d])
        column_term = F.linear(rows, weight[:, d : 2 * d])
        if self.condition_dim:
            assert condition is not None
            row_term = row_term + F.linear(condition, weight[:, 2 * d :], self.first.bias)[:, None, :]
        else:
            row_term = row_term + self.first.bias
        return row_term, column_term

    def row_sums(
        self, row_term: torch.Tensor, column_term: torch.Tensor, pair_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """``Σ_j g`` for some rows: ``(B, r, h), (B, n, h), (B, r, n) → (B, r, widths[-1])``."""
        relations = self.rest(F.relu(row_term[:, :, None, :] + column_term[:, None, :, :]))
        if pair_mask is None:
            return relations.sum(dim=2)
        return torch.einsum("bijh,bij->bih", relations, pair_mask.to(relations.dtype))


class MultiLayerRelationNetwork(nn.Module):
    """A question-conditioned Multi-Layer Relation Network over a set of objects.

    Args:
        object_dim: features per object, ``d``.
        output_dim: size of the output (answer logits, usually).
        condition_dim: size of the conditioning vector ``q`` given to every layer's ``g`` (0: none).
        layers: the widths of each layer's ``g`` (each followed by ReLU); ``len(layers)`` = T + 1.
        f_widths: hidden widths of ``f``; a final linear layer to ``output_dim`` follows them.
        f_dropout: dropout after each hidden layer of ``f``.
        reduction: ``"sum"`` (the paper's Σ) or ``"mean"`` (every Σ divided by its number of valid
            terms, which keeps activations the same size whatever the number of objects).
        self_pairs: include the pairs ``(i, i)``.
        pair_chunk_size: rows of each pair grid processed at once (``None``: all); chunks are
            recomputed in backward, bounding activation memory to ``O(B * chunk * n * width)``.

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
        f_widths: Sequence[int] = (256, 256),
        f_dropout: float = 0.0,
        reduction: Reduction = "sum",
        self_pairs: bool = True,
        pair_chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        if not layers:
            raise ValueError("an MLRN needs at least one relation layer")
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        if pair_chunk_size is not None and pair_chunk_size < 1:
            raise ValueError(f"pair_chunk_size must be a positive integer or None, not {pair_chunk_size}")
        self.object_dim, self.condition_dim, self.output_dim = object_dim, condition_dim, output_dim
        self.reduction: Reduction = reduction
        self.self_pairs = self_pairs
        self.pair_chunk_size = pair_chunk_size
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
            total = total / self._row_counts(objects, mask)[:, None]
        return total

    def last_row_sums(
        self, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The row sums ``Σ_k hᵀ_ik`` of the last layer, zero for padded rows: ``(B, n, relation_dim)``."""
        self._check_inputs(objects, condition, mask)
        rows = objects if mask is None else objects.masked_fill(~mask[..., None], 0.0)
        pair_mask = self._pair_mask(objects, mask)
        divisor = None
        if self.reduction == "mean":
            count = pair_mask.sum(dim=2) if pair_mask is not None else torch.full(objects.shape[:2], objects.shape[1])
            divisor = count.clamp(min=1).to(objects.device, torch.float32)[..., None]
        for layer in self.layers:
            rows = self._layer_rows(layer, rows, condition, pair_mask)
            if divisor is not None:
                rows = rows / divisor.to(rows.dtype)
        return rows

    def reference_forward(
        self, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The textbook implementation: every layer builds all ``[s_i; s_j; q]`` and sums ``g`` over ``j``.

        Same parameters and result as :meth:`forward`, ``O(B n² (2d + c))`` memory; for tests and benchmarks.
        """
        self._check_inputs(objects, condition, mask)
        batch, n, _ = objects.shape
        rows = objects if mask is None else objects.masked_fill(~mask[..., None], 0.0)
        pair_mask = self._pair_mask(objects, mask)
        weights = torch.ones(batch, n, n, device=objects.device) if pair_mask is None else pair_mask.float()
        for layer in self.layers:
            width = rows.shape[-1]
            parts = [rows[:, :, None, :].expand(batch, n, n, width), rows[:, None, :, :].expand(batch, n, n, width)]
            if self.condition_dim:
                assert condition is not None
                parts.append(condition[:, None, None, :].expand(batch, n, n, self.condition_dim))
            relations = layer.rest(F.relu(layer.first(torch.cat(parts, dim=-1)))) * weights[..., None]
            rows = relations.sum(dim=2)
            if self.reduction == "mean":
                rows = rows / weights.sum(dim=2).clamp(min=1)[..., None]
        total = rows.sum(dim=1)
        if self.reduction == "mean":
            total = total / self._row_counts(objects, mask)[:, None]
        return self.f(total)

    # ------------------------------------------------------------------ internals
    def _layer_rows(
        self, layer: RelationLayer, rows: torch.Tensor, condition: torch.Tensor | None, pair_mask: torch.Tensor | None
    ) -> torch.Tensor:
        row_term, column_term = layer.terms(rows, condition)
        n = rows.shape[1]
        chunk = n if self.pair_chunk_size is None else min(self.pair_chunk_size, n)
        if chunk == n:
            return layer.row_sums(row_term, column_term, pair_mask)
        parts = []
        for start in range(0, n, chunk):  # a loop over chunks of rows, not over pairs
            part_rows = slice(start, start + chunk)
            part_mask = None if pair_mask is None else pair_mask[:, part_rows]
            if torch.is_grad_enabled():
                parts.append(
                    checkpoint(layer.row_sums, row_term[:, part_rows], column_term, part_mask, use_reentrant=False)
                )
            else:
                parts.append(layer.row_sums(row_term[:, part_rows], column_term, part_mask))
        return torch.cat(parts, dim=1)

    def _pair_mask(self, objects: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
        return pair_mask(objects, mask, self_pairs=self.self_pairs)

    @staticmethod
    def _row_counts(objects: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Valid rows per sample, at least 1: ``(B,)`` float."""
        if mask is None:
            return torch.full((objects.shape[0],), float(objects.shape[1]), device=objects.device)
        return mask.sum(dim=1).clamp(min=1).float()

    def _check_inputs(self, objects: torch.Tensor, condition: torch.Tensor | None, mask: torch.Tensor | None) -> None:
        if objects.dim() != 3 or objects.shape[-1] != self.object_dim or objects.shape[1] == 0:
            raise ValueError(
                f"objects must have shape (batch, n_objects >= 1, {self.object_dim}), got {tuple(objects.shape)}"
            )
        batch = objects.shape[0]
        if self.condition_dim:
            if condition is None or condition.shape != (batch, self.condition_dim):
                got = None if condition is None else tuple(condition.shape)
                raise ValueError(f"condition must have shape ({batch}, {self.condition_dim}), got {got}")
        elif condition is not None:
            raise ValueError("this MLRN was built with condition_dim=0 but got a condition")
        if mask is not None and (mask.shape != objects.shape[:2] or mask.dtype != torch.bool):
            raise ValueError(
                f"mask must be a bool tensor of shape {tuple(objects.shape[:2])}, got {mask.dtype} {tuple(mask.shape)}"
            )
