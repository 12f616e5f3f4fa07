"""Multi-layer perceptrons, the building block of g and f."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import nn


class MLP(nn.Sequential):
    """A stack of ``Linear -> ReLU [-> Dropout]`` layers.

    Args:
        input_dim: features of the input.
        widths: output width of every layer, in order.
        activate_last: apply ReLU after the last layer too (``g`` in the RN paper does; a head that
            produces logits does not).
        dropout: dropout probability after the activation of each hidden layer (not after the last).

    Shape:
        ``(..., input_dim) -> (..., widths[-1])``.
    """

    def __init__(
        self, input_dim: int, widths: Sequence[int], *, activate_last: bool = True, dropout: float = 0.0
    ) -> None:
        if not widths:
            raise ValueError("MLP needs at least one layer width")
        layers: list[nn.Module] = []
        for index, (previous, width) in enumerate(itertools.pairwise((input_dim, *widths))):
            is_last = index == len(widths) - 1
            layers.append(nn.Linear(previous, width))
            if not is_last or activate_last:
                layers.append(nn.ReLU())
            if not is_last and dropout > 0:
                layers.append(nn.Dropout(dropout))
        super().__init__(*layers)
        self.input_dim, self.output_dim = input_dim, widths[-1]
