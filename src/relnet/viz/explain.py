"""The figure of one explained question: the deciding pairs, the deletion curve, heuristic vs exact.

Three panels: (1) the image with the pairs of largest exact effect drawn between their objects (green:
the pair supports the answer, red: it opposes it), or, for a task without pictures, the grid of exact
effects with the objects' labels; (2) the answer's probability as pairs are removed, most supportive
first, with the point where the answer changes; (3) each pair's norm of ``g`` (the heuristic ``relnet
show`` draws) against its exact effect.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from relnet.viz.files import pyplot, save_figure
from relnet.viz.pairs import OPPOSE, draw_effect_lines

plt = pyplot()


def draw_explanation(panel: dict[str, Any], path: Path) -> Path:
    """Save the figure of one question.

    ``panel``: ``"title"`` str; ``"effects"``, ``"norms"`` ``(n, n)`` arrays and ``"pair_mask"`` ``(n, n)``
    bool; ``"top"`` the pairs to draw ``[(i, j), ...]``; ``"labels"`` n object names (those of the
    objects the question is about marked); ``"curve"``
    ``(P + 1,)`` probabilities; ``"flip_after"`` int or None; ``"kept"`` the greedy set's size;
    optionally ``"image"`` ``(H, W, 3)`` uint8 with ``"positions"`` ``(n, 2)`` (x, y) pixels.
    """
    effects = np.asarray(panel["effects"], dtype=float)
    norms = np.asarray(panel["norms"], dtype=float)
    valid = np.asarray(panel["pair_mask"], dtype=bool)
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4.2), dpi=110)
    if panel.get("image") is not None:
        _image_with_pairs(left, panel, effects)
    else:
        _effect_grid(left, effects, valid, panel["labels"])
    _deletion_curve(middle, np.asarray(panel["curve"], dtype=float), panel.get("flip_after"), panel["kept"])
    right.scatter(norms[valid], effects[valid], s=6, alpha=0.5, color="tab:blue")
    right.axhline(0, color="grey", linewidth=0.5)
    right.set_xlabel("‖g(o_i, o_j, q)‖ (the norm heuristic)", fontsize=8)
    right.set_ylabel("exact effect on the answer's margin", fontsize=8)
    right.set_title("heuristic vs exact, one dot per pair", fontsize=8)
    figure.suptitle(textwrap.shorten(panel["title"], 160), fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path)


def _image_with_pairs(axis: Any, panel: dict[str, Any], effects: np.ndarray) -> None:
    axis.imshow(panel["image"], interpolation="nearest")
    axis.set_axis_off()
    pairs = [tuple(pair) for pair in panel["top"]]
    draw_effect_lines(axis, [(i, j, effects[i, j]) for i, j in pairs], panel["positions"])
    axis.set_title(f"top {len(pairs)} pairs by exact effect (green supports, red opposes)", fontsize=8)


def _effect_grid(axis: Any, effects: np.ndarray, valid: np.ndarray, labels: list[str]) -> None:
    """The ``(n, n)`` effects as a grid, cut to the objects in some valid pair (not the padding)."""
    used = np.flatnonzero(valid.any(axis=0) | valid.any(axis=1))
    shown = np.where(valid, effects, np.nan)[np.ix_(used, used)]
    peak = float(np.nanmax(np.abs(shown))) if used.size else 1.0
    image = axis.imshow(shown, cmap="RdYlGn", vmin=-peak, vmax=peak)
    names = [textwrap.shorten(labels[k], 44) for k in used]
    axis.set_yticks(range(len(names)), names, fontsize=5)
    axis.set_xticks(range(len(names)), [str(k) for k in used], fontsize=5)
    axis.set_xlabel("object j", fontsize=7)
    axis.set_title("exact effect of removing pair (i, j)", fontsize=8)
    plt.colorbar(image, ax=axis, fraction=0.046)


def _deletion_curve(axis: Any, curve: np.ndarray, flip_after: int | None, kept: int) -> None:
    removed = np.arange(len(curve))
    axis.plot(removed, curve, color="tab:blue", linewidth=1.2)
    axis.set_xscale("symlog", linthresh=1)
    axis.set_ylim(-0.02, 1.02)
    axis.set_xlabel("pairs removed (largest effect first)", fontsize=8)
    axis.set_ylabel("probability of the answer", fontsize=8)
    if flip_after is not None:
        axis.axvline(flip_after, color=OPPOSE, linestyle="--", linewidth=0.8)
        axis.text(flip_after, 0.95, f" answer changes after {flip_after}", color=OPPOSE, fontsize=7)
    axis.set_title(f"deletion curve; greedy deletion keeps {kept} pair(s)", fontsize=8)


def draw_steps(panel: dict[str, Any], path: Path) -> Path:
    """Save the figure of a Sudoku RRN's run on one puzzle.

    ``panel``: ``"title"``; ``"settled"`` 81 steps at which each cell settles; ``"digits"``,
    ``"solution"``, ``"quiz"`` 81-character grids; ``"curves"`` ``{edge kind silenced: cells right
    after each step}`` (``"none"``: the full graph).
    """
    settled = np.asarray(panel["settled"], dtype=float).reshape(9, 9)
    figure, (grid, curves) = plt.subplots(1, 2, figsize=(10, 4.4), dpi=110, gridspec_kw={"width_ratios": [1, 1.3]})
    image = grid.imshow(settled, cmap="viridis")
    for cell in range(81):
        row, column = divmod(cell, 9)
        given = panel["quiz"][cell] != "0"
        wrong = panel["digits"][cell] != panel["solution"][cell]
        color = "red" if wrong else ("white" if not given else "lightgrey")
        grid.text(column, row, panel["digits"][cell], ha="center", va="center", color=color, fontsize=9,
                  fontweight="bold" if not given else "normal")  # fmt: skip
    for line in (2.5, 5.5):
        grid.axhline(line, color="black", linewidth=1.5)
        grid.axvline(line, color="black", linewidth=1.5)
    grid.set_xticks([])
    grid.set_yticks([])
    grid.set_title("digit after the last step, coloured by the step it settles at (red: wrong)", fontsize=7)
    plt.colorbar(image, ax=grid, fraction=0.046, label="settles at step")
    for kind, right in panel["curves"].items():
        label = "all edges" if kind == "none" else f"{kind} edges silenced"
        curves.plot(range(1, len(right) + 1), right, label=label, linewidth=1.2)
    curves.set_xlabel("step", fontsize=8)
    curves.set_ylabel("cells right (of 81)", fontsize=8)
    curves.set_ylim(0, 82)
    curves.legend(fontsize=7)
    figure.suptitle(panel["title"], fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path)
