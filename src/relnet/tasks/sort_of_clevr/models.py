"""Sort-of-CLEVR models: CNN+RN and CNN+MLP from pixels, RN from state descriptions.

Each maps a batch (keys from :func:`relnet.tasks.sort_of_clevr.dataset.load_table`) to answer logits
``(B, len(ANSWERS))``. The question is the paper's 11-bit vector, fed straight to ``g`` (RN) or joined
with the image features (MLP).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from relnet.nn import ConvMLP, ConvObjects, ObjectRows, RelationNetwork
from relnet.nn.objects import encode_each_image_once
from relnet.tasks.sort_of_clevr.dataset import STATE_FEATURES
from relnet.tasks.sort_of_clevr.format import ANSWERS, ENCODING_BITS


class PixelRelationNetwork(nn.Module):
    """CNN feature-map cells tagged with coordinates → question-conditioned RN → answer logits."""

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128, 256),
        g_widths: Sequence[int] = (256, 256, 256, 256),
        f_widths: Sequence[int] = (256, 256),
        f_dropout: float = 0.0,
        reduction: str = "sum",
        pair_chunk_size: int | None = None,
        batch_norm: bool = True,
        cell_means: bool = False,
    ) -> None:
        super().__init__()
        self.objects = ConvObjects(3, channels, batch_norm=batch_norm, cell_means=cell_means)
        self.relation = RelationNetwork(
            self.objects.object_dim,
            len(ANSWERS),
            condition_dim=ENCODING_BITS,
            g_widths=g_widths,
            f_widths=f_widths,
            f_dropout=f_dropout,
            reduction=reduction,
            pair_chunk_size=pair_chunk_size,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        objects = encode_each_image_once(self.objects, batch["image"], batch.get("image_index"))
        return self.relation(objects, batch["question"].to(objects.dtype))


class PixelMLP(nn.Module):
    """The CNN+MLP baseline: the same CNN, its whole feature map and the question through an MLP."""

    def __init__(
        self,
        image_size: int = 75,
        channels: Sequence[int] = (32, 64, 128, 256),
        widths: Sequence[int] = (256, 256, 256, 256),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.mlp = ConvMLP(
            (image_size, image_size),
            len(ANSWERS),
            channels=channels,
            condition_dim=ENCODING_BITS,
            widths=widths,
            dropout=dropout,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        features = encode_each_image_once(
            lambda images: self.mlp.cnn(images).flatten(1), batch["image"], batch.get("image_index")
        )
        return self.mlp.head(features, batch["question"])


class StateRelationNetwork(nn.Module):
    """RN over state descriptions: one row per object (colour, shape, position) instead of pixels."""

    def __init__(
        self,
        embed_dim: int | None = None,
        g_widths: Sequence[int] = (256, 256, 256, 256),
        f_widths: Sequence[int] = (256, 256),
        f_dropout: float = 0.0,
        reduction: str = "sum",
    ) -> None:
        super().__init__()
        self.objects = ObjectRows(STATE_FEATURES, embed_dim)
        self.relation = RelationNetwork(
            self.objects.object_dim,
            len(ANSWERS),
            condition_dim=ENCODING_BITS,
            g_widths=g_widths,
            f_widths=f_widths,
            f_dropout=f_dropout,
            reduction=reduction,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.relation(self.objects(batch["state"]), batch["question"])


MODELS: dict[str, type[nn.Module]] = {"rn": PixelRelationNetwork, "cnn-mlp": PixelMLP, "rn-state": StateRelationNetwork}
