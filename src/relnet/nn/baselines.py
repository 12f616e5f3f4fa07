"""Baselines the papers compare the relational modules against."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from relnet.nn.mlp import MLP
from relnet.nn.objects import conv_stack


class ConvMLP(nn.Module):
    """CNN + MLP (the RN paper's baseline): the whole flattened feature map, joined with the question.

    Args:
        image_size: ``(H, W)`` of the input, which fixes the flattened feature size.
        in_channels, channels: of the CNN (the same CNN the RN model uses).
        condition_dim: size of the question vector appended to the image features.
        widths: hidden widths of the MLP; a final linear layer to ``output_dim`` follows.
        dropout: after each hidden MLP layer.

    Shape: images ``(B, C, H, W)``, condition ``(B, condition_dim)`` → ``(B, output_dim)``.
    """

    def __init__(
        self,
        image_size: tuple[int, int],
        output_dim: int,
        *,
        in_channels: int = 3,
        channels: Sequence[int] = (32, 64, 128, 256),
        condition_dim: int = 0,
        widths: Sequence[int] = (256, 256),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.cnn = conv_stack(in_channels, channels)
        with torch.no_grad():
            flat = self.cnn.eval()(torch.zeros(1, in_channels, *image_size)).numel()
        self.cnn.train()
        self.condition_dim = condition_dim
        self.mlp = MLP(flat + condition_dim, [*widths, output_dim], activate_last=False, dropout=dropout)

    def forward(self, images: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, H, W), (B, condition_dim) -> (B, output_dim)``."""
        return self.head(self.cnn(images).flatten(1), condition)

    def head(self, features: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """The MLP on flattened CNN features: ``(B, cnn_dim), (B, condition_dim) -> (B, output_dim)``."""
        if self.condition_dim:
            if condition is None:
                raise ValueError(f"ConvMLP expects a condition of shape (batch, {self.condition_dim})")
            features = torch.cat([features, condition.to(features.dtype)], dim=-1)
        return self.mlp(features)
