"""The textbook implementations of the RN and the MLRN: build every ``[x_i; x_j; q]``, run ``g`` on it.

They use the parameters of a :class:`~relnet.nn.RelationNetwork` or
:class:`~relnet.nn.MultiLayerRelationNetwork` and compute the same function as its ``forward``, in
``O(B n² (2d + c))`` memory: the ground truth the fast pair grid (:mod:`relnet.nn.pairs`) is tested
against, and the naive path of ``relnet bench rn`` and ``relnet bench rn-training``. Not for training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from relnet.nn.mlrn import MultiLayerRelationNetwork
from relnet.nn.pairs import PairwiseMLP, prepare_inputs, valid_count
from relnet.nn.relation import RelationNetwork


def relation_network_reference(
    rn: RelationNetwork, objects: torch.Tensor, condition: torch.Tensor | None = None, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``rn(objects, condition, mask)`` on materialised pairs: ``(B, n, d) → (B, output_dim)``."""
    objects, pair_mask = prepare_inputs(rn, objects, condition, mask)
    batch, n = objects.shape[:2]
    total = concatenated_pairs_g(rn, objects, condition, pair_mask).sum(dim=(1, 2))
    if rn.reduction == "mean":
        total = total / valid_count(pair_mask, (1, 2), (batch, n, n), objects.device).to(total.dtype)[:, None]
    return rn.f(total)


def mlrn_reference(
    mlrn: MultiLayerRelationNetwork,
    objects: torch.Tensor,
    condition: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``mlrn(objects, condition, mask)``, every layer on materialised pairs: ``(B, n, d) → (B, output_dim)``."""
    rows, pair_mask = prepare_inputs(mlrn, objects, condition, mask)
    batch, n = objects.shape[:2]
    for layer in mlrn.layers:
        rows = concatenated_pairs_g(layer, rows, condition, pair_mask).sum(dim=2)
        if mlrn.reduction == "mean":
            rows = rows / valid_count(pair_mask, (2,), (batch, n, n), objects.device).to(rows.dtype)[..., None]
    total = rows.sum(dim=1)
    if mlrn.reduction == "mean":
        total = total / valid_count(mask, (1,), (batch, n), objects.device).to(total.dtype)[:, None]
    return mlrn.f(total)


def concatenated_pairs_g(
    module: PairwiseMLP, x: torch.Tensor, condition: torch.Tensor | None, pair_mask: torch.Tensor | None
) -> torch.Tensor:
    """``g([x_i; x_j; q])`` on the built ``(B, n, n, 2d + c)`` pair tensor, pairs outside the mask
    zeroed: ``(B, n, d), (B, c) or None, (B, n, n) or None → (B, n, n, out)``."""
    first, rest = module.g_layers()
    batch, n, dim = x.shape
    parts = [x[:, :, None, :].expand(batch, n, n, dim), x[:, None, :, :].expand(batch, n, n, dim)]
    if condition is not None:
        parts.append(condition[:, None, None, :].expand(batch, n, n, condition.shape[-1]))
    relations = rest(F.relu(first(torch.cat(parts, dim=-1))))
    if pair_mask is not None:
        relations = relations * pair_mask[..., None].to(relations.dtype)
    return relations
