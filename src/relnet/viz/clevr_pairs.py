"""Draw CLEVR questions with a model's answer and the object or cell pairs that decided it.

Every picture is drawn in the frame of the released 480×320 images, in which a scene's ``pixel_coords``
are given: an image of another size (such as a model's 128×128 input) shows the same view stretched, so
it is drawn stretched back to 3:2. A panel without an image (a folder generated with ``--no-render``) is
a top-down map of the ground plane instead, turned so that "behind" points up and "right" right, as the
camera sees the scene.

A panel is a dict:

- ``"title"``: str;
- ``"image"``: ``(H, W, 3)`` uint8, or ``None`` for the top-down map;
- ``"objects"``: the scene's object records (their colours, shapes and positions are drawn on the map and
  their numbers on the image), or ``None`` when the split has no scenes;
- ``"directions"``: the scene's ``directions`` (for the map), or ``None``;
- ``"positions"``: ``(n, 2)``: each of the model's objects (slots) in the panel's frame (see
  :func:`slot_positions`), or ``None``;
- ``"pairs"``: ``[(i, j, effect), ...]`` the pairs to draw, largest first, or ``None`` (no pairs);
- ``"grid"``: ``(rows, columns, 2)``: the centre of every cell of a pixel model's feature map in the
  panel's frame (see :func:`feature_grid`; faint lines halfway between them), or ``None``;
- ``"note"``: a line under the picture, or ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relnet.tasks.clevr.camera import BASE_HEIGHT, BASE_WIDTH
from relnet.tasks.clevr.vocab import COLOR_RGB

#: Half the side of the top-down map at least, in scene units (objects lie within [-3, 3]).
MAP_EXTENT = 3.6
_MARKERS = {"cube": "s", "sphere": "o", "cylinder": "h"}


def ground_positions(objects: Sequence[Mapping[str, Any]], directions: Mapping[str, Any] | None) -> np.ndarray:
    """``(n, 2)``: each object on the top-down map, ``(right, behind)`` components of its ground
    position when the scene gives its ``directions``, else its ``(x, y)``."""
    xy = np.array([obj["3d_coords"][:2] for obj in objects], dtype=float).reshape(-1, 2)
    if directions and "right" in directions and "behind" in directions:
        axes = np.array([directions["right"][:2], directions["behind"][:2]], dtype=float)
        return xy @ axes.T
    return xy


def slot_kind(model: torch.nn.Module) -> str | None:
    """What a CLEVR model's relation module pairs: ``"cells"`` (the pixel RN: feature-map cells),
    ``"objects"`` (the state RN: the scene's objects, one slot each) or ``None`` (a model without pairs)."""
    from relnet.tasks.clevr.models import PixelRelationNetwork, StateRelationNetwork

    if isinstance(model, PixelRelationNetwork):
        return "cells"
    if isinstance(model, StateRelationNetwork):
        return "objects"
    return None


def feature_grid(model: torch.nn.Module, height: int, width: int) -> np.ndarray | None:
    """``(rows, columns, 2)``: the ``(x, y)`` centre of each cell of a pixel RN's feature map on
    ``height × width`` images (its receptive field's centre, ``ConvObjects.cell_centres``), in the
    480×320 frame; ``None`` for a model without cells."""
    if slot_kind(model) != "cells":
        return None
    rows, columns = model.objects.grid_size(height, width)
    centres = model.objects.cell_centres(height, width).numpy() * [BASE_WIDTH / width, BASE_HEIGHT / height]
    return centres.reshape(rows, columns, 2)


def slot_positions(
    kind: str | None,
    slots: int,
    *,
    grid: np.ndarray | None = None,
    objects: Sequence[Mapping[str, Any]] | None = None,
    directions: Mapping[str, Any] | None = None,
    on_image: bool = True,
) -> np.ndarray | None:
    """Where a model's ``slots`` objects are drawn: for ``kind`` ``"cells"`` the cell centres ``grid``
    (:func:`feature_grid`), for ``"objects"`` the scene's ``objects`` (on the image, or on the map when not
    ``on_image``). ``(slots, 2)``, padding slots at 0 (they are in no pair); ``None`` when unknown."""
    if kind == "cells":
        return None if grid is None else grid.reshape(-1, 2)
    if kind != "objects" or objects is None:
        return None
    if on_image:
        found = np.array([obj["pixel_coords"][:2] for obj in objects], dtype=float).reshape(-1, 2)
    else:
        found = ground_positions(objects, directions)
    positions = np.zeros((max(slots, len(found)), 2))
    positions[: len(found)] = found
    return positions


def top_pairs(effects: torch.Tensor, pair_mask: torch.Tensor, k: int) -> list[tuple[int, int, float]]:
    """The ``k`` valid pairs with the largest ``|effect|``, largest first: ``(n, n)`` effects and bool
    mask → ``[(i, j, effect), ...]``."""
    n = effects.shape[-1]
    scores = torch.where(pair_mask, effects.abs(), torch.full_like(effects, -torch.inf)).flatten()
    count = min(k, int(pair_mask.sum()))
    chosen = scores.topk(count).indices.tolist() if count else []
    return [(index // n, index % n, float(effects.flatten()[index])) for index in chosen]


def draw_panel(axis: Any, panel: Mapping[str, Any]) -> None:
    """Draw one panel (see the module docstring) into a matplotlib ``axis``."""
    from relnet.viz.pairs import draw_effect_lines

    objects = panel.get("objects")
    image = panel.get("image")
    if image is not None:
        axis.imshow(image, extent=(0, BASE_WIDTH, BASE_HEIGHT, 0), interpolation="nearest")
        axis.set_xlim(0, BASE_WIDTH)
        axis.set_ylim(BASE_HEIGHT, 0)
        axis.set_axis_off()
        if panel.get("grid") is not None:
            # Each line lies halfway between neighbouring cell centres: a point is in its nearest cell.
            grid = panel["grid"]
            for y in (grid[1:, 0, 1] + grid[:-1, 0, 1]) / 2:
                axis.axhline(y, color="white", linewidth=0.3, alpha=0.35)
            for x in (grid[0, 1:, 0] + grid[0, :-1, 0]) / 2:
                axis.axvline(x, color="white", linewidth=0.3, alpha=0.35)
        if objects is not None:
            for number, obj in enumerate(objects):
                x, y = obj["pixel_coords"][:2]
                axis.text(x, y, str(number), color="white", fontsize=5, ha="center", va="center", alpha=0.8,
                          bbox={"boxstyle": "circle,pad=0.15", "fc": "black", "alpha": 0.45, "lw": 0})  # fmt: skip
    else:
        _ground_map(axis, objects or [], panel.get("directions"))
    pairs = panel.get("pairs")
    positions = panel.get("positions")
    if pairs and positions is not None:
        draw_effect_lines(axis, pairs, positions)
    axis.set_title(panel.get("title", ""), fontsize=6.5, loc="left")
    if panel.get("note"):
        axis.text(0.5, -0.03, panel["note"], transform=axis.transAxes, ha="center", va="top", fontsize=5.5,
                  color="dimgray", wrap=True)  # fmt: skip


def _ground_map(axis: Any, objects: Sequence[Mapping[str, Any]], directions: Mapping[str, Any] | None) -> None:
    """The scene from above: each object a marker of its colour and shape (larger for large ones,
    a white edge for metal), numbered."""
    axis.set_facecolor("#e8e8e8")
    positions = ground_positions(objects, directions)
    for number, (obj, (x, y)) in enumerate(zip(objects, positions, strict=True)):
        rgb = np.array(COLOR_RGB.get(obj["color"], (128, 128, 128))) / 255
        axis.plot(
            [x],
            [y],
            marker=_MARKERS.get(obj["shape"], "o"),
            markersize=13 if obj["size"] == "large" else 8,
            color=rgb,
            markeredgecolor="white" if obj["material"] == "metal" else "black",
            markeredgewidth=1.0,
            zorder=1,
        )
        axis.text(x, y, str(number), color="white", fontsize=5, ha="center", va="center", zorder=2)
    extent = max(MAP_EXTENT, float(np.abs(positions).max(initial=0.0)) + 0.6)  # turned axes reach further
    axis.set_xlim(-extent, extent)
    axis.set_ylim(-extent, extent)
    axis.set_aspect("equal")
    axis.set_xticks([])
    axis.set_yticks([])
    turned = bool(directions and "right" in directions and "behind" in directions)
    axis.set_xlabel("right →" if turned else "x →", fontsize=5.5, labelpad=1)
    axis.set_ylabel("behind →" if turned else "y →", fontsize=5.5, labelpad=1)


def draw_clevr_pairs(panels: Sequence[Mapping[str, Any]], path: Path, *, legend: str | None = None) -> Path:
    """Save one panel per question (four to a row) to ``path``, with ``legend`` (one line) under them;
    returns the file written."""
    from relnet.viz.files import pyplot, save_figure

    plt = pyplot()
    columns = min(4, len(panels))
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.2 * rows + 0.3), dpi=120, squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for axis, panel in zip(axes.flat, panels, strict=False):
        axis.set_axis_on()
        draw_panel(axis, panel)
    if legend:
        figure.text(0.5, 0.005, legend, ha="center", va="bottom", fontsize=7, color="dimgray")
    figure.tight_layout(rect=(0, 0.03 if legend else 0, 1, 1), h_pad=1.5, w_pad=1.0)
    try:
        return save_figure(figure, path)
    finally:
        plt.close(figure)


def panel_png(panel: Mapping[str, Any], *, width: float = 4.2) -> bytes:
    """One panel as the bytes of a PNG ``width`` inches wide (the demo's pictures)."""
    import io

    from relnet.viz.files import pyplot

    plt = pyplot()
    height = width * (BASE_HEIGHT / BASE_WIDTH if panel.get("image") is not None else 1.0) + 0.3
    figure, axis = plt.subplots(figsize=(width, height), dpi=100)
    try:
        draw_panel(axis, {**panel, "title": panel.get("title", "")})
        figure.tight_layout(pad=0.2)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return buffer.getvalue()
