"""Dynamics models: Relation Networks and MLP baselines on the balls' states, and on rendered frames.

Every model reads a batch of :func:`relnet.tasks.dynamics.task.load_table` and predicts one of two
targets, its class attribute ``target``:

- ``"connections"``: logits ``(B, 10, 10)``, one bit per ordered pair of balls (the paper's 10²
  binary vector; the matrix is symmetric and its diagonal always 0, which the models learn);
- ``"systems"``: logits ``(B, 6)`` over the number of systems, 0-5 (10 balls make at most 5).

State models see one object per ball, as in the paper: its ``x`` at the 16 frames, its ``y`` at the
16 frames (both mapped from the box's [0, 1] to [-1, 1]) and its colour, one number (``k / 9`` mapped
to [-1, 1] for ball ``k``; the paper's 33 floats) or, with ``colour="onehot"``, 10 bits. Frame models
see the 16 pictures instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import torch
from torch import nn

from relnet.nn import MLP, ConvMLP, FrameObjects, RelationNetwork
from relnet.tasks.dynamics.simulator import BALLS, FRAMES

Target = Literal["connections", "systems"]
Colour = Literal["scalar", "onehot"]
SYSTEM_CLASSES = BALLS // 2 + 1


def output_size(target: Target) -> int:
    return BALLS * BALLS if target == "connections" else SYSTEM_CLASSES


def shaped(output: torch.Tensor, target: Target) -> torch.Tensor:
    """Flat logits ``(B, output_size)`` → ``(B, 10, 10)`` for connections, unchanged for systems."""
    return output.unflatten(1, (BALLS, BALLS)) if target == "connections" else output


#: Scales that bring the finite differences of the [-1, 1] tracks to about unit size: a frame's
#: displacement is about 0.05, and a spring's pull changes it by about 0.03 a frame.
VELOCITY_SCALE, ACCELERATION_SCALE = 10.0, 30.0


def object_dim(colour: Colour, motion: bool = False) -> int:
    if colour not in ("scalar", "onehot"):
        raise ValueError(f"colour must be 'scalar' or 'onehot', not {colour!r}")
    derivatives = 2 * (FRAMES - 1) + 2 * (FRAMES - 2) if motion else 0
    return 2 * FRAMES + derivatives + (1 if colour == "scalar" else BALLS)


def state_objects(positions: torch.Tensor, colour: Colour, motion: bool = False) -> torch.Tensor:
    """Positions ``(B, 16, 10, 2)`` → one row per ball ``(B, 10, object_dim(colour, motion))``: 16 x,
    16 y, with ``motion`` the 15 velocities and 14 accelerations of each (finite differences, scaled
    to about unit size), then the colour.

    The differences are linear in the positions, so ``motion`` adds no information, only conditioning:
    a spring's pull is a second difference of about 0.03 between positions of about 1, which the first
    layer can only form with weights a hundred times larger than their start, a slow climb for Adam's
    fixed step size.
    """
    batch = positions.shape[0]
    tracks = 2 * positions.float() - 1  # (B, 16, 10, 2)
    if motion:
        velocity = tracks.diff(dim=1)
        parts = [tracks, VELOCITY_SCALE * velocity, ACCELERATION_SCALE * velocity.diff(dim=1)]
        tracks = torch.cat([part.permute(0, 2, 3, 1).flatten(2) for part in parts], dim=-1)
    else:
        tracks = tracks.permute(0, 2, 3, 1).flatten(2)  # (B, 10, 2 · 16): x's, then y's
    if colour == "onehot":
        tags = torch.eye(BALLS, device=positions.device)
    else:
        tags = torch.linspace(-1.0, 1.0, BALLS, device=positions.device)[:, None]
    return torch.cat([tracks, tags.expand(batch, -1, -1)], dim=-1)


class StateRN(nn.Module):
    """A Relation Network over the 10 balls' rows: ``f(sum_ij g(o_i, o_j))``.

    Args: ``g_widths``, ``f_widths``, ``f_dropout`` as in :class:`relnet.nn.RelationNetwork` (the
    defaults are the paper's: g 3 × 1000 + 500, f 500, 100, then the output layer); ``colour`` as in
    the module docstring; ``readout`` (connections only): ``"sum"``, the paper's, all 100 bits from
    ``f`` of the sum over pairs; ``"pairs"``, a relnet option: bit ``(i, j)`` is ``f(g(o_i, o_j))``,
    the same ``g`` and ``f`` applied to each pair without the sum (``f`` ending in one logit; the
    logits of ``(i, j)`` and ``(j, i)`` averaged, so the matrix is symmetric). The sum
    must learn to route each pair's evidence to its own bit through one vector, which takes far longer
    than a CPU recipe trains (in relnet's runs it stayed at "no connection anywhere"); per pair, the
    evidence and its bit are the same place. Output: see the module docstring, by ``target``.
    """

    target: ClassVar[Target] = "connections"

    def __init__(
        self,
        g_widths: Sequence[int] = (1000, 1000, 1000, 500),
        f_widths: Sequence[int] = (500, 100),
        f_dropout: float = 0.0,
        colour: Colour = "scalar",
        readout: Literal["sum", "pairs"] = "sum",
        motion: bool = False,
    ) -> None:
        super().__init__()
        if readout not in ("sum", "pairs") or (readout == "pairs" and self.target != "connections"):
            raise ValueError(f"readout must be 'sum' (or 'pairs' for connections), not {readout!r}")
        self.colour, self.readout, self.motion = colour, readout, motion
        self.relation = RelationNetwork(
            object_dim(colour, motion),
            1 if readout == "pairs" else output_size(self.target),
            g_widths=tuple(g_widths),
            f_widths=tuple(f_widths),
            f_dropout=f_dropout,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        objects = state_objects(batch["positions"], self.colour, self.motion)
        if self.readout == "pairs":
            logits = self.relation.f(self.relation.pair_outputs(objects)).squeeze(-1)  # (B, 10, 10)
            return (logits + logits.transpose(1, 2)) / 2  # one answer per unordered pair
        return shaped(self.relation(objects), self.target)


class StateMLP(nn.Module):
    """An MLP on the 10 balls' rows, concatenated in ball order.

    Args: ``widths`` hidden widths (the default, 1000, 1000, 1000, 500, 100, has about as many
    parameters as the paper's RN: 2.9 M), ``dropout`` after each; ``colour`` as for the RN.
    """

    target: ClassVar[Target] = "connections"

    def __init__(
        self,
        widths: Sequence[int] = (1000, 1000, 1000, 500, 100),
        dropout: float = 0.0,
        colour: Colour = "scalar",
        motion: bool = False,
    ) -> None:
        super().__init__()
        self.colour, self.motion = colour, motion
        self.net = MLP(
            BALLS * object_dim(colour, motion),
            [*widths, output_size(self.target)],
            activate_last=False,
            dropout=dropout,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return shaped(self.net(state_objects(batch["positions"], self.colour, self.motion).flatten(1)), self.target)


class CountingRN(StateRN):
    """:class:`StateRN` counting the systems."""

    target: ClassVar[Target] = "systems"


class CountingMLP(StateMLP):
    """:class:`StateMLP` counting the systems."""

    target: ClassVar[Target] = "systems"


def clip(frames: torch.Tensor) -> torch.Tensor:
    """Stored frames ``(B, T, H, W, 3)`` uint8 → ``(B, T, 3, H, W)`` float in [0, 1]."""
    return frames.permute(0, 1, 4, 2, 3).float().div_(255.0)


class FramesRN(nn.Module):
    """Counts the systems from the 16 pictures: a Relation Network over frame objects
    (:class:`relnet.nn.FrameObjects`, one CNN embedding per frame tagged with its time).

    Args: ``frame_size`` (S of the S × S frames; filled in from the data), the encoder's ``channels``,
    ``embed_dim``, ``time_tag`` and ``window`` (frames each object sees), and the RN's ``g_widths`` and
    ``f_widths``. Output ``(B, 6)``.
    """

    target: ClassVar[Target] = "systems"

    def __init__(
        self,
        frame_size: int = 32,
        channels: Sequence[int] = (32, 32, 32),
        embed_dim: int = 128,
        time_tag: Literal["linear", "onehot"] = "linear",
        g_widths: Sequence[int] = (256, 256, 256),
        f_widths: Sequence[int] = (256,),
        window: int = 1,
    ) -> None:
        super().__init__()
        self.frames = FrameObjects(
            (frame_size, frame_size),
            channels=tuple(channels),
            embed_dim=embed_dim,
            time_tag=time_tag,
            max_frames=FRAMES,
            window=window,
        )
        self.relation = RelationNetwork(
            self.frames.object_dim, SYSTEM_CLASSES, g_widths=tuple(g_widths), f_widths=tuple(f_widths)
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.relation(self.frames(clip(batch["frames"])))


class FramesCNNMLP(nn.Module):
    """Counts the systems from the 16 pictures stacked along the channels (48 = 16 × RGB): a CNN and an
    MLP (:class:`relnet.nn.ConvMLP`), the baseline of the frame-object RN. Output ``(B, 6)``."""

    target: ClassVar[Target] = "systems"

    def __init__(
        self,
        frame_size: int = 32,
        channels: Sequence[int] = (64, 64, 64),
        widths: Sequence[int] = (256, 256),
    ) -> None:
        super().__init__()
        self.net = ConvMLP(
            (frame_size, frame_size),
            SYSTEM_CLASSES,
            in_channels=3 * FRAMES,
            channels=tuple(channels),
            widths=tuple(widths),
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(clip(batch["frames"]).flatten(1, 2))


MODELS: dict[str, type[nn.Module]] = {
    "rn": StateRN,
    "mlp": StateMLP,
    "rn-count": CountingRN,
    "mlp-count": CountingMLP,
    "rn-frames": FramesRN,
    "cnn-mlp-frames": FramesCNNMLP,
}
