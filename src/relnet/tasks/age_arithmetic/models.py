"""Age-arithmetic models: the RRN (8 steps, an answer at every step), a Relation Network and an MLP.

Every model reads a batch of :func:`relnet.tasks.age_arithmetic.task.load_table` (``pairs``
``(B, 7, 2)``, ``differences`` ``(B, 7)``, ``anchor``, ``anchor_age`` and ``question`` ``(B,)``)
and returns age logits ``(B, 100)``, or ``(B, steps, 100)`` for the RRN.

Facts are encoded much as in the authors' code: a difference fact ``(i, j, d)`` is one-hot ``i`` and
``j`` (8 each), a type (``i`` older or the same age / younger / the anchor fact) and ``|d|`` one-hot
(100); the anchor fact is ``(p, p, anchor, age)``. Unlike the authors' code, the anchor's age has its
own 100 slots instead of sharing the differences' (the same information, but an age and a
difference can be told apart without a learnt gate on the type).

Two relnet options, off by default (the paper uses neither), make the task learnable in minutes on a
CPU: ``scalar_values`` also gives every number as one real feature (``d/100`` signed, ``age/100``),
so a linear layer can add ages instead of learning a 99 × 99 addition table from one-hots; and
``readout="number"`` reads the answer off a number line (:func:`age_logits`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from relnet.nn import MLP, RecurrentRelationalNetwork, RelationNetwork
from relnet.tasks.age_arithmetic.generator import CLASSES, EDGES, PERSONS
from relnet.tasks.multistep import complete_graph

FACTS = EDGES + 1  # the 7 differences and the anchor fact
TYPES = 3  # older or the same age, younger, absolute age


def number_features(values: torch.Tensor, scalar: bool) -> torch.Tensor:
    """Signed integers ``(...)`` → ``|v|`` one-hot, plus ``v / 100`` when ``scalar``: ``(..., 100 [+ 1])``."""
    one_hot = F.one_hot(values.abs().clamp(max=CLASSES - 1), CLASSES).float()
    return torch.cat([one_hot, values[..., None].float() / CLASSES], dim=-1) if scalar else one_hot


def fact_dim(scalar: bool) -> int:
    return 2 * PERSONS + TYPES + 2 * (CLASSES + int(scalar))


def fact_objects(batch: dict[str, torch.Tensor], scalar: bool) -> torch.Tensor:
    """The 8 facts of each question as vectors ``(B, 8, fact_dim(scalar))``, the anchor fact last.

    Each fact: persons ``i`` and ``j`` one-hot, its type one-hot, then two number blocks, the
    difference's (zero for the anchor fact) and the age's (zero for a difference).
    """
    pairs, differences = batch["pairs"].long(), batch["differences"].long()
    anchor, age = batch["anchor"].long(), batch["anchor_age"].long()
    persons = torch.cat([pairs, torch.stack([anchor, anchor], dim=-1)[:, None]], dim=1)  # (B, 8, 2)
    kinds = torch.cat([(differences < 0).long(), torch.full_like(age[:, None], TYPES - 1)], dim=1)  # (B, 8)
    difference_block = number_features(differences, scalar)  # (B, 7, numbers)
    age_block = number_features(age, scalar)[:, None]  # (B, 1, numbers)
    numbers = torch.cat(
        [
            torch.cat([difference_block, torch.zeros_like(difference_block)], dim=-1),
            torch.cat([torch.zeros_like(age_block), age_block], dim=-1),
        ],
        dim=1,
    )  # (B, 8, 2 · numbers)
    return torch.cat([F.one_hot(persons, PERSONS).float().flatten(-2), F.one_hot(kinds, TYPES).float(), numbers], -1)


Readout = Literal["classes", "number"]


def readout_size(readout: Readout) -> int:
    """Outputs a network needs before :func:`age_logits`: 100 logits, or an age and a spread."""
    if readout not in ("classes", "number"):
        raise ValueError(f"readout must be 'classes' or 'number', not {readout!r}")
    return CLASSES if readout == "classes" else 2


def age_logits(out: torch.Tensor, readout: Readout) -> torch.Tensor:
    """A network's outputs ``(..., readout_size)`` → age logits ``(..., 100)``.

    ``"classes"``: the outputs are the logits (the paper). ``"number"``: the outputs are an age ``mu``
    and a spread ``sigma`` (bounded: see below), and the logits are those of a Gaussian on the age line,
    ``-(c - mu)² / 2 sigma²`` for age c: neighbouring ages share their evidence and an age computed
    as a sum of scalar inputs is read out without learning a 100-way table (a relnet option for
    CPU-sized training; see the module docstring).
    """
    if readout == "classes":
        return out
    # mu in the units of the scalar inputs (value / 100), so that a sum of inputs is an age, and
    # starting mid-range; sigma starts at 10 years and stays within 0.5-20, so a model that cannot
    # place mu yet cannot flatten the distribution (and the gradient on mu) away instead.
    mu = CLASSES * (0.5 + out[..., :1].float())
    sigma = 0.5 + 19.5 * torch.sigmoid(out[..., 1:].float() - 0.1)
    ages = torch.arange(CLASSES, device=out.device, dtype=torch.float32)
    return -0.5 * ((ages - mu) / sigma) ** 2


class AgeRRN(nn.Module):
    """The Recurrent Relational Network, an answer (and, in training, a loss) after every step.

    Args:
        graph: ``"facts"``, the paper's graph: the 8 facts are the nodes, fully connected, each
            node's input its fact and the question (one-hot), read out from the sum of the node
            states. ``"tree"``: the 8 persons are the nodes and messages run along the tree's
            edges, both ways; edge ``i → j`` carries its fact (``i`` older or the same age /
            younger, and ``|age_i - age_j|``), a node's input says whether it is the anchor (and
            its age) and whether it is asked, and the answer is read from the asked person's node.
            Each question has its own tree, so a batch runs as one graph of ``8B`` nodes.
        hidden_dim: node state and message size (paper 128).
        mlp_widths: hidden widths of the input, message and node MLPs (paper 3 × 128).
        readout_widths: hidden widths of the readout MLP (paper 3 × 128).
        dropout: dropout in the readout MLP (paper 0.5).
        steps: message-passing steps (paper 8: one more than the longest path of an 8-person tree).
        scalar_values: also give numbers as real features (see the module docstring).
        readout: ``"classes"`` (the paper) or ``"number"`` (see :func:`age_logits`).
        update: ``"lstm"`` (the paper) or ``"mlp"``: ``h = g([x; h; m])``, ReLUs only, so a node
            state can hold an age exactly instead of through the LSTM's tanh.

    Output: ``(B, steps, 100)`` age logits after every step.
    """

    def __init__(
        self,
        graph: Literal["facts", "tree"] = "facts",
        hidden_dim: int = 128,
        mlp_widths: Sequence[int] = (128, 128, 128),
        readout_widths: Sequence[int] = (128, 128, 128),
        dropout: float = 0.5,
        steps: int = 8,
        scalar_values: bool = False,
        readout: Readout = "classes",
        update: Literal["lstm", "mlp"] = "lstm",
    ) -> None:
        super().__init__()
        if graph not in ("facts", "tree"):
            raise ValueError(f"graph must be 'facts' or 'tree', not {graph!r}")
        if not readout_widths:
            raise ValueError("the readout needs at least one hidden layer")
        self.graph, self.scalar, self.readout = graph, scalar_values, readout
        numbers = CLASSES + int(scalar_values)
        # facts: fact + question one-hot; tree: anchor flag, its age, question flag.
        input_dim = fact_dim(scalar_values) + PERSONS if graph == "facts" else 2 + numbers
        edge_dim = 0 if graph == "facts" else 2 + numbers  # older or the same age / younger, |difference|
        # The RRN's own readout is one linear layer (the readout MLP's first); the rest, with the
        # dropout the RRN's readout has no option for, runs after the node sum or the asked node's pick.
        self.rrn = RecurrentRelationalNetwork(
            input_dim,
            hidden_dim,
            readout_widths[0],
            edge_dim=edge_dim,
            input_widths=tuple(mlp_widths),
            message_widths=tuple(mlp_widths),
            node_widths=tuple(mlp_widths),
            output_widths=(),
            update=update,
            readout="graph" if graph == "facts" else "node",
            steps=steps,
        )
        outputs = readout_size(readout)
        self.head = MLP(readout_widths[0], [*readout_widths[1:], outputs], activate_last=False, dropout=dropout)
        self.register_buffer("fact_edges", complete_graph(FACTS), persistent=False)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, steps, 100)`` logits."""
        if self.graph == "facts":
            question = F.one_hot(batch["question"].long(), PERSONS).float()  # (B, 8)
            facts = fact_objects(batch, self.scalar)
            nodes = torch.cat([facts, question[:, None].expand(-1, FACTS, -1)], dim=-1)
            read = self.rrn(nodes, self.fact_edges)  # (B, T, w)
        else:
            read = self.tree_forward(batch)
        return age_logits(self.head(F.relu(read)), self.readout)

    def tree_forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The ``"tree"`` graph: the batch's trees as one graph of ``8B`` persons → the asked person's
        readout features after every step, ``(B, T, w)``."""
        pairs, differences = batch["pairs"].long(), batch["differences"].long()
        size = len(pairs)
        anchor = F.one_hot(batch["anchor"].long(), PERSONS).float()[..., None]  # (B, 8, 1)
        age = number_features(batch["anchor_age"].long(), self.scalar)[:, None]  # (B, 1, numbers)
        asked = F.one_hot(batch["question"].long(), PERSONS).float()[..., None]
        nodes = torch.cat([anchor, anchor * age, asked], dim=-1).reshape(1, size * PERSONS, -1)
        # Both orientations of every fact: i → j carries d = age_i - age_j, j → i carries -d.
        offsets = torch.arange(size, device=pairs.device)[:, None] * PERSONS
        senders = torch.cat([pairs[..., 0], pairs[..., 1]], dim=1) + offsets  # (B, 14)
        receivers = torch.cat([pairs[..., 1], pairs[..., 0]], dim=1) + offsets
        signed = torch.cat([differences, -differences], dim=1)
        edge_features = torch.cat([F.one_hot((signed < 0).long(), 2).float(), number_features(signed, self.scalar)], -1)
        edges = torch.stack([senders.flatten(), receivers.flatten()])  # (2, 14B)
        per_node = self.rrn(nodes, edges, edge_features.reshape(1, edges.shape[1], -1))  # (1, T, 8B, w)
        per_node = per_node[0].unflatten(1, (size, PERSONS))  # (T, B, 8, w)
        rows = torch.arange(size, device=pairs.device)
        return per_node[:, rows, batch["question"].long()].transpose(0, 1)  # (B, T, w)


class AgeRN(nn.Module):
    """A Relation Network over the 8 fact objects, conditioned on the asked person (one-hot).

    Args: ``g_widths``, ``f_widths``, ``f_dropout`` as in :class:`relnet.nn.RelationNetwork`;
    ``scalar_values`` as in the module docstring; ``readout`` as in :func:`age_logits`.
    Output ``(B, 100)``.
    """

    def __init__(
        self,
        g_widths: Sequence[int] = (256, 256, 256, 256),
        f_widths: Sequence[int] = (256, 256),
        f_dropout: float = 0.5,
        scalar_values: bool = False,
        readout: Readout = "classes",
    ) -> None:
        super().__init__()
        self.scalar, self.readout = scalar_values, readout
        self.relation = RelationNetwork(
            fact_dim(scalar_values),
            readout_size(readout),
            condition_dim=PERSONS,
            g_widths=tuple(g_widths),
            f_widths=tuple(f_widths),
            f_dropout=f_dropout,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        question = F.one_hot(batch["question"].long(), PERSONS).float()
        return age_logits(self.relation(fact_objects(batch, self.scalar), question), self.readout)


class AgeMLP(nn.Module):
    """An MLP on the 8 concatenated fact vectors and the asked person (one-hot). Output ``(B, 100)``.

    Args: ``widths`` hidden widths, ``dropout`` after each; ``scalar_values`` and ``readout`` as for the RN.
    """

    def __init__(
        self,
        widths: Sequence[int] = (256, 256, 256, 256),
        dropout: float = 0.5,
        scalar_values: bool = False,
        readout: Readout = "classes",
    ) -> None:
        super().__init__()
        self.scalar, self.readout = scalar_values, readout
        inputs = FACTS * fact_dim(scalar_values) + PERSONS
        self.net = MLP(inputs, [*widths, readout_size(readout)], activate_last=False, dropout=dropout)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        question = F.one_hot(batch["question"].long(), PERSONS).float()
        features = torch.cat([fact_objects(batch, self.scalar).flatten(1), question], dim=-1)
        return age_logits(self.net(features), self.readout)


MODELS: dict[str, type[nn.Module]] = {"rrn": AgeRRN, "rn": AgeRN, "mlp": AgeMLP}
