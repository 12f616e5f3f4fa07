"""Baselines the papers compare the relational modules against."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from relnet.nn.attention import StackedAttention
from relnet.nn.mlp import MLP
from relnet.nn.objects import ConvObjects, conv_stack


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


class ConvStackedAttention(nn.Module):
    """CNN + stacked attention (the CNN+LSTM+SA baseline of the CLEVR and RN papers).

    A question vector attends over the CNN's feature-map cells (each tagged with its coordinates, as the
    RN's objects are, so the two models differ only in how they reason over the cells) for ``hops``
    rounds; an MLP maps the refined question vector to the output.

    Args:
        output_dim: size of the output (answer logits).
        condition_dim: size of the question vector (the attention's query).
        in_channels, channels: of the CNN (see :class:`~relnet.nn.objects.ConvObjects`).
        attention_dim, hops: of the :class:`~relnet.nn.attention.StackedAttention`.
        widths: hidden widths of the classifier MLP; a final linear layer to ``output_dim`` follows.
        dropout: after each hidden MLP layer.

    Shape: images ``(B, C, H, W)``, condition ``(B, condition_dim)`` → ``(B, output_dim)``.
    """

    def __init__(
        self,
        output_dim: int,
        *,
        condition_dim: int,
        in_channels: int = 3,
        channels: Sequence[int] = (24, 24, 24, 24),
        attention_dim: int = 512,
        hops: int = 2,
        widths: Sequence[int] = (256,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.cells = ConvObjects(in_channels, channels)
        self.attention = StackedAttention(self.cells.object_dim, condition_dim, attention_dim=attention_dim, hops=hops)
        self.mlp = MLP(condition_dim, [*widths, output_dim], activate_last=False, dropout=dropout)

    def forward(self, images: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W), (B, condition_dim) -> (B, output_dim)``."""
        return self.head(self.cells(images), condition)

    def head(self, cells: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Attention and classifier on CNN cells: ``(B, n, cell_dim), (B, condition_dim) -> (B, output_dim)``."""
        return self.mlp(self.attention(cells, condition.to(cells.dtype)))
