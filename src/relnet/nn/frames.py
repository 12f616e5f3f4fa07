"""Sequences of images as objects: each frame of a clip, encoded by a small CNN, is one object.

A Relation Network over these objects relates frames to each other (what moved between frame 3 and
frame 9), the third kind of object of the RN paper beside CNN cells and state rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from relnet.nn.objects import conv_stack

TimeTag = Literal["linear", "onehot"]


class FrameObjects(nn.Module):
    """A clip ``(B, T, C, H, W)`` → ``T`` objects: one CNN embedding per frame, tagged with its time.

    Every frame goes through the same CNN (:func:`~relnet.nn.objects.conv_stack`), whose flattened
    feature map (which keeps *where* things are, unlike a pooled one) a linear layer and a ReLU turn
    into ``embed_dim`` features; the frame's time index is appended.

    Args:
        frame_size: ``(H, W)`` of the frames, which fixes the flattened feature size.
        in_channels: channels per frame.
        channels, kernel_size, stride, batch_norm: of the CNN's convolutions (each stride-2 layer halves
            the resolution).
        embed_dim: features per frame before the time tag.
        time_tag: ``"linear"``: one feature, the frame's index mapped to [-1, 1] (frame 0 → -1, the last
            → 1, like :class:`~relnet.nn.objects.ConvObjects`' coordinates); ``"onehot"``: ``max_frames``
            features, 1 at the frame's index.
        max_frames: the longest clip, for ``"onehot"`` tags.
        window: frames each object sees, centred on its own (odd; the clip's first and last frames
            repeat past its ends), stacked along the channels before the CNN. With 1 an object holds
            one moment, and motion shows only between objects; with 3 the CNN sees each thing's
            velocity and acceleration about that frame (motion as in the state rows of
            :mod:`relnet.tasks.dynamics`).

    Shape:
        clip ``(B, T, in_channels, H, W)`` float → objects ``(B, T, object_dim)``, ``object_dim`` =
        ``embed_dim + 1`` (linear tags) or ``embed_dim + max_frames`` (one-hot tags), the tag last.
    """

    def __init__(
        self,
        frame_size: tuple[int, int],
        *,
        in_channels: int = 3,
        channels: Sequence[int] = (32, 32, 32),
        kernel_size: int = 3,
        stride: int = 2,
        batch_norm: bool = True,
        embed_dim: int = 128,
        time_tag: TimeTag = "linear",
        max_frames: int = 16,
        window: int = 1,
    ) -> None:
        super().__init__()
        if time_tag not in ("linear", "onehot"):
            raise ValueError(f"time_tag must be 'linear' or 'onehot', not {time_tag!r}")
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be an odd number of frames, not {window}")
        self.window = window
        stacked = in_channels * window
        self.cnn = conv_stack(stacked, channels, kernel_size=kernel_size, stride=stride, batch_norm=batch_norm)
        with torch.no_grad():
            flat = self.cnn.eval()(torch.zeros(1, stacked, *frame_size)).numel()
        self.cnn.train()
        self.embed = nn.Sequential(nn.Linear(flat, embed_dim), nn.ReLU())
        self.frame_size, self.in_channels = tuple(frame_size), in_channels
        self.time_tag, self.max_frames = time_tag, max_frames
        self.object_dim = embed_dim + (1 if time_tag == "linear" else max_frames)

    def time_tags(self, frames: int, *, device: torch.device | None = None) -> torch.Tensor:
        """The tags of a clip of ``frames`` frames: ``(frames, 1)`` or ``(frames, max_frames)``."""
        if self.time_tag == "onehot":
            if frames > self.max_frames:
                raise ValueError(f"a clip of {frames} frames is longer than max_frames={self.max_frames}")
            return torch.eye(frames, self.max_frames, device=device)
        if frames == 1:
            return torch.zeros(1, 1, device=device)
        return torch.linspace(-1.0, 1.0, frames, device=device)[:, None]

    def windows(self, clip: torch.Tensor) -> torch.Tensor:
        """Each frame with its ``window - 1`` neighbours: ``(B, T, C, H, W) -> (B, T, window · C, H, W)``,
        frame ``t``'s channels those of frames ``t - window // 2`` to ``t + window // 2`` in order."""
        if self.window == 1:
            return clip
        half, frames = self.window // 2, clip.shape[1]
        padded = torch.cat(
            [clip[:, :1].expand(-1, half, -1, -1, -1), clip, clip[:, -1:].expand(-1, half, -1, -1, -1)], 1
        )
        return torch.cat([padded[:, offset : offset + frames] for offset in range(self.window)], dim=2)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """``(B, T, C, H, W) -> (B, T, object_dim)``."""
        if clip.dim() != 5 or clip.shape[2] != self.in_channels or tuple(clip.shape[3:]) != self.frame_size:
            raise ValueError(
                f"clips must have shape (batch, frames, {self.in_channels}, {self.frame_size[0]}, "
                f"{self.frame_size[1]}), got {tuple(clip.shape)}"
            )
        batch, frames = clip.shape[:2]
        features = self.embed(self.cnn(self.windows(clip).flatten(0, 1)).flatten(1)).unflatten(0, (batch, frames))
        tags = self.time_tags(frames, device=clip.device).to(features.dtype)
        return torch.cat([features, tags.expand(batch, -1, -1)], dim=-1)
