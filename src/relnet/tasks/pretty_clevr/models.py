"""Pretty-CLEVR models from state descriptions: the RRN (an answer after every step), a Relation Network
and an MLP, as in the RRN paper's Fig. 2.

Every model reads a batch of :func:`relnet.tasks.pretty_clevr.task.load_table`: ``positions``
``(B, 8, 2)`` float, ``colours`` and ``markers`` ``(B, 8)`` (indices 0-7), ``anchor`` ``(B,)`` (a class
0-15: a colour or a marker) and ``jumps`` ``(B,)`` (0-7), and returns ``(B, 16)`` logits over the 8
colours and 8 markers, or ``(B, steps, 16)`` for the RRN.

An object is ``[x, y, colour one-hot (8), marker one-hot (8)]`` (18 numbers) and the question is
``[anchor one-hot (16), jumps one-hot (8)]`` (24), as in the authors' code (branch ``diagnostics``).
Distances are computed from the positions inside the models, so that augmenting the positions
(rotation, scale) keeps them consistent.

``hints`` (every model; a relnet option for CPU-sized training, off in the paper preset) adds to each
object the anchor's flag and the one-hot class it would answer (:func:`object_features`): functions of
the inputs above, which spare the network learning to match one-hots before it can learn anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from relnet.nn import MLP, RecurrentRelationalNetwork, RelationNetwork, initialise_
from relnet.tasks.multistep import complete_graph
from relnet.tasks.pretty_clevr.generator import CLASSES, COLOURS, JUMPS, MARKERS, OBJECTS

OBJECT_DIM = 2 + len(COLOURS) + len(MARKERS)
QUESTION_DIM = CLASSES + JUMPS


def object_features(batch: dict[str, torch.Tensor], hints: bool = False) -> torch.Tensor:
    """``(B, 8, 18 [+ 17])``: each object's position, colour one-hot and marker one-hot; with ``hints``
    also a flag that is 1 for the object the anchor names, and the one-hot class (16) of the attribute
    the question asks for (its marker when the anchor is a colour, else its colour)."""
    colours, markers = batch["colours"].long(), batch["markers"].long()
    parts = [
        batch["positions"].float(),
        F.one_hot(colours, len(COLOURS)).float(),
        F.one_hot(markers, len(MARKERS)).float(),
    ]
    if hints:
        anchor = batch["anchor"].long()[:, None]  # a colour (0-7) or a marker (8-15)
        by_colour = anchor < len(COLOURS)
        parts.append(torch.where(by_colour, colours == anchor, markers == anchor - len(COLOURS))[..., None].float())
        asked = torch.where(by_colour, markers + len(COLOURS), colours)  # (B, 8) the class each would answer
        parts.append(F.one_hot(asked, CLASSES).float())
    return torch.cat(parts, dim=-1)


def object_dim(hints: bool) -> int:
    return OBJECT_DIM + (1 + CLASSES if hints else 0)


def question_features(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """``(B, 24)``: the anchor one-hot (16 classes) and the number of jumps one-hot (8)."""
    anchor = F.one_hot(batch["anchor"].long(), CLASSES).float()
    return torch.cat([anchor, F.one_hot(batch["jumps"].long(), JUMPS).float()], dim=-1)


class PrettyRRN(nn.Module):
    """The RRN on the 8 objects as a complete graph (56 directed edges, no self-edges).

    Node input: the object and the question ``(B, 8, 42)``; edge feature: the distance between the two
    objects ``(B, 56, 1)``; node update ``h = g([x; h; m])`` (the authors' Pretty-CLEVR code, no LSTM);
    readout: the sum of the node states → ``readout_widths`` → 16 logits, after every step.

    Args: ``steps`` message-passing steps (the model names ``rrn-1`` ... ``rrn-8`` set it);
    ``hidden_dim`` node state and message size; ``mlp_widths`` hidden widths of the input, message and
    node MLPs (each then a linear layer to ``hidden_dim``); ``readout_widths`` the readout's widths (the
    first after the node sum, a linear layer to 16 classes follows the last); ``dropout`` before the
    readout's layers after the first; ``hints`` see the module docstring; ``init`` the starting
    weights (:func:`relnet.nn.initialise_`: ``"torch"`` or the authors' ``"tensorflow"``).

    Output: ``(B, steps, 16)`` logits.
    """

    def __init__(
        self,
        steps: int = 4,
        hidden_dim: int = 128,
        mlp_widths: Sequence[int] = (128,),
        readout_widths: Sequence[int] = (128,),
        dropout: float = 0.5,
        hints: bool = False,
        init: str = "torch",
    ) -> None:
        super().__init__()
        if not readout_widths:
            raise ValueError("the readout needs at least one hidden layer")
        self.hints = hints
        self.rrn = RecurrentRelationalNetwork(
            object_dim(hints) + QUESTION_DIM,
            hidden_dim,
            readout_widths[0],
            edge_dim=1,
            input_widths=tuple(mlp_widths),
            message_widths=tuple(mlp_widths),
            node_widths=tuple(mlp_widths),
            output_widths=(),
            update="mlp",
            readout="graph",
            steps=steps,
        )
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Dropout(dropout),
            MLP(readout_widths[0], [*readout_widths[1:], CLASSES], activate_last=False, dropout=dropout),
        )
        self.register_buffer("edges", complete_graph(OBJECTS), persistent=False)
        initialise_(self, init)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, steps, 16)`` logits."""
        objects = object_features(batch, self.hints)
        question = question_features(batch)
        nodes = torch.cat([objects, question[:, None].expand(-1, OBJECTS, -1)], dim=-1)  # (B, 8, 42)
        positions = objects[..., :2]
        distance = (positions[:, self.edges[0]] - positions[:, self.edges[1]]).norm(dim=-1, keepdim=True)  # (B, 56, 1)
        return self.head(self.rrn(nodes, self.edges, distance))


class PrettyRN(nn.Module):
    """A Relation Network over the 8 objects ``(B, 8, 18)``, conditioned on the question ``(B, 24)``.

    Args: ``g_widths``, ``f_widths``, ``f_dropout`` as in :class:`relnet.nn.RelationNetwork`.
    Output ``(B, 16)``.
    """

    def __init__(
        self,
        g_widths: Sequence[int] = (256, 256, 256, 256),
        f_widths: Sequence[int] = (256, 256),
        f_dropout: float = 0.5,
        hints: bool = False,
    ) -> None:
        super().__init__()
        self.hints = hints
        self.relation = RelationNetwork(
            object_dim(hints),
            CLASSES,
            condition_dim=QUESTION_DIM,
            g_widths=tuple(g_widths),
            f_widths=tuple(f_widths),
            f_dropout=f_dropout,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.relation(object_features(batch, self.hints), question_features(batch))


class PrettyMLP(nn.Module):
    """The paper's MLP baseline: all colours, markers and positions, the 8 × 8 distance matrix and the
    question, concatenated ``(B, 232)``, through ``widths`` ReLU layers (dropout after each) → ``(B, 16)``."""

    def __init__(self, widths: Sequence[int] = (256, 256, 256, 256), dropout: float = 0.5, hints: bool = False) -> None:
        super().__init__()
        self.hints = hints
        inputs = OBJECTS * (object_dim(hints)) + OBJECTS * OBJECTS + QUESTION_DIM
        self.net = MLP(inputs, [*widths, CLASSES], activate_last=False, dropout=dropout)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        objects = object_features(batch, self.hints)
        distances = torch.cdist(objects[..., :2], objects[..., :2])  # (B, 8, 8)
        return self.net(torch.cat([objects.flatten(1), distances.flatten(1), question_features(batch)], dim=-1))


#: ``rrn-<t>``: the RRN with ``t`` steps (:meth:`PrettyClevr.fit_config` sets ``steps`` from the name).
RRN_STEPS = (1, 2, 3, 4, 8)
MODELS: dict[str, type[nn.Module]] = {
    **{f"rrn-{steps}": PrettyRRN for steps in RRN_STEPS},
    "rn": PrettyRN,
    "mlp": PrettyMLP,
}


def augment(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' training augmentation: every scene's positions ``(B, 8, 2)`` turned by a random angle
    and scaled by ``2^U(-1, 1)`` about the centre of the square; distances scale, their order (and so
    every answer) is kept."""
    positions = batch["positions"].float()
    size = len(positions)
    angle = torch.rand(size, device=positions.device) * 2 * torch.pi
    scale = 2.0 ** (2 * torch.rand(size, device=positions.device) - 1)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    turn = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # (B, 2, 2)
    centred = positions - 0.5
    return {**batch, "positions": centred @ turn.transpose(1, 2) + 0.5}
