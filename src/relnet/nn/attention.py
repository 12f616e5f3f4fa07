"""Stacked attention (Yang et al. 2016, "Stacked Attention Networks for Image Question Answering").

A question vector ``u`` attends over a set of feature cells ``v_i`` (CNN feature-map cells, objects)
several times; each hop refines the query with what it attended to:

    h_i = tanh(W_I v_i + W_Q u + b)          (attention_dim)
    p   = softmax_i(w_P · h_i + b_P)         (over the valid cells)
    u  <- u + sum_i p_i v_i

The cells are first projected to the query's size (``v_i = tanh(W_V f_i + b_V)``, as the paper's image
features are) so they can be added to it. Each hop has its own ``W_I``, ``W_Q`` and ``w_P``.
"""

from __future__ import annotations

import torch
from torch import nn

from relnet.nn.pairs import check_mask


class StackedAttention(nn.Module):
    """Question-guided attention over feature cells, ``hops`` times; returns the refined query.

    Args:
        feature_dim: features per cell, ``d``.
        query_dim: size of the query vector ``k`` (and of the refined query it returns).
        attention_dim: width of the attention MLP's hidden layer.
        hops: attention layers stacked (the paper: 2).

    Shapes:
        features ``(B, n, feature_dim)``, query ``(B, query_dim)``, mask ``(B, n)`` bool (``True``: a
        real cell) → refined query ``(B, query_dim)``; with ``return_attention=True`` also the attention
        maps ``(B, hops, n)`` (each row sums to 1 over the valid cells, 0 on masked ones).
    """

    def __init__(self, feature_dim: int, query_dim: int, *, attention_dim: int = 512, hops: int = 2) -> None:
        super().__init__()
        if hops < 1:
            raise ValueError(f"hops must be at least 1, not {hops}")
        self.feature_dim, self.query_dim, self.hops = feature_dim, query_dim, hops
        self.values = nn.Linear(feature_dim, query_dim)
        # W_I has no bias: W_Q's bias already offsets the sum.
        self.cell_terms = nn.ModuleList(nn.Linear(query_dim, attention_dim, bias=False) for _ in range(hops))
        self.query_terms = nn.ModuleList(nn.Linear(query_dim, attention_dim) for _ in range(hops))
        self.scores = nn.ModuleList(nn.Linear(attention_dim, 1) for _ in range(hops))

    def forward(
        self,
        features: torch.Tensor,
        query: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``(B, n, d), (B, k) -> (B, k)`` [and the attention maps ``(B, hops, n)``]."""
        self._check(features, query, mask)
        values = torch.tanh(self.values(features))  # (B, n, k)
        maps = []
        for cell_term, query_term, score in zip(self.cell_terms, self.query_terms, self.scores, strict=True):
            hidden = torch.tanh(cell_term(values) + query_term(query)[:, None, :])  # (B, n, a)
            logits = score(hidden).squeeze(-1)  # (B, n)
            if mask is not None:
                logits = logits.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(logits, dim=-1)
            if mask is not None:
                # A sample without any valid cell would get NaN weights: it attends to nothing instead.
                weights = weights.nan_to_num(0.0)
            query = query + torch.einsum("bn,bnk->bk", weights, values)
            maps.append(weights)
        return (query, torch.stack(maps, dim=1)) if return_attention else query

    def _check(self, features: torch.Tensor, query: torch.Tensor, mask: torch.Tensor | None) -> None:
        if features.dim() != 3 or features.shape[-1] != self.feature_dim:
            raise ValueError(f"features must have shape (batch, n, {self.feature_dim}), got {tuple(features.shape)}")
        if query.shape != (features.shape[0], self.query_dim):
            raise ValueError(f"query must have shape ({features.shape[0]}, {self.query_dim}), got {tuple(query.shape)}")
        check_mask(mask, features.shape[:2])
