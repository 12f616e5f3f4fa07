"""Recalibrating batch-norm statistics before evaluation ("precise BN").

A Relation Network sums ``g`` over all n² pairs, so a small error in a CNN's batch-norm running
statistics is amplified n² times in eval mode. With a learning rate high enough to train fast the
exponential running averages lag behind the weights, and eval-mode accuracy swings far below the
train-mode one (measured on Sort-of-CLEVR: 39% vs 72% relational at the same weights). Recomputing
the statistics as an exact average over fixed training batches with frozen weights removes that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn


def batch_norm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_batch_norm(
    model: nn.Module, batches: Iterable[Any], forward: Callable[[Any], Any] | None = None
) -> int:
    """Reset every batch-norm layer's running statistics to their exact average over ``batches``.

    ``forward(batch)`` runs the model (default ``model(batch)``). Weights are not touched; the
    model's train/eval mode is restored. Returns the number of batches used (0: no batch norm).
    """
    layers = batch_norm_layers(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    was_training = model.training
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative moving average: the exact mean over the batches
    model.train()
    count = 0
    try:
        for batch in batches:
            (forward or model)(batch)
            count += 1
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        model.train(was_training)
    return count
