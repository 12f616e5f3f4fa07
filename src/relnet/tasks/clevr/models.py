"""CLEVR models: the RN from pixels and from state descriptions, and the RN paper's baselines.

Each maps a batch (keys from :func:`relnet.tasks.clevr.dataset.load_table`) to answer logits
``(B, len(ANSWERS))``. Questions are token ids of the fixed :data:`QUESTION_TOKENS` vocabulary,
encoded by an LSTM over packed sequences (padding never enters it). Pixel models take the uint8 images
``(B, H, W, 3)`` as they come from the cache, convert them to floats on the model's device, and run the
CNN once per *distinct* image of the batch (``image_index``): CLEVR has ~10 questions per image, and
batches grouped by image (``TrainConfig.group_size``; evaluation in file order) then pay for the CNN a
fraction of the time.

| name          | inputs                  | reasoning                                                   |
|---------------|-------------------------|-------------------------------------------------------------|
| ``rn``        | image 128×128, question | CNN cells (8×8 = 64 objects + coordinates) → RN             |
| ``rn-state``  | state rows, question    | one object per row (3-10, masked) → RN                      |
| ``cnn-lstm``  | image, question         | flattened CNN features ‖ question code → MLP                |
| ``cnn-lstm-sa``| image, question        | CNN cells, 2 hops of stacked attention → MLP                |
| ``lstm``      | question                | question code → MLP                                         |

Every size is a constructor argument; the defaults are the RN paper's (Supp. B, §1.4 of
``papers.md``) where it gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from relnet.errors import RelnetError
from relnet.nn import MLP, ConvMLP, ConvObjects, ConvStackedAttention, ObjectRows, RelationNetwork, SequenceEncoder
from relnet.nn.objects import encode_each_image_once
from relnet.nn.relation import Reduction
from relnet.tasks.clevr.dataset import STATE_FEATURES
from relnet.tasks.clevr.vocab import ANSWERS, QUESTION_TOKENS

VOCAB_SIZE = len(QUESTION_TOKENS)
#: The RN paper's CLEVR CNN: 4 convolutions of 24 kernels, 3×3, stride 2, BN, ReLU (128×128 → 8×8).
PAPER_CNN = (24, 24, 24, 24)


def answer_relation_network(
    object_dim: int,
    question_dim: int,
    g_widths: Sequence[int],
    f_widths: Sequence[int],
    f_dropout: float,
    reduction: Reduction,
    **chunking: Any,
) -> RelationNetwork:
    """An RN conditioned on the question code, ending in answer logits (both RN models use one)."""
    return RelationNetwork(
        object_dim,
        len(ANSWERS),
        condition_dim=question_dim,
        g_widths=g_widths,
        f_widths=f_widths,
        f_dropout=f_dropout,
        reduction=reduction,
        **chunking,
    )


def images(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The batch's ``image`` ``(B, H, W, 3)``, or a clear error when the data folder has no images."""
    if "image" not in batch:
        raise RelnetError(
            "this CLEVR model reads images, and the data has none (a folder without images/, e.g. generated "
            "with --no-render): give a folder with images, or train a state model (rn-state) or lstm"
        )
    return batch["image"]


def states(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's ``state`` ``(B, n, F)`` and ``state_mask`` ``(B, n)``, or a clear error without scenes."""
    if "state" not in batch:
        raise RelnetError(
            "the state RN reads scene descriptions, and this split has no scenes file (CLEVR v1.0's test "
            "split ships none): use a split with scenes/, or a pixel model"
        )
    return batch["state"], batch["state_mask"]


class QuestionModel(nn.Module):
    """A model with a question LSTM: word embeddings (``embed_dim``) and ``question_dim`` units over the
    token ids of ``vocab_size`` words, on packed sequences (padding never enters it)."""

    def __init__(self, vocab_size: int, embed_dim: int, question_dim: int) -> None:
        super().__init__()
        self.question = SequenceEncoder(vocab_size, embed_dim, question_dim)


class PixelRelationNetwork(QuestionModel):
    """CNN+LSTM+RN (RN paper, CLEVR from pixels): CNN cells tagged with coordinates, question-conditioned RN.

    Args:
        vocab_size: question token ids (the fixed vocabulary by default).
        channels: the CNN's output channels per stride-2 layer; 4 layers take 128×128 to 8×8 = 64
            objects, 5 layers to 4×4 = 16 (16× fewer pairs, for CPUs).
        embed_dim, question_dim: word embedding size and LSTM units.
        g_widths, f_widths, f_dropout, reduction: of the :class:`~relnet.nn.RelationNetwork` (the paper:
            g 4×256, f 256, 256 with 50% dropout, summed over all 4,096 ordered pairs).
        pair_chunk_size, pair_memory_budget_mb: bound the RN's pair activations (see the RN's docs).
    """

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        channels: Sequence[int] = PAPER_CNN,
        embed_dim: int = 32,
        question_dim: int = 128,
        g_widths: Sequence[int] = (256, 256, 256, 256),
        f_widths: Sequence[int] = (256, 256),
        f_dropout: float = 0.5,
        reduction: Reduction = "sum",
        pair_chunk_size: int | None = None,
        pair_memory_budget_mb: float | None = None,
    ) -> None:
        super().__init__(vocab_size, embed_dim, question_dim)
        self.objects = ConvObjects(3, channels)
        chunking = {"pair_chunk_size": pair_chunk_size, "pair_memory_budget_mb": pair_memory_budget_mb}
        self.relation = answer_relation_network(
            self.objects.object_dim, question_dim, g_widths, f_widths, f_dropout, reduction, **chunking
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``image`` ``(B, H, W, 3)`` uint8, ``question`` ``(B, L)`` → logits ``(B, len(ANSWERS))``."""
        objects = encode_each_image_once(self.objects, images(batch), batch.get("image_index"))
        return self.relation(objects, self.question(batch["question"]).to(objects.dtype))


class StateRelationNetwork(QuestionModel):
    """RN over state descriptions (RN paper §5.2): one row per object, padded to 10 and masked.

    Args:
        vocab_size, embed_dim, question_dim: of the question LSTM (the paper: 32-d words, 256 units).
        object_embed_dim: a linear embedding of each state row first (``None``: the raw rows).
        g_widths, f_widths, f_dropout, reduction: of the RN (the paper: g 4×512, f 512, 1024 with 2%
            dropout).
        coordinate_scale: multiplies each row's three coordinates (stored as CLEVR's 3D coordinates / 3)
            before the RN. Larger values make a sharp "left of" step (objects are at least 0.4 apart
            along each direction, 0.13 in the stored units) cheaper for Adam to reach.
    """

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        embed_dim: int = 32,
        question_dim: int = 256,
        object_embed_dim: int | None = None,
        g_widths: Sequence[int] = (512, 512, 512, 512),
        f_widths: Sequence[int] = (512, 1024),
        f_dropout: float = 0.02,
        reduction: Reduction = "sum",
        coordinate_scale: float = 1.0,
    ) -> None:
        super().__init__(vocab_size, embed_dim, question_dim)
        if not coordinate_scale > 0:
            raise ValueError(f"coordinate_scale must be positive, not {coordinate_scale}")
        self.coordinate_scale = coordinate_scale
        self.objects = ObjectRows(STATE_FEATURES, object_embed_dim)
        self.relation = answer_relation_network(
            self.objects.object_dim, question_dim, g_widths, f_widths, f_dropout, reduction
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``state`` ``(B, n, F)``, ``state_mask`` ``(B, n)``, ``question`` ``(B, L)`` → ``(B, len(ANSWERS))``."""
        state, mask = states(batch)
        if self.coordinate_scale != 1.0:
            scale = state.new_ones(state.shape[-1])
            scale[:3] = self.coordinate_scale
            state = state * scale
        objects = self.objects(state)
        return self.relation(objects, self.question(batch["question"]).to(objects.dtype), mask)


class ConvLSTM(QuestionModel):
    """CNN+LSTM baseline: the whole flattened CNN feature map joined with the question code, then an MLP.

    Args:
        image_size: side of the (square) input images, which fixes the flattened feature size.
        channels: of the CNN (the RN's CNN by default, so the two differ only in the reasoning part).
        widths, dropout: hidden layers of the MLP (a final linear layer to the answers follows).
    """

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        image_size: int = 128,
        channels: Sequence[int] = PAPER_CNN,
        embed_dim: int = 32,
        question_dim: int = 128,
        widths: Sequence[int] = (256, 256),
        dropout: float = 0.5,
    ) -> None:
        super().__init__(vocab_size, embed_dim, question_dim)
        self.mlp = ConvMLP(
            (image_size, image_size),
            len(ANSWERS),
            channels=channels,
            condition_dim=question_dim,
            widths=widths,
            dropout=dropout,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``image`` ``(B, H, W, 3)`` uint8, ``question`` ``(B, L)`` → ``(B, len(ANSWERS))``."""
        features = encode_each_image_once(
            lambda images: self.mlp.cnn(images).flatten(1), images(batch), batch.get("image_index")
        )
        return self.mlp.head(features, self.question(batch["question"]))


class ConvLSTMAttention(QuestionModel):
    """CNN+LSTM+SA baseline: the question attends over the CNN cells in ``hops`` rounds, then an MLP.

    Args:
        attention_dim, hops: of the stacked attention (Yang et al. 2016 use 2 hops).
        widths, dropout: hidden layers of the classifier MLP.
    """

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        channels: Sequence[int] = PAPER_CNN,
        embed_dim: int = 32,
        question_dim: int = 128,
        attention_dim: int = 256,
        hops: int = 2,
        widths: Sequence[int] = (256,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(vocab_size, embed_dim, question_dim)
        self.attention = ConvStackedAttention(
            len(ANSWERS),
            condition_dim=question_dim,
            channels=channels,
            attention_dim=attention_dim,
            hops=hops,
            widths=widths,
            dropout=dropout,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``image`` ``(B, H, W, 3)`` uint8, ``question`` ``(B, L)`` → ``(B, len(ANSWERS))``."""
        cells = encode_each_image_once(self.attention.cells, images(batch), batch.get("image_index"))
        return self.attention.head(cells, self.question(batch["question"]))


class QuestionOnly(QuestionModel):
    """LSTM baseline: the answer from the question alone (what a model learns from language priors)."""

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        embed_dim: int = 32,
        question_dim: int = 128,
        widths: Sequence[int] = (256,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(vocab_size, embed_dim, question_dim)
        self.mlp = MLP(question_dim, [*widths, len(ANSWERS)], activate_last=False, dropout=dropout)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``question`` ``(B, L)`` → ``(B, len(ANSWERS))``."""
        return self.mlp(self.question(batch["question"]))


MODELS: dict[str, type[nn.Module]] = {
    "rn": PixelRelationNetwork,
    "rn-state": StateRelationNetwork,
    "cnn-lstm": ConvLSTM,
    "cnn-lstm-sa": ConvLSTMAttention,
    "lstm": QuestionOnly,
}
