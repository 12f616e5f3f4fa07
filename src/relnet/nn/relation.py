"""The Relation Network of Santoro et al. (2017): ``RN(O, q) = f(sum_ij g(o_i, o_j, q))``.

The cost of an RN is its sum over all n² ordered object pairs. Implementations usually build the
``(B, n, n, 2d + c)`` tensor of concatenated pairs and run ``g`` on it. This module never does: ``g``'s
first layer is linear, so

    W [o_i; o_j; q] + b = (W_i o_i + W_q q + b) + W_j o_j

is computed once per object (and once per sample for the question), and the two ``(B, n, h)`` terms
are broadcast-added into the ``(B, n, n, h)`` first hidden layer. Pairs can further be processed in
chunks of rows ``i`` with recomputation in backward, which bounds activation memory whatever ``n`` is.
:meth:`RelationNetwork.reference_forward` is the plain concatenating implementation, kept as the
ground truth the fast path is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from relnet.nn.mlp import MLP

Reduction = Literal["sum", "mean"]


def pair_mask(objects: torch.Tensor, mask: torch.Tensor | None, *, self_pairs: bool) -> torch.Tensor | None:
    """``(B, n, n)`` bool of the object pairs that count, or ``None`` when every pair does.

    ``objects`` ``(B, n, d)``; ``mask`` ``(B, n)`` bool (``True``: a real object) or ``None``.
    """
    n = objects.shape[1]
    pairs = None if mask is None else mask[:, :, None] & mask[:, None, :]
    if not self_pairs:
        off_diagonal = ~torch.eye(n, dtype=torch.bool, device=objects.device)
        pairs = off_diagonal.expand(objects.shape[0], n, n) if pairs is None else pairs & off_diagonal
    return pairs


class RelationNetwork(nn.Module):
    """A question-conditioned Relation Network over a set of objects.

    Args:
        object_dim: features per object, ``d``.
        output_dim: size of the output (answer logits, usually).
        condition_dim: size of the conditioning vector ``q`` appended to every pair (0: none).
        g_widths: widths of ``g``'s layers, each followed by ReLU (the paper uses 4 layers).
        f_widths: hidden widths of ``f``; a final linear layer to ``output_dim`` follows them.
        f_dropout: dropout after each hidden layer of ``f``.
        reduction: ``"sum"`` over pairs (the paper) or ``"mean"`` over the valid pairs.
        self_pairs: include the pairs ``(i, i)`` (the paper sums over all ordered pairs).
        pair_chunk_size: rows ``i`` of the pair grid processed at once; ``None`` processes all rows
            together. With a chunk size, each chunk is recomputed in backward instead of stored, so
            activation memory is ``O(B * chunk * n * width)`` instead of ``O(B * n² * width)``.
        pair_memory_budget_mb: instead of a fixed ``pair_chunk_size``, pick the largest chunk whose
            activations (every ``g`` layer's output, its ReLU and its gradient) fit this many MB.

    Shapes:
        objects ``(B, n, object_dim)``, condition ``(B, condition_dim)``, mask ``(B, n)`` bool with
        ``True`` for real objects → output ``(B, output_dim)``.
    """

    def __init__(
        self,
        object_dim: int,
        output_dim: int,
        *,
        condition_dim: int = 0,
        g_widths: Sequence[int] = (256, 256, 256, 256),
        f_widths: Sequence[int] = (256, 256),
        f_dropout: float = 0.0,
        reduction: Reduction = "sum",
        self_pairs: bool = True,
        pair_chunk_size: int | None = None,
        pair_memory_budget_mb: float | None = None,
    ) -> None:
        super().__init__()
        if not g_widths:
            raise ValueError("g needs at least one layer")
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
        if pair_chunk_size is not None and pair_chunk_size < 1:
            raise ValueError(f"pair_chunk_size must be a positive integer or None, not {pair_chunk_size}")
        self.object_dim = object_dim
        self.condition_dim = condition_dim
        self.output_dim = output_dim
        self.reduction: Reduction = reduction
        self.self_pairs = self_pairs
        if pair_memory_budget_mb is not None and (pair_chunk_size is not None or not pair_memory_budget_mb > 0):
            raise ValueError("give either pair_chunk_size or a positive pair_memory_budget_mb, not both")
        self.pair_chunk_size = pair_chunk_size
        self.pair_memory_budget_mb = pair_memory_budget_mb
        self._pair_widths = sum(g_widths)
        # One weight over [o_i; o_j; q] so both implementations share every parameter.
        self.g_first = nn.Linear(2 * object_dim + condition_dim, g_widths[0])
        self.g_rest: nn.Module = MLP(g_widths[0], g_widths[1:]) if len(g_widths) > 1 else nn.Identity()
        self.relation_dim = g_widths[-1]
        self.f = MLP(self.relation_dim, [*f_widths, output_dim], activate_last=False, dropout=f_dropout)
        #: True: ``forward`` runs :meth:`reference_forward` (to train the textbook path side by side).
        self.use_reference = False

    # ------------------------------------------------------------------ public API
    def forward(
        self,
        objects: torch.Tensor,
        condition: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``f(sum_ij g(o_i, o_j, q))`` without materialising pairs: ``(B, n, d) -> (B, output_dim)``."""
        if self.use_reference:
            return self.reference_forward(objects, condition, mask)
        return self.f(self.pair_sum(objects, condition, mask))

    def pair_sum(
        self,
        objects: torch.Tensor,
        condition: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The reduced relation vector ``sum_ij g(o_i, o_j, q)``: ``(B, n, d) -> (B, relation_dim)``."""
        objects = self._checked_objects(objects, condition, mask)
        row_term, column_term = self._first_layer_terms(objects, condition)
        pair_mask = self._pair_mask(objects, mask)
        n = objects.shape[1]
        chunk = self._rows_per_chunk(objects.shape[0], n, row_term.element_size())
        total: torch.Tensor | None = None
        # A loop over chunks of rows, not over pairs: one iteration when chunking is off.
        for start in range(0, n, chunk):
            rows = slice(start, start + chunk)
            chunk_mask = None if pair_mask is None else pair_mask[:, rows]
            if chunk < n and torch.is_grad_enabled():
                part = checkpoint(self._reduce_rows, row_term[:, rows], column_term, chunk_mask, use_reentrant=False)
            else:
                part = self._reduce_rows(row_term[:, rows], column_term, chunk_mask)
            # Accumulate in fp32: under bf16 autocast, chunk sums would otherwise lose precision.
            total = part.float() if total is None else total + part.float()
        assert total is not None
        if self.reduction == "mean":
            total = total / self._pair_count(objects, pair_mask)[:, None]
        return total

    def pair_outputs(
        self,
        objects: torch.Tensor,
        condition: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Every pair's ``g`` output, masked pairs zeroed: ``(B, n, d) -> (B, n, n, relation_dim)``.

        For inspection (which pairs carry the most relational signal); memory grows with n².
        """
        objects = self._checked_objects(objects, condition, mask)
        row_term, column_term = self._first_layer_terms(objects, condition)
        outputs = self.g_rest(F.relu(row_term[:, :, None, :] + column_term[:, None, :, :]))
        pair_mask = self._pair_mask(objects, mask)
        if pair_mask is not None:
            outputs = outputs * pair_mask[..., None].to(outputs.dtype)
        return outputs

    def reference_forward(
        self,
        objects: torch.Tensor,
        condition: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The textbook implementation: build every ``[o_i; o_j; q]`` and run ``g`` on it.

        Same parameters and result as :meth:`forward`, ``O(B n² (2d + c))`` memory. For tests and
        benchmarks only.
        """
        objects = self._checked_objects(objects, condition, mask)
        batch, n, dim = objects.shape
        parts = [
            objects[:, :, None, :].expand(batch, n, n, dim),
            objects[:, None, :, :].expand(batch, n, n, dim),
        ]
        if self.condition_dim:
            assert condition is not None
            parts.append(condition[:, None, None, :].expand(batch, n, n, self.condition_dim))
        pairs = torch.cat(parts, dim=-1)
        relations = self.g_rest(F.relu(self.g_first(pairs)))
        pair_mask = self._pair_mask(objects, mask)
        if pair_mask is not None:
            relations = relations * pair_mask[..., None].to(relations.dtype)
        total = relations.sum(dim=(1, 2))
        if self.reduction == "mean":
            total = total / self._pair_count(objects, pair_mask).to(total.dtype)[:, None]
        return self.f(total)

    # ------------------------------------------------------------------ internals
    def _first_layer_terms(
        self, objects: torch.Tensor, condition: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Split ``g``'s first layer into a row term (o_i, q and bias) and a column term (o_j).

        Returns two ``(B, n, g_widths[0])`` tensors whose broadcast sum is the first pre-activation.
        """
        d = self.object_dim
        weight = self.g_first.weight
        row_term = F.linear(objects, weight[:, :d])
        column_term = F.linear(objects, weight[:, d : 2 * d])
        per_sample = self.g_first.bias
        if self.condition_dim:
            per_sample = F.linear(condition, weight[:, 2 * d :], self.g_first.bias)  # (B, h)
            row_term = row_term + per_sample[:, None, :]
        else:
            row_term = row_term + per_sample
        return row_term, column_term

    def _reduce_rows(
        self, row_term: torch.Tensor, column_term: torch.Tensor, pair_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Sum of ``g`` over the pairs of some rows: ``(B, r, h), (B, n, h) -> (B, relation_dim)``."""
        relations = self.g_rest(F.relu(row_term[:, :, None, :] + column_term[:, None, :, :]))
        if pair_mask is None:
            return relations.sum(dim=(1, 2))
        return torch.einsum("bijh,bij->bh", relations, pair_mask.to(relations.dtype))

    def _rows_per_chunk(self, batch: int, n: int, element_size: int) -> int:
        """Rows ``i`` of the pair grid processed at once (``n``: all, no recomputation)."""
        if self.pair_chunk_size is not None:
            return min(self.pair_chunk_size, n)
        if self.pair_memory_budget_mb is None:
            return n
        # Per pair and g layer: the linear output, the ReLU output and one gradient buffer.
        bytes_per_row = batch * n * self._pair_widths * element_size * 3
        return max(1, min(n, int(self.pair_memory_budget_mb * 2**20 // bytes_per_row)))

    def _pair_mask(self, objects: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
        return pair_mask(objects, mask, self_pairs=self.self_pairs)

    @staticmethod
    def _pair_count(objects: torch.Tensor, pair_mask: torch.Tensor | None) -> torch.Tensor:
        """Number of valid pairs per sample, at least 1: ``(B,)``."""
        if pair_mask is None:
            n = objects.shape[1]
            return torch.full((objects.shape[0],), float(n * n), device=objects.device)
        return pair_mask.sum(dim=(1, 2)).clamp(min=1).float()

    def _checked_objects(
        self, objects: torch.Tensor, condition: torch.Tensor | None, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Validate the inputs; returns the objects with padded ones zeroed (inf/NaN padding is harmless)."""
        self._check_inputs(objects, condition, mask)
        return objects if mask is None else objects.masked_fill(~mask[..., None], 0.0)

    def _check_inputs(self, objects: torch.Tensor, condition: torch.Tensor | None, mask: torch.Tensor | None) -> None:
        if objects.dim() != 3 or objects.shape[-1] != self.object_dim or objects.shape[1] == 0:
            raise ValueError(
                f"objects must have shape (batch, n_objects >= 1, {self.object_dim}), got {tuple(objects.shape)}"
            )
        batch = objects.shape[0]
        if self.condition_dim:
            if condition is None:
                raise ValueError(f"this RelationNetwork expects a condition of shape (batch, {self.condition_dim})")
            if condition.shape != (batch, self.condition_dim):
                raise ValueError(
                    f"condition must have shape ({batch}, {self.condition_dim}), got {tuple(condition.shape)}"
                )
        elif condition is not None:
            raise ValueError("this RelationNetwork was built with condition_dim=0 but got a condition")
        if mask is not None and (mask.shape != objects.shape[:2] or mask.dtype != torch.bool):
            raise ValueError(
                f"mask must be a bool tensor of shape {tuple(objects.shape[:2])}, got {mask.dtype} {tuple(mask.shape)}"
            )
