"""Training-time augmentation by the symmetries of a mass-spring scene.

A scene's connections and systems do not change when the box is mirrored, its axes are swapped (the
box is square and its walls are alike), time runs backwards (the physics is conservative: without
damping a reversed trajectory is another solution of the same equations), or the balls are
relabelled. Each training scene gets one random element of the 8 symmetries of the square, a random
direction of time and, for the state rows, a random relabelling of its balls: 16 · 10! views.

Pictures follow the geometric transforms exactly: the renderer maps ``x`` to the column ``x · S`` and
``y`` to the row ``S - y · S`` with pixel centres at half-integers, so mirroring a column or a row
index is mirroring the coordinate, and transposing the picture maps ``(x, y)`` to ``(1 - y, 1 - x)``.
A relabelling is applied to ``positions`` and ``connections`` only: pictures show a ball by its
colour, so theirs would need redrawing; the pictures keep the scene's original labels, which changes
no count of systems (the only target a frame model has).
"""

from __future__ import annotations

import torch

from relnet.data.tables import Batch


def augment(batch: Batch) -> Batch:
    """``batch`` with each scene under a random symmetry and relabelling (see the module docstring).
    Draws from torch's global generator, which the training loop seeds."""
    scenes, _, balls, _ = batch["positions"].shape
    device = batch["positions"].device
    codes = torch.randint(0, 16, (scenes,), device=device)
    return apply_symmetries(batch, codes, torch.rand(scenes, balls, device=device).argsort(-1))


def apply_symmetries(batch: Batch, codes: torch.Tensor, order: torch.Tensor) -> Batch:
    """``batch`` with scene ``k`` transformed by ``codes[k]`` (bit 0 swap the axes by transposing,
    bit 1 mirror x, bit 2 mirror y, bit 3 reverse time, in that order) and its balls relabelled:
    ball ``i`` of the new scene is ball ``order[k, i]`` of the old one.

    Transforms ``positions`` ``(B, T, 10, 2)`` in the box's ``[0, 1]²``, ``connections`` ``(B, 10, 10)``
    and, when present, ``frames`` ``(B, T, S, S, 3)`` (not relabelled); other keys pass through.
    """
    transpose, mirror_x, mirror_y, reverse = ((codes >> bit) & 1 == 1 for bit in range(4))
    positions = batch["positions"]
    x, y = positions[..., 0], positions[..., 1]
    x, y = torch.where(transpose[:, None, None], 1 - y, x), torch.where(transpose[:, None, None], 1 - x, y)
    x = torch.where(mirror_x[:, None, None], 1 - x, x)
    y = torch.where(mirror_y[:, None, None], 1 - y, y)
    positions = torch.stack([x, y], -1)
    positions = torch.where(reverse[:, None, None, None], positions.flip(1), positions)

    scenes = torch.arange(len(order), device=order.device)[:, None]
    out = dict(batch)
    out["positions"] = positions[scenes, :, order].transpose(1, 2)  # (B, 10, T, 2) -> (B, T, 10, 2)
    out["connections"] = batch["connections"][scenes[..., None], order[..., None], order[:, None, :]]

    if "frames" in batch:  # (B, T, rows, columns, 3)
        transpose, mirror_x, mirror_y, reverse = (
            flag[:, None, None, None, None] for flag in (transpose, mirror_x, mirror_y, reverse)
        )
        frames = batch["frames"]
        frames = torch.where(transpose, frames.transpose(2, 3), frames)
        frames = torch.where(mirror_x, frames.flip(3), frames)
        frames = torch.where(mirror_y, frames.flip(2), frames)
        out["frames"] = torch.where(reverse, frames.flip(1), frames)
    return out
