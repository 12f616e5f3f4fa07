"""One question's exact pair attribution: effects, the pairs that carry the answer, the deletion curve.

Everything here reads a :class:`~relnet.nn.attribution.PairTerms` (every pair's term of the relation
module's sum, and ``f``), so every number is exact: a removal is ``f(S - Σ_removed t_ij)``, never a
re-run of ``g`` and never an approximation. Pairs are ``(i, j)`` slot indices; only the pairs inside
the pair mask (real objects, and ``(i, i)`` where the module counts self pairs) are ever ranked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from relnet.nn.attribution import PairTerms

#: Pairs removed together by the joint-removal check that every explanation reports.
TOP_K = 5
#: Candidates the greedy deletion tries with one run of ``f`` before it doubles the window.
GREEDY_WINDOW = 32


@dataclass(frozen=True)
class Explanation:
    """The exact attribution of one question (``n`` objects, ``P`` valid pairs, ``A`` answers).

    Attributes:
        answer: the class the model answers (argmax of ``logits``).
        logits: ``(A,)``: ``f(S)``, the model's output.
        effects: ``(n, n)``: the exact drop of the answer's margin (its logit minus the largest other
            logit) when pair ``(i, j)`` alone is removed (0 outside the pair mask). Pairs are ranked by
            it: a logit alone is defined only up to a shift every class shares, and a log-probability
            saturates (to 0 in float64) when the model is sure; the margin is positive exactly while
            the answer stands.
        logit_effects: ``(n, n)``: the same drop of the answer's logit itself.
        norms: ``(n, n)``: ``‖g_ij‖``, the heuristic strength ``relnet show`` draws.
        pair_mask: ``(n, n)`` bool: the valid pairs.
        removal_order: ``(P, 2)``: the pairs by decreasing effect, the order of ``curve``.
        curve: ``(P + 1,)``: the answer's probability after removing the first ``k`` pairs of
            ``removal_order``, ``k = 0 … P``.
        flip_after: the smallest such ``k`` at which the answer changes (``None``: it never does).
        kept: ``(K, 2)``: the pairs greedy deletion keeps; ``f`` of their terms alone still gives
            ``answer``, and removing any one of them changes it.
        kept_logits: ``(A,)``: ``f`` of the kept pairs' terms alone.
        top: ``(min(TOP_K, P), 2)``: the pairs with the largest ``|effect|``, largest first.
        top_removed_logits: ``(A,)``: ``f(S - Σ_top t_ij)``, the output without the ``top`` pairs together.
        spearman: rank correlation of ``norms`` with ``effects`` over the valid pairs (NaN when
            either is constant).
        spearman_abs: the same with ``|effects|``.
    """

    answer: int
    logits: torch.Tensor
    effects: torch.Tensor
    logit_effects: torch.Tensor
    norms: torch.Tensor
    pair_mask: torch.Tensor
    removal_order: torch.Tensor
    curve: torch.Tensor
    flip_after: int | None
    kept: torch.Tensor
    kept_logits: torch.Tensor
    top: torch.Tensor
    top_removed_logits: torch.Tensor
    spearman: float
    spearman_abs: float

    @property
    def valid_pairs(self) -> int:
        return int(self.pair_mask.sum())

    def top_overlap(self, k: int = TOP_K) -> float:
        """The share of the ``k`` pairs with the largest ``|effect|`` that are also among the ``k``
        largest norms (the heuristic's top ``k``)."""
        k = min(k, self.valid_pairs)
        by_effect = _top_indices(self.effects.abs(), self.pair_mask, k)
        by_norm = _top_indices(self.norms, self.pair_mask, k)
        return len(set(by_effect.tolist()) & set(by_norm.tolist())) / k


@torch.no_grad()
def explain_batch(terms: PairTerms) -> list[Explanation]:
    """One :class:`Explanation` per example of ``terms`` (``(B, n, n, h)``); run in float64 for
    searches whose sums must not drift (``terms.to(torch.float64)``)."""
    logits = terms.output()
    answers = logits.argmax(dim=-1)
    effects = terms.removal_effects(answers, margin=True)
    logit_effects = terms.removal_effects(answers)
    norms = terms.outputs.norm(dim=-1)
    return [
        _explain_one(terms, row, int(answers[row]), logits[row], effects[row], logit_effects[row], norms[row])
        for row in range(len(answers))
    ]


def _explain_one(
    terms: PairTerms,
    row: int,
    answer: int,
    logits: torch.Tensor,
    effects: torch.Tensor,
    logit_effects: torch.Tensor,
    norms: torch.Tensor,
) -> Explanation:
    mask = terms.pair_mask[row]
    n = mask.shape[0]
    valid = mask.flatten().nonzero().squeeze(1)  # (P,) flat indices of the valid pairs
    flat_terms = terms.terms[row].flatten(0, 1)[valid]  # (P, h)
    flat_effects = effects.flatten()[valid]
    total = flat_terms.sum(dim=0)
    head = terms.head

    order = flat_effects.argsort(descending=True)
    remaining = total - flat_terms[order].cumsum(dim=0)  # (P, h): after removing the first k + 1
    after = head(remaining)
    probabilities = torch.cat([logits.softmax(-1)[answer : answer + 1], after.softmax(-1)[:, answer]])
    changed = (after.argmax(-1) != answer).nonzero()
    flip_after = int(changed[0]) + 1 if len(changed) else None

    kept_positions, kept_sum = _greedy_keep(head, total, flat_terms, flat_effects, answer)
    top = _top_indices(effects.abs(), mask, min(TOP_K, len(valid)))
    removed = torch.zeros(n * n, dtype=torch.bool, device=mask.device)
    removed[top] = True
    top_removed = head(total - terms.terms[row].flatten(0, 1)[removed].sum(dim=0))
    return Explanation(
        answer=answer,
        logits=logits,
        effects=effects,
        logit_effects=logit_effects,
        norms=norms,
        pair_mask=mask,
        removal_order=_pairs(valid[order], n),
        curve=probabilities,
        flip_after=flip_after,
        kept=_pairs(valid[kept_positions], n),
        kept_logits=head(kept_sum),
        top=_pairs(top, n),
        top_removed_logits=top_removed,
        spearman=spearman(norms.flatten()[valid], flat_effects),
        spearman_abs=spearman(norms.flatten()[valid], flat_effects.abs()),
    )


def _greedy_keep(
    head: torch.nn.Module, total: torch.Tensor, terms: torch.Tensor, effects: torch.Tensor, answer: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy deletion: a set of pairs whose terms alone still give ``answer``.

    ``terms`` ``(P, h)``, ``effects`` ``(P,)`` → positions into them ``(K,)`` and their sum ``(h,)``.
    Pairs are tried from the least supportive (lowest effect) up; each is removed when the answer
    survives its removal, else kept. A second pass then removes any kept pair the answer no longer
    needs, until every kept pair is needed (removing any one alone changes the answer). Candidates
    are tested a window at a time with cumulative sums (one run of ``f`` per window), which gives
    the same result as testing them one by one.
    """
    remaining = effects.argsort()
    current = total
    kept: list[int] = []
    window = GREEDY_WINDOW
    while len(remaining):
        candidates = remaining[:window]
        sums = current - terms[candidates].cumsum(dim=0)
        survives = head(sums).argmax(-1) == answer
        if bool(survives.all()):
            current, remaining, window = sums[-1], remaining[window:], window * 2
            continue
        first = int((~survives).nonzero()[0])
        if first > 0:
            current = sums[first - 1]
        kept.append(int(candidates[first]))
        remaining = remaining[first + 1 :]
    trimmed = True
    while trimmed and kept:  # every kept pair must still be needed now that the others are gone
        trimmed = False
        for position in list(kept):
            smaller = current - terms[position]
            if int(head(smaller).argmax()) == answer:
                current, trimmed = smaller, True
                kept.remove(position)
    positions = torch.tensor(kept, dtype=torch.long, device=terms.device)
    return positions, terms[positions].sum(dim=0)


def _top_indices(values: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """Flat indices of the ``k`` largest ``values`` ``(n, n)`` inside ``mask``, largest first."""
    masked = values.flatten().masked_fill(~mask.flatten(), -math.inf)
    return masked.topk(k).indices


def _pairs(flat: torch.Tensor, n: int) -> torch.Tensor:
    """Flat indices into an ``n × n`` grid → ``(len(flat), 2)`` pairs ``(i, j)``."""
    return torch.stack([flat // n, flat % n], dim=1)


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two ``(P,)`` tensors (ties get their mean rank); NaN when
    either is constant or ``P < 2``."""
    if len(a) < 2:
        return math.nan
    ranks_a, ranks_b = _ranks(a), _ranks(b)
    ranks_a, ranks_b = ranks_a - ranks_a.mean(), ranks_b - ranks_b.mean()
    scale = (ranks_a.square().sum() * ranks_b.square().sum()).sqrt()
    return float((ranks_a * ranks_b).sum() / scale) if scale > 0 else math.nan


def _ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks of ``values`` ``(P,)`` in float64, tied values sharing their mean rank."""
    order = values.argsort()
    _, block, counts = torch.unique_consecutive(values[order], return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).to(torch.float64)
    mean_rank = ends - (counts.to(torch.float64) - 1) / 2
    ranks = torch.empty(len(values), dtype=torch.float64, device=values.device)
    ranks[order] = mean_rank[block]
    return ranks
