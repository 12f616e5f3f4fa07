"""Exact pair attributions: what removing any set of object pairs does to a Relation Network's output.

A :class:`~relnet.nn.RelationNetwork` computes ``f(S)`` with

    S = Σ_ij w_ij g(o_i, o_j, q)

where ``w_ij`` is 1 for ``reduction="sum"``, ``1 / (number of valid pairs)`` for ``"mean"`` and 0 for a
pair outside the mask (padding, or ``(i, i)`` without ``self_pairs``). Once every pair's term
``t_ij = w_ij g(o_i, o_j, q)`` is known, the output without a set ``R`` of pairs is

    f(S - Σ_{(i, j) ∈ R} t_ij)

one run of ``f`` and none of ``g``. The identity is exact (up to the rounding of the sums), not a
gradient or a sampling estimate. *Removing* a pair means dropping its term with every other weight
unchanged: ``"mean"`` keeps dividing by the input's number of valid pairs, exactly as if ``g``'s output
for that pair were zeroed inside the network.

A :class:`~relnet.nn.MultiLayerRelationNetwork` ends the same way, ``f(Σ_ij w_ij hᵀ_ij)`` with
``hᵀ_ij = gᵀ(s_i, s_j, q)`` over the row sums ``s`` of the layer before, so the identity is exact for
the pairs of its **last** layer: ``(i, j)`` names the slots of objects ``i`` and ``j``, but ``s_i`` and
``s_j`` already mix every object (from the second layer on), so removing last-layer pair ``(i, j)`` is
not removing the object pair ``(i, j)`` from the input, which would change every layer. With one layer
an MLRN is an RN and the two statements coincide.

Unlike the modules' own forward passes, :func:`pair_terms` materialises every pair's ``g`` output,
``(B, n, n, h)``: it is an explanation tool for a few examples at a time, not a training path.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from relnet.nn.mlrn import MultiLayerRelationNetwork
from relnet.nn.pairs import prepare_inputs, valid_count
from relnet.nn.relation import RelationNetwork

RelationModule = RelationNetwork | MultiLayerRelationNetwork


@dataclass(frozen=True)
class PairTerms:
    """Every pair's term of a relation module's reduced sum, and the ``f`` that reads the sum.

    Attributes:
        terms: ``(B, n, n, h)``: ``t_ij = w_ij g_ij``, zero for pairs outside ``pair_mask``; their sum
            over ``(i, j)`` is the ``S`` that ``f`` reads.
        outputs: ``(B, n, n, h)``: ``g``'s output ``g_ij`` itself (zero outside ``pair_mask``), whose
            norm is the heuristic pair strength ``relnet show`` draws.
        pair_mask: ``(B, n, n)`` bool: the pairs that enter the sum.
        head: ``f``, ``(..., h) → (..., out)``.
    """

    terms: torch.Tensor
    outputs: torch.Tensor
    pair_mask: torch.Tensor
    head: nn.Module

    @property
    def total(self) -> torch.Tensor:
        """The reduced sum ``S``: ``(B, h)``."""
        return self.terms.sum(dim=(1, 2))

    def output(self, removed: torch.Tensor | None = None) -> torch.Tensor:
        """``f(S - Σ_removed t_ij)``, without running ``g``.

        ``removed``: ``None`` (nothing removed) → ``(B, out)``; ``(B, n, n)`` bool → ``(B, out)``;
        ``(B, K, n, n)`` bool (``K`` sets per example) → ``(B, K, out)``.
        """
        if removed is None:
            return self.head(self.total)
        weights = removed.to(self.terms.dtype)
        if removed.dim() == 3:
            return self.head(self.total - torch.einsum("bij,bijh->bh", weights, self.terms))
        return self.head(self.total[:, None] - torch.einsum("bkij,bijh->bkh", weights, self.terms))

    def outputs_without_each(self) -> torch.Tensor:
        """``f(S - t_ij)`` for every pair alone: ``(B, n, n, out)`` (``f(S)`` for pairs outside the mask)."""
        return self.head(self.total[:, None, None, :] - self.terms)

    def removal_effects(self, answer: torch.Tensor, *, margin: bool = False) -> torch.Tensor:
        """How much removing each pair alone lowers output ``answer``: ``(B,)`` long → ``(B, n, n)``.

        ``effect_ij = m(S) - m(S - t_ij)`` with ``m = out_a``, the answer's output, or with ``margin``
        ``m = out_a - max_{c ≠ a} out_c``, its lead over the strongest other class (for logits: free of
        the shift every class shares, and positive exactly while ``a`` stays the answer). Positive
        where the pair supports ``a``; exactly 0 for pairs outside the mask. Runs ``f`` on ``B · n²`` sums.
        """
        full, without = self.output(), self.outputs_without_each()
        measure = answer_margin if margin else answer_output
        effects = measure(full, answer)[:, None, None] - measure(without, answer[:, None, None])
        return effects * self.pair_mask  # exactly 0 outside the mask, however f's kernels round

    def to(self, dtype: torch.dtype) -> PairTerms:
        """A copy in ``dtype`` (e.g. float64 for long greedy searches), with its own copy of ``f``."""
        return PairTerms(
            self.terms.to(dtype), self.outputs.to(dtype), self.pair_mask, copy.deepcopy(self.head).to(dtype)
        )


@torch.no_grad()
def pair_terms(
    module: RelationModule,
    objects: torch.Tensor,
    condition: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> PairTerms:
    """The :class:`PairTerms` of ``module`` on one batch (the same inputs as its ``forward``).

    Shapes: objects ``(B, n, d)``, condition ``(B, c)`` or ``None``, mask ``(B, n)`` bool or ``None`` →
    terms ``(B, n, n, h)``. For an MLRN the pairs are those of its last layer (see the module
    docstring). Memory grows with ``B · n² · h``: pass a few examples at a time.
    """
    if isinstance(module, RelationNetwork):
        x, pair_mask = prepare_inputs(module, objects, condition, mask)
        outputs = module.every_pair(x, condition, pair_mask)
    elif isinstance(module, MultiLayerRelationNetwork):
        rows = _without_last_layer(module).last_row_sums(objects, condition, mask)
        _, pair_mask = prepare_inputs(module, objects, condition, mask)
        outputs = module.layers[-1].every_pair(rows, condition, pair_mask)
    else:
        raise TypeError(f"pair_terms needs a RelationNetwork or MultiLayerRelationNetwork, not {type(module).__name__}")
    batch, n = objects.shape[:2]
    if pair_mask is None:
        pair_mask = torch.ones(batch, n, n, dtype=torch.bool, device=objects.device)
    weights = pair_mask.to(outputs.dtype)
    if module.reduction == "mean" and isinstance(module, RelationNetwork):
        pairs = valid_count(pair_mask, (1, 2), (batch, n, n), objects.device).to(outputs.dtype)
        weights = weights / pairs[:, None, None]
    elif module.reduction == "mean":  # every row sum divided by its pairs, then the total by the objects
        per_row = valid_count(pair_mask, (2,), (batch, n, n), objects.device).to(outputs.dtype)
        per_object = valid_count(mask, (1,), (batch, n), objects.device).to(outputs.dtype)
        weights = weights / per_row[:, :, None] / per_object[:, None, None]
    return PairTerms(outputs * weights[..., None], outputs, pair_mask, module.f)


def answer_output(outputs: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
    """``outputs[..., answer]``: ``(..., out)`` and ``(...)`` long (or broadcastable to it) → ``(...)``."""
    answer = answer.expand(outputs.shape[:-1])
    return outputs.gather(-1, answer[..., None]).squeeze(-1)


def answer_margin(outputs: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
    """``outputs[..., answer] - max_{c ≠ answer} outputs[..., c]``: ``(..., out)``, ``(...)`` long → ``(...)``;
    positive exactly where ``answer`` is the argmax (alone)."""
    answer = answer.expand(outputs.shape[:-1])
    chosen = outputs.gather(-1, answer[..., None]).squeeze(-1)
    others = outputs.scatter(-1, answer[..., None], -torch.inf).amax(dim=-1)
    return chosen - others


def _without_last_layer(mlrn: MultiLayerRelationNetwork) -> MultiLayerRelationNetwork:
    """A shallow copy of ``mlrn`` (sharing every parameter) whose relation layers stop before the last,
    so that its ``last_row_sums`` are the inputs of ``mlrn``'s last layer (the objects themselves, with
    padding zeroed, for a one-layer MLRN)."""
    front = copy.copy(mlrn)
    front._modules = dict(mlrn._modules)  # the copy's own table, so that the original keeps its layers
    front.layers = nn.ModuleList(list(mlrn.layers)[:-1])
    return front
