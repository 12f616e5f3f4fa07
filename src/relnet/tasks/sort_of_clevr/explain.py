"""Which object pairs drove an answer: per-pair strength of ``g``'s output, with object positions."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from relnet.nn.objects import coordinate_grid, images_to_float
from relnet.tasks.sort_of_clevr.models import PixelRelationNetwork, StateRelationNetwork


@dataclass(frozen=True)
class PairExplanation:
    """``strength (B, n, n)``: the norm of ``g(o_i, o_j, q)``; ``positions (B, n, 2)``: (x, y) in pixels."""

    strength: torch.Tensor
    positions: torch.Tensor


@torch.no_grad()
def explain_pairs(model: torch.nn.Module, batch: dict[str, torch.Tensor], image_size: int) -> PairExplanation | None:
    """Pair strengths for RN models; ``None`` for models without pairs (CNN+MLP)."""
    if isinstance(model, PixelRelationNetwork):
        images = images_to_float(batch["image"])
        objects = model.objects(images)
        height, width = model.objects.grid_size(images.shape[-2], images.shape[-1])
        grid = (coordinate_grid(height, width) + 1) / 2 * (image_size - 1)  # cell centres in pixels
        positions = grid.expand(len(objects), -1, -1)
        outputs = model.relation.pair_outputs(objects, batch["question"])
    elif isinstance(model, StateRelationNetwork):
        rows = batch["state"]
        positions = (rows[..., -2:] + 1) / 2 * image_size
        outputs = model.relation.pair_outputs(model.objects(rows), batch["question"])
    else:
        return None
    return PairExplanation(outputs.float().norm(dim=-1), positions)
