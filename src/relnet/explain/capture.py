"""Find the relation module inside any task model and catch what it is given, without per-task code.

Task models wire objects, a question and a mask into a :class:`~relnet.nn.RelationNetwork` (or a
:class:`~relnet.nn.MultiLayerRelationNetwork`) in their own ways. A forward pre-hook on that module
records its inputs during an ordinary forward pass of the model, so the exact pair terms
(:func:`relnet.nn.attribution.pair_terms`) are computed from exactly what the model used.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from relnet.errors import RelnetError
from relnet.nn.attribution import PairTerms, RelationModule, pair_terms
from relnet.nn.mlrn import MultiLayerRelationNetwork
from relnet.nn.relation import RelationNetwork

#: How far ``f(S)`` rebuilt from the pair terms may lie from the model's own output, relative to the
#: output's size, before the model's answer is judged not to be its relation module's output.
RECONSTRUCTION_TOLERANCE = 1e-3


def relation_module(model: nn.Module, what: str) -> RelationModule:
    """The one RN or MLRN inside ``model``; ``what`` names the model in the error messages."""
    found = [module for module in model.modules() if isinstance(module, RelationNetwork | MultiLayerRelationNetwork)]
    if not found:
        raise RelnetError(f"{what} has no Relation Network (RN or MLRN) to explain; `relnet explain` needs one")
    if len(found) > 1:
        raise RelnetError(f"{what} has {len(found)} relation modules; `relnet explain` explains models with one")
    return found[0]


@torch.no_grad()
def forward_with_terms(model: nn.Module, relation: RelationModule, batch: dict[str, torch.Tensor]) -> PairTerms:
    """Run ``model`` on ``batch`` and return the pair terms of ``relation`` on the inputs it received.

    ``f`` of the terms' sum must give the model's output ``(B, A)`` (the answer is the relation
    module's output, as in every relnet RN and MLRN model); otherwise a :class:`RelnetError` says so,
    since the attribution would then explain something other than the answer.
    """
    captured: dict[str, Any] = {}
    signature = inspect.signature(relation.forward)

    def remember(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        captured.update(signature.bind(*args, **kwargs).arguments)

    handle = relation.register_forward_pre_hook(remember, with_kwargs=True)
    try:
        output = model(batch)
    finally:
        handle.remove()
    if not captured:
        raise RelnetError(f"the model never called its {type(relation).__name__}; nothing to explain")
    terms = pair_terms(relation, captured["objects"], captured.get("condition"), captured.get("mask"))
    rebuilt = terms.output()
    if rebuilt.shape != output.shape:
        raise RelnetError(
            f"the model's output {tuple(output.shape)} is not its relation module's {tuple(rebuilt.shape)}; "
            "the pair attribution explains models whose answer is the RN's output"
        )
    error = float((rebuilt.float() - output.float()).abs().max())
    if error > RECONSTRUCTION_TOLERANCE * (1.0 + float(output.float().abs().max())):
        raise RelnetError(
            f"f(sum of the pair terms) differs from the model's output by {error:.3g}: the model's answer "
            "is not its relation module's output, so the pair attribution would not explain it"
        )
    return terms
