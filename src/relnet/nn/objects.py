"""Turning raw inputs into sets of objects for relational modules.

- :class:`ConvObjects`: each cell of a CNN's last feature map is one object, tagged with its (x, y)
  position, as in the RN paper's pixel models.
- :class:`ObjectRows`: objects given directly as feature rows (state descriptions), optionally
  embedded by a linear layer; :func:`pad_objects` batches sets of different sizes with a mask.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def conv_stack(
    in_channels: int, channels: Sequence[int], *, kernel_size: int = 3, stride: int = 2, batch_norm: bool = True
) -> nn.Sequential:
    """``Conv -> [BatchNorm] -> ReLU`` per entry of ``channels``; each halves the resolution at stride 2.

    Shape: ``(B, in_channels, H, W) -> (B, channels[-1], H', W')``.
    """
    layers: list[nn.Module] = []
    for previous, width in itertools.pairwise((in_channels, *channels)):
        layers.append(
            nn.Conv2d(previous, width, kernel_size, stride=stride, padding=kernel_size // 2, bias=not batch_norm)
        )
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def coordinate_grid(height: int, width: int, *, device: torch.device | None = None) -> torch.Tensor:
    """The ``(x, y)`` position of every cell of a ``height × width`` grid, in [-1, 1], row-major.

    Shape: ``(height * width, 2)``.
    """
    ys = torch.linspace(-1.0, 1.0, height, device=device) if height > 1 else torch.zeros(1, device=device)
    xs = torch.linspace(-1.0, 1.0, width, device=device) if width > 1 else torch.zeros(1, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1).reshape(height * width, 2)


class ConvObjects(nn.Module):
    """CNN feature-map cells as objects, each tagged with its coordinates.

    Args:
        in_channels: image channels.
        channels: output channels of each convolution (the RN paper: 24×4 for CLEVR,
            32/64/128/256 for Sort-of-CLEVR).
        kernel_size, stride, batch_norm: of every convolution.
        cell_means: also give each object its cell's mean input (the image average-pooled to the
            feature map's grid: ``in_channels`` more features). A CNN trained from scratch tends to drop
            colour while it learns shapes and positions (relnet's colour probe); the mean keeps it.

    Shape:
        images ``(B, in_channels, H, W)`` float → objects ``(B, h * w, object_dim)``: the CNN's
        ``channels[-1]`` features, with ``cell_means`` the cell's ``in_channels`` mean values, and last
        the cell's ``(x, y)`` in [-1, 1]. ``h, w`` are given by :meth:`grid_size`.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: Sequence[int] = (32, 64, 128, 256),
        *,
        kernel_size: int = 3,
        stride: int = 2,
        batch_norm: bool = True,
        cell_means: bool = False,
    ) -> None:
        super().__init__()
        self.cnn = conv_stack(in_channels, channels, kernel_size=kernel_size, stride=stride, batch_norm=batch_norm)
        self.cell_means = cell_means
        self.object_dim = channels[-1] + (in_channels if cell_means else 0) + 2
        self._kernel_size, self._stride, self._layers = kernel_size, stride, len(channels)

    def grid_size(self, height: int, width: int) -> tuple[int, int]:
        """Feature-map size for an input of ``height × width`` pixels."""
        padding = self._kernel_size // 2
        for _ in range(self._layers):
            height = (height + 2 * padding - self._kernel_size) // self._stride + 1
            width = (width + 2 * padding - self._kernel_size) // self._stride + 1
        return height, width

    def cell_centres(self, height: int, width: int) -> torch.Tensor:
        """``(h * w, 2)``: the ``(x, y)`` centre of every cell's receptive field on a ``height × width``
        input, row-major like the objects, in pixels (pixel ``i`` spans ``[i, i + 1)``). A stride-2,
        3×3, padding-1 layer centres output cell ``j`` on input pixel ``2j``, so after four layers
        cell ``k`` looks at pixel ``16k`` (not the middle of the ``k``-th equal tile, nor the
        position its coordinate tag says)."""
        rows, columns = self.grid_size(height, width)
        padding = self._kernel_size // 2
        along = []
        for count in (columns, rows):
            centre = torch.arange(count, dtype=torch.float64)
            for _ in range(self._layers):
                centre = centre * self._stride - padding + (self._kernel_size - 1) / 2
            along.append(centre + 0.5)
        ys, xs = torch.meshgrid(along[1], along[0], indexing="ij")
        return torch.stack([xs, ys], dim=-1).reshape(rows * columns, 2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, h * w, object_dim)``."""
        if images.dim() != 4:
            raise ValueError(f"images must have shape (batch, channels, height, width), got {tuple(images.shape)}")
        features = self.cnn(images)
        batch, _, height, width = features.shape
        if self.cell_means:
            means = F.adaptive_avg_pool2d(images, (height, width)).to(features.dtype)
            features = torch.cat([features, means], dim=1)
        cells = features.flatten(2).transpose(1, 2)  # (B, h*w, depth)
        coords = coordinate_grid(height, width, device=images.device).to(cells.dtype)
        return torch.cat([cells, coords.expand(batch, -1, -1)], dim=-1)


def images_to_float(images: torch.Tensor) -> torch.Tensor:
    """``(B, H, W, 3)`` uint8 → ``(B, 3, H, W)`` float in [0, 1], converted on the model's device."""
    return images.permute(0, 3, 1, 2).float().div_(255.0)


def encode_each_image_once(
    encoder: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, image_index: torch.Tensor | None
) -> torch.Tensor:
    """``encoder`` applied to every *distinct* image of a batch once, its output repeated per question.

    Questions about the same image share its encoding: with batches grouped by image (training
    ``group_size``, or evaluation in file order, where an image's 20 questions are consecutive), the
    CNN runs on a fraction of the batch. ``images`` ``(B, H, W, 3)`` uint8, ``image_index`` ``(B,)``
    → ``encoder``'s output for each row, ``(B, ...)``.
    """
    if image_index is None:
        return encoder(images_to_float(images))
    distinct, inverse = torch.unique(image_index, return_inverse=True)
    if len(distinct) == len(image_index):
        return encoder(images_to_float(images))
    rows = torch.arange(len(image_index), device=image_index.device)
    first_row = torch.full_like(distinct, len(image_index)).scatter_reduce(0, inverse, rows, "amin")
    return encoder(images_to_float(images[first_row]))[inverse]


class ObjectRows(nn.Module):
    """Objects given as feature rows (a state description), optionally embedded by a linear layer.

    Shape: ``(B, n, input_dim) -> (B, n, object_dim)`` where ``object_dim`` is ``embed_dim`` if given,
    else ``input_dim``.
    """

    def __init__(self, input_dim: int, embed_dim: int | None = None) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.embed: nn.Module = nn.Identity() if embed_dim is None else nn.Linear(input_dim, embed_dim)
        self.object_dim = input_dim if embed_dim is None else embed_dim

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """``(B, n, input_dim) -> (B, n, object_dim)``."""
        if rows.dim() != 3 or rows.shape[-1] != self.input_dim:
            raise ValueError(
                f"object rows must have shape (batch, n_objects, {self.input_dim}), got {tuple(rows.shape)}"
            )
        return self.embed(rows)


def pad_objects(object_sets: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch sets of different sizes: ``[(n_k, d)] -> objects (B, max n_k, d), mask (B, max n_k)``."""
    if not object_sets:
        raise ValueError("pad_objects needs at least one object set")
    dims = {tuple(s.shape[1:]) for s in object_sets}
    if any(s.dim() != 2 for s in object_sets) or len(dims) != 1:
        raise ValueError("every object set must have shape (n_objects, d) with the same d")
    padded = nn.utils.rnn.pad_sequence(list(object_sets), batch_first=True)
    lengths = torch.tensor([len(s) for s in object_sets], device=padded.device)
    mask = torch.arange(padded.shape[1], device=padded.device)[None, :] < lengths[:, None]
    return padded, mask
