"""The pair grid: an MLP ``g`` over every ordered pair ``[x_i; x_j; q]`` of a set, summed, never built.

A Relation Network sums ``g`` over the pairs of its objects; every layer of a Multi-Layer Relation
Network sums ``g`` over the pairs of the previous layer's row sums. Both are :class:`PairwiseMLP`\\ s,
which holds the rules that make this cheap, written once:

- **Split first layer.** ``g``'s first layer is linear, so

      W [x_i; x_j; q] + b = (W_i x_i + W_q q + b) + W_j x_j

  is computed once per element (and once per sample for ``q``), and the two ``(B, n, h)`` terms are
  broadcast-added into the ``(B, n, n, h)`` first hidden layer. The ``(B, n, n, 2d + c)`` tensor of
  concatenated pairs is never materialised.
- **Chunks of rows with recomputation.** The grid can be processed a block of rows ``i`` at a time,
  each block recomputed in backward instead of stored, which bounds activation memory whatever ``n``
  is; the block size is fixed or picked from a memory budget.
- **Masks.** Padded elements and, optionally, the self pairs ``(i, i)`` drop out of every sum through
  one ``(B, n, n)`` pair mask.

The module-level helpers check the inputs and options both owners accept and count the valid terms
of ``reduction="mean"``. :mod:`relnet.nn.reference` holds the textbook concatenating implementations
the fast path is tested against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from relnet.nn.mlp import MLP

Reduction = Literal["sum", "mean"]


class PairwiseMLP(nn.Module):
    """Base of the modules that run an MLP ``g`` over every ordered pair ``[x_i; x_j; q]`` of a set.

    ``g = rest ∘ relu ∘ first``: ``first`` is one :class:`~torch.nn.Linear` over the concatenated pair
    (so the fast and the reference path share every parameter) and ``rest`` the remaining layers.
    A subclass owns the two layers under the attribute names its saved weights use (built by
    :func:`build_g`) and returns them from :meth:`g_layers`; everything else is here.

    Shapes, for every method: ``x`` ``(B, n, d)`` (the set, padding already zeroed), ``condition``
    ``(B, c)`` or ``None`` (when ``g`` has no condition), ``pair_mask`` ``(B, n, n)`` bool (``True``: the
    pair counts) or ``None`` (every pair counts), ``out`` = the width of ``g``'s last layer.
    """

    def g_layers(self) -> tuple[nn.Linear, nn.Module]:
        """``g``'s first layer (linear, over ``[x_i; x_j; q]``) and the layers after it."""
        raise NotImplementedError

    def sum_over_pairs(
        self,
        x: torch.Tensor,
        condition: torch.Tensor | None,
        pair_mask: torch.Tensor | None,
        *,
        per_row: bool,
        chunk_size: int | None = None,
        memory_budget_mb: float | None = None,
    ) -> torch.Tensor:
        """``Σ_j g(x_i, x_j, q)`` per row, ``(B, n, out)`` (``per_row``), or ``Σ_ij``, ``(B, out)``.

        The per-row sums keep ``g``'s dtype; the total is accumulated in fp32 (fp64 for an fp64 ``g``),
        because under bf16 autocast the sum of many chunk sums would otherwise lose precision.
        ``chunk_size`` rows (or as many as ``memory_budget_mb`` allows, see :meth:`rows_per_chunk`)
        are processed at once; smaller chunks than ``n`` are recomputed in backward.
        """
        row_term, column_term = self.first_layer_terms(x, condition)
        n = x.shape[1]
        chunk = self.rows_per_chunk(
            x.shape[0], n, row_term.element_size(), chunk_size=chunk_size, memory_budget_mb=memory_budget_mb
        )
        parts = []
        # A loop over chunks of rows, not over pairs: one iteration when chunking is off.
        for start in range(0, n, chunk):
            rows = slice(start, start + chunk)
            chunk_mask = None if pair_mask is None else pair_mask[:, rows]
            if chunk < n and torch.is_grad_enabled():
                part = checkpoint(
                    self._reduce_rows, row_term[:, rows], column_term, chunk_mask, per_row, use_reentrant=False
                )
            else:
                part = self._reduce_rows(row_term[:, rows], column_term, chunk_mask, per_row)
            parts.append(part)
        if per_row:
            return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        accumulator = torch.promote_types(parts[0].dtype, torch.float32)
        return sum((part.to(accumulator) for part in parts[1:]), parts[0].to(accumulator))

    def every_pair(
        self, x: torch.Tensor, condition: torch.Tensor | None, pair_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Every pair's ``g`` output, pairs outside the mask zeroed: ``(B, n, n, out)``.

        For inspection (which pairs carry the signal); unlike the sums, memory grows with ``n²``.
        """
        outputs = self._g_on_grid(*self.first_layer_terms(x, condition))
        if pair_mask is not None:
            outputs = outputs * pair_mask[..., None].to(outputs.dtype)
        return outputs

    def first_layer_terms(self, x: torch.Tensor, condition: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Split ``g``'s first layer into a row term (``x_i``, ``q`` and bias) and a column term (``x_j``).

        Returns two ``(B, n, h)`` tensors whose broadcast sum ``row[:, :, None] + column[:, None]`` is
        the first pre-activation of every pair.
        """
        first, _ = self.g_layers()
        d, weight = x.shape[-1], first.weight
        row_term = F.linear(x, weight[:, :d])
        column_term = F.linear(x, weight[:, d : 2 * d])
        if condition is None:
            return row_term + first.bias, column_term
        per_sample = F.linear(condition, weight[:, 2 * d :], first.bias)  # (B, h): once per sample
        return row_term + per_sample[:, None, :], column_term

    def rows_per_chunk(
        self,
        batch: int,
        n: int,
        element_size: int,
        *,
        chunk_size: int | None = None,
        memory_budget_mb: float | None = None,
    ) -> int:
        """Rows ``i`` of an ``n × n`` grid processed at once (``n``: all, no recomputation).

        ``chunk_size`` wins; otherwise the largest chunk whose activations (``element_size`` bytes a
        value) fit ``memory_budget_mb``; with neither, every row.
        """
        if chunk_size is not None:
            return min(chunk_size, n)
        if memory_budget_mb is None:
            return n
        first, rest = self.g_layers()
        later = sum(layer.out_features for layer in rest.modules() if isinstance(layer, nn.Linear))
        widths = first.out_features + later
        # Per pair and g layer: the linear output, the ReLU output and one gradient buffer.
        bytes_per_row = batch * n * widths * element_size * 3
        return max(1, min(n, int(memory_budget_mb * 2**20 // bytes_per_row)))

    def _reduce_rows(
        self, row_term: torch.Tensor, column_term: torch.Tensor, pair_mask: torch.Tensor | None, per_row: bool
    ) -> torch.Tensor:
        """``g`` summed over the pairs of ``r`` rows: ``(B, r, h), (B, n, h), (B, r, n)`` →
        ``(B, r, out)`` (``per_row``) or ``(B, out)``."""
        relations = self._g_on_grid(row_term, column_term)
        if pair_mask is None:
            return relations.sum(dim=2 if per_row else (1, 2))
        return torch.einsum("bijh,bij->bih" if per_row else "bijh,bij->bh", relations, pair_mask.to(relations.dtype))

    def _g_on_grid(self, row_term: torch.Tensor, column_term: torch.Tensor) -> torch.Tensor:
        """``g`` on the pairs of ``r`` rows and ``n`` columns: ``(B, r, h), (B, n, h) → (B, r, n, out)``."""
        _, rest = self.g_layers()
        return rest(F.relu(row_term[:, :, None, :] + column_term[:, None, :, :]))


def build_g(input_dim: int, widths: Sequence[int], condition_dim: int = 0) -> tuple[nn.Linear, nn.Module]:
    """``g``'s layers for a :class:`PairwiseMLP`: a linear layer over ``[x_i; x_j; q]``
    (``2 * input_dim + condition_dim`` features) to ``widths[0]``, then ``Linear → ReLU`` layers to
    the other widths (the first layer's ReLU is applied by the pair grid, after the split)."""
    if not widths:
        raise ValueError("g needs at least one layer width")
    first = nn.Linear(2 * input_dim + condition_dim, widths[0])
    rest: nn.Module = MLP(widths[0], widths[1:]) if len(widths) > 1 else nn.Identity()
    return first, rest


class SetModule(Protocol):
    """What :func:`prepare_inputs` reads of a module over a set of objects."""

    object_dim: int
    condition_dim: int
    self_pairs: bool


def prepare_inputs(
    module: SetModule, objects: torch.Tensor, condition: torch.Tensor | None, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Check the inputs of ``module``; returns the objects with padding zeroed and the pair mask.

    ``objects`` ``(B, n, object_dim)``, ``condition`` ``(B, condition_dim)`` (``None`` when
    ``condition_dim`` is 0), ``mask`` ``(B, n)`` bool or ``None`` → ``(B, n, object_dim)`` and
    :func:`pair_mask`'s ``(B, n, n)`` or ``None``. Zeroing the padding makes inf/NaN there harmless.
    """
    name = type(module).__name__
    if objects.dim() != 3 or objects.shape[-1] != module.object_dim or objects.shape[1] == 0:
        raise ValueError(
            f"objects must have shape (batch, n_objects >= 1, {module.object_dim}), got {tuple(objects.shape)}"
        )
    batch = objects.shape[0]
    if module.condition_dim:
        if condition is None or condition.shape != (batch, module.condition_dim):
            got = None if condition is None else tuple(condition.shape)
            raise ValueError(
                f"this {name} expects a condition: condition must have shape ({batch}, {module.condition_dim}), "
                f"got {got}"
            )
    elif condition is not None:
        raise ValueError(f"this {name} was built with condition_dim=0 but got a condition")
    check_mask(mask, objects.shape[:2])
    if mask is not None:
        objects = objects.masked_fill(~mask[..., None], 0.0)
    return objects, pair_mask(objects, mask, self_pairs=module.self_pairs)


def check_mask(mask: torch.Tensor | None, shape: Sequence[int], name: str = "mask") -> None:
    """Refuse a ``mask`` (``None`` passes) that is not a bool tensor of ``shape``."""
    if mask is not None and (mask.shape != tuple(shape) or mask.dtype != torch.bool):
        raise ValueError(f"{name} must be a bool tensor of shape {tuple(shape)}, got {mask.dtype} {tuple(mask.shape)}")


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


def valid_count(
    mask: torch.Tensor | None, dims: tuple[int, ...], shape: Sequence[int], device: torch.device
) -> torch.Tensor:
    """The number of terms of a ``"mean"``: ``True`` entries of ``mask`` along ``dims``, at least 1, fp32.

    ``mask`` is a bool tensor of ``shape`` or ``None`` (every entry counts); the result has ``shape``
    without ``dims``, e.g. ``(B, n, n)`` pairs over ``(1, 2)`` → ``(B,)``, over ``(2,)`` → ``(B, n)``.
    """
    if mask is None:
        kept = [size for axis, size in enumerate(shape) if axis not in dims]
        return torch.full(kept, float(math.prod(shape[axis] for axis in dims)), device=device)
    return mask.sum(dim=dims).clamp(min=1).float()


def check_pair_options(reduction: str, pair_chunk_size: int | None, pair_memory_budget_mb: float | None) -> None:
    """Refuse constructor options of a pair-grid module that cannot work, with the reason."""
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
    if pair_chunk_size is not None and pair_chunk_size < 1:
        raise ValueError(f"pair_chunk_size must be a positive integer or None, not {pair_chunk_size}")
    if pair_memory_budget_mb is not None and (pair_chunk_size is not None or not pair_memory_budget_mb > 0):
        raise ValueError("give either pair_chunk_size or a positive pair_memory_budget_mb, not both")
