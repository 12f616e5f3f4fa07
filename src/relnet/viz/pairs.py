"""Draw an image with the strongest object pairs of a relational model as lines between objects."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from relnet.viz.files import pyplot, save_figure

plt = pyplot()
SUPPORT, OPPOSE = "tab:green", "tab:red"


def draw_pairs(panels: Sequence[dict], path: Path, *, top_pairs: int = 5) -> Path:
    """One panel per entry: ``{"image": (H, W, 3) uint8, "title": str, "strength": (n, n) array or None,
    "positions": (n, 2) array of (x, y) pixels}``; the ``top_pairs`` strongest pairs i≠j are drawn,
    line width and opacity growing with strength."""
    columns = min(4, len(panels))
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.6 * rows), dpi=110, squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, panel in zip(axes.flat, panels, strict=False):
        axis.imshow(panel["image"], interpolation="nearest")
        axis.set_title(panel["title"], fontsize=7)
        strength = panel.get("strength")
        if strength is None:
            continue
        strength = np.array(strength, dtype=float)
        np.fill_diagonal(strength, -np.inf)
        flat = np.argsort(strength, axis=None)[::-1][:top_pairs]
        peak = strength.flat[flat[0]]
        pairs = [np.unravel_index(index, strength.shape) for index in flat]
        weights = [strength[i, j] / peak if peak > 0 else 0.0 for i, j in pairs]
        draw_pair_lines(axis, pairs, np.asarray(panel["positions"]), weights)
    figure.tight_layout()
    return save_figure(figure, path)


def draw_pair_lines(
    axis: Any,
    pairs: Sequence[tuple[int, int]],
    positions: np.ndarray,
    weights: Sequence[float],
    colors: Sequence[str] | None = None,
) -> None:
    """Draw ``pairs`` ``(i, j)`` between ``positions`` ``(n, 2)`` (x, y), numbered by rank, each
    thicker and more opaque with its weight in [0, 1]; a pair ``(i, i)`` is a ring around object i."""
    for rank, ((i, j), weight) in enumerate(zip(pairs, weights, strict=True)):
        color = "black" if colors is None else colors[rank]
        (x0, y0), (x1, y1) = positions[i], positions[j]
        style = {"color": color, "linewidth": 0.8 + 2.5 * weight, "alpha": 0.3 + 0.6 * weight}
        if i == j:
            axis.plot(
                [x0], [y0], marker="o", markersize=9, markeredgewidth=style["linewidth"], fillstyle="none", **style
            )
        else:
            axis.plot([x0, x1], [y0, y1], **style)
        axis.text((x0 + x1) / 2, (y0 + y1) / 2, str(rank + 1), fontsize=6, color="purple")


def draw_effect_lines(axis: Any, pairs: Sequence[tuple[int, int, float]], positions: np.ndarray) -> None:
    """:func:`draw_pair_lines` for pairs ``(i, j, effect)``: green where the effect supports the answer
    (>= 0), red where it opposes it, each weighted by its ``|effect|`` over the largest."""
    peak = max((abs(effect) for *_, effect in pairs), default=0.0)
    draw_pair_lines(
        axis,
        [(i, j) for i, j, _ in pairs],
        np.asarray(positions, dtype=float),
        [abs(effect) / peak if peak > 0 else 0.0 for *_, effect in pairs],
        [SUPPORT if effect >= 0 else OPPOSE for *_, effect in pairs],
    )
