"""The Relation Network of Santoro et al. (2017): ``RN(O, q) = f(sum_ij g(o_i, o_j, q))``.

The cost of an RN is its sum over all n² ordered object pairs. Implementations usually build the
``(B, n, n, 2d + c)`` tensor of concatenated pairs and run ``g`` on it. This module never does: it is a
:class:`~relnet.nn.pairs.PairwiseMLP` (split first layer, chunks of rows recomputed in backward; see
:mod:`relnet.nn.pairs`). :func:`relnet.nn.reference.relation_network_reference` is the plain
concatenating implementation, kept as the ground truth the fast path is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from relnet.nn.mlp import MLP
from relnet.nn.pairs import PairwiseMLP, Reduction, build_g, check_pair_options, prepare_inputs, valid_count


class RelationNetwork(PairwiseMLP):
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
        check_pair_options(reduction, pair_chunk_size, pair_memory_budget_mb)
        self.object_dim, self.condition_dim, self.output_dim = object_dim, condition_dim, output_dim
        self.reduction: Reduction = reduction
        self.self_pairs = self_pairs
        self.pair_chunk_size, self.pair_memory_budget_mb = pair_chunk_size, pair_memory_budget_mb
        # The attribute names are those of the saved weights (``g_first.weight``, ``g_rest.0.weight``, ...).
        self.g_first, self.g_rest = build_g(object_dim, g_widths, condition_dim)
        self.relation_dim = g_widths[-1]
        self.f = MLP(self.relation_dim, [*f_widths, output_dim], activate_last=False, dropout=f_dropout)

    def g_layers(self) -> tuple[nn.Linear, nn.Module]:
        return self.g_first, self.g_rest

    def forward(
        self, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``f(sum_ij g(o_i, o_j, q))`` without materialising pairs: ``(B, n, d) -> (B, output_dim)``."""
        return self.f(self.pair_sum(objects, condition, mask))

    def pair_sum(
        self, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The reduced relation vector ``sum_ij g(o_i, o_j, q)``: ``(B, n, d) -> (B, relation_dim)``.

        Accumulated in fp32 whatever the autocast dtype (fp64 for an fp64 network).
        """
        objects, pair_mask = prepare_inputs(self, objects, condition, mask)
        total = self.sum_over_pairs(
            objects,
            condition,
            pair_mask,
            per_row=False,
            chunk_size=self.pair_chunk_size,
            memory_budget_mb=self.pair_memory_budget_mb,
        )
        if self.reduction == "mean":
            n = objects.shape[1]
            total = total / valid_count(pair_mask, (1, 2), (objects.shape[0], n, n), objects.device)[:, None]
        return total

    def pair_outputs(
        self, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Every pair's ``g`` output, masked pairs zeroed: ``(B, n, d) -> (B, n, n, relation_dim)``.

        For inspection (which pairs carry the most relational signal); memory grows with n².
        """
        objects, pair_mask = prepare_inputs(self, objects, condition, mask)
        return self.every_pair(objects, condition, pair_mask)
