"""bAbI models: the most recent statements as objects, the question as the condition.

Every model reads a batch of :func:`relnet.tasks.babi.dataset.encode` and returns answer logits
``(B, len(ANSWERS))``, or ``(B, steps, len(ANSWERS))`` for the RRN (an answer at every step).

Objects (RN paper §4): each of the last ``max_facts`` statements is encoded by a shared LSTM and
tagged with a one-hot of its position counted back from the question; the question goes through a
separate LSTM. The RRN paper tags positions in 40 slots and, in training, shifts each story's tags by
a random offset (``position_slots=40, random_offset=True``), so that no slot is tied to the story's
length; its recipes use that.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from relnet.nn import (
    MultiLayerRelationNetwork,
    RecurrentRelationalNetwork,
    RelationNetwork,
    SequenceEncoder,
    initialise_,
)
from relnet.tasks.babi.dataset import MAX_FACTS
from relnet.tasks.babi.vocab import ANSWERS, WORDS


class StoryObjects(nn.Module):
    """Statements → tagged objects, question → vector.

    Args: ``embed_dim`` and ``lstm_dim`` of both LSTMs; ``max_facts`` statements kept;
    ``position_slots`` (at least ``max_facts``, default equal) the size of the position one-hot;
    ``random_offset``: in training, each story's tags move up by a random ``0 ... position_slots -
    max_facts`` (the RRN paper's augmentation); in evaluation by ``eval_offset``, by default half the
    spare slots, the middle of what training saw (an offset of 0 puts the newest statement on a slot it
    holds in one training story of 21; the authors draw a random offset at test time too).

    Returns objects ``(B, max_facts, lstm_dim + position_slots)``, mask ``(B, max_facts)`` bool (slots
    with a statement) and the question encoding ``(B, lstm_dim)``.
    """

    def __init__(
        self,
        embed_dim: int = 32,
        lstm_dim: int = 32,
        max_facts: int = MAX_FACTS,
        position_slots: int | None = None,
        random_offset: bool = False,
        eval_offset: int | None = None,
    ) -> None:
        super().__init__()
        if not 1 <= max_facts <= MAX_FACTS:
            raise ValueError(f"max_facts must be in 1-{MAX_FACTS}, not {max_facts}")
        position_slots = max_facts if position_slots is None else position_slots
        if position_slots < max_facts:
            raise ValueError(f"position_slots ({position_slots}) must be at least max_facts ({max_facts})")
        self.max_facts, self.position_slots, self.random_offset = max_facts, position_slots, random_offset
        spare = position_slots - max_facts
        self.eval_offset = spare // 2 if eval_offset is None else eval_offset
        if random_offset and not 0 <= self.eval_offset <= spare:
            raise ValueError(f"eval_offset must be in 0-{spare} (the spare position slots), not {eval_offset}")
        self.facts = SequenceEncoder(len(WORDS), embed_dim, lstm_dim)
        self.question = SequenceEncoder(len(WORDS), embed_dim, lstm_dim)
        self.object_dim, self.question_dim = lstm_dim + position_slots, lstm_dim

    def positions(self, batch_size: int, device: torch.device) -> torch.Tensor:
        """``(B, max_facts, position_slots)`` one-hot tags: slot ``k`` (+ the story's offset) for statement ``k``."""
        slots = torch.arange(self.max_facts, device=device).expand(batch_size, -1)
        if self.random_offset and self.training:
            spare = self.position_slots - self.max_facts
            slots = slots + torch.randint(0, spare + 1, (batch_size, 1), device=device)
        elif self.random_offset:
            slots = slots + self.eval_offset
        return F.one_hot(slots, self.position_slots).float()

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids = batch["facts"][:, -self.max_facts :]  # (B, F); the newest statement is last
        tokens = batch["fact_tokens"][:, -self.max_facts :]  # (B, F, L)
        batch_size = ids.shape[0]
        # Sentences repeat across a batch: each distinct one goes through the LSTM once.
        encoded = self.facts.forward_distinct(tokens.flatten(0, 1), ids.flatten()).view(batch_size, self.max_facts, -1)
        objects = torch.cat([encoded, self.positions(batch_size, ids.device)], dim=-1)
        return objects, ids != 0, self.question(batch["question"])


class BabiRN(nn.Module):
    """The RN paper's bAbI model: g 4×256, f 256/512/answers over the last 20 statements."""

    def __init__(
        self,
        embed_dim: int = 32,
        lstm_dim: int = 32,
        max_facts: int = MAX_FACTS,
        g_widths: Sequence[int] = (256, 256, 256, 256),
        f_widths: Sequence[int] = (256, 512),
        f_dropout: float = 0.0,
        reduction: str = "sum",
    ) -> None:
        super().__init__()
        self.story = StoryObjects(embed_dim, lstm_dim, max_facts)
        self.relation = RelationNetwork(
            self.story.object_dim,
            len(ANSWERS),
            condition_dim=self.story.question_dim,
            g_widths=g_widths,
            f_widths=f_widths,
            f_dropout=f_dropout,
            reduction=reduction,  # type: ignore[arg-type]
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        objects, mask, question = self.story(batch)
        return self.relation(objects, question, mask)


class BabiMLRN(nn.Module):
    """A Multi-Layer Relation Network over the same objects (the paper's sizes are not published)."""

    def __init__(
        self,
        embed_dim: int = 32,
        lstm_dim: int = 32,
        max_facts: int = MAX_FACTS,
        layers: Sequence[Sequence[int]] = ((256, 256), (256, 256), (256, 256)),
        f_widths: Sequence[int] = (256, 512),
        f_dropout: float = 0.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.story = StoryObjects(embed_dim, lstm_dim, max_facts)
        self.relation = MultiLayerRelationNetwork(
            self.story.object_dim,
            len(ANSWERS),
            condition_dim=self.story.question_dim,
            layers=[tuple(widths) for widths in layers],
            f_widths=f_widths,
            f_dropout=f_dropout,
            reduction=reduction,  # type: ignore[arg-type]
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        objects, mask, question = self.story(batch)
        return self.relation(objects, question, mask)


class BabiRRN(nn.Module):
    """The RRN paper's bAbI model: statements fully connected with self-edges, the question on every
    edge, hidden 128, 5 steps, an answer (and a loss) at every step; ``position_slots`` and
    ``random_offset``, ``eval_offset`` as in :class:`StoryObjects` (the paper: 40 slots, a random offset).
    ``question_in_nodes``: each node's input is ``[statement; position; question]`` as in the paper's
    code, not the statement and position alone. The three are off by default so that weights saved
    before they existed still load; the recipes turn them on. ``init``: ``"tensorflow"`` starts from
    the authors' TensorFlow defaults (:func:`relnet.nn.tensorflow_init_`), ``"torch"`` from PyTorch's.

    Shapes: statements ``(B, F, L)`` tokens and the question ``(B, Q)`` → logits ``(B, steps, answers)``.
    """

    def __init__(
        self,
        embed_dim: int = 32,
        lstm_dim: int = 32,
        max_facts: int = MAX_FACTS,
        hidden_dim: int = 128,
        message_widths: Sequence[int] = (128, 128, 128),
        node_widths: Sequence[int] = (128, 128, 128),
        output_widths: Sequence[int] = (128, 128),
        steps: int = 5,
        position_slots: int | None = None,
        random_offset: bool = False,
        eval_offset: int | None = None,
        question_in_nodes: bool = False,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self.story = StoryObjects(embed_dim, lstm_dim, max_facts, position_slots, random_offset, eval_offset)
        self.question_in_nodes = question_in_nodes
        node_dim = self.story.object_dim + (self.story.question_dim if question_in_nodes else 0)
        self.rrn = RecurrentRelationalNetwork(
            node_dim,
            hidden_dim,
            len(ANSWERS),
            edge_dim=self.story.question_dim,
            input_widths=(hidden_dim,),
            message_widths=message_widths,
            node_widths=node_widths,
            output_widths=output_widths,
            update="lstm",
            readout="graph",
            steps=steps,
        )
        senders, receivers = torch.meshgrid(torch.arange(max_facts), torch.arange(max_facts), indexing="ij")
        self.register_buffer("edges", torch.stack([senders.flatten(), receivers.flatten()]), persistent=False)
        initialise_(self, init)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, steps, len(ANSWERS))`` logits."""
        objects, mask, question = self.story(batch)
        if self.question_in_nodes:
            objects = torch.cat([objects, question[:, None, :].expand(-1, objects.shape[1], -1)], dim=-1)
        edge_features = question[:, None, :].expand(-1, self.edges.shape[1], -1)
        return self.rrn(objects, self.edges, edge_features, mask)


MODELS: dict[str, type[nn.Module]] = {"rn": BabiRN, "mlrn": BabiMLRN, "rrn": BabiRRN}
