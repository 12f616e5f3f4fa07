"""Draw mass-spring scenes: the balls' trajectories with the true and the predicted connections.

A scene is drawn in its box ``[0, 1]²`` (``y`` up) on a dark background, like the task's frames: each
ball's path as a line in its colour that fades in from the first frame to the last, the ball as a disc
(its true radius, its number on it) where it is at the last frame drawn, and the connections between
the balls' positions there:

- a true connection is a solid line, straight for a rod, a zigzag for a spring;
- a connection the model predicts is a dashed line (beside the solid one when both are there);
- green: the model is right about the pair, red: it is wrong (a connection missed, or a false one);
  neutral (light grey) when the model predicts no connections (a counting model);
- a pair's probability, when given, is written at its middle.

A panel is a dict:

- ``"title"``: str;
- ``"positions"``: ``(T, n, 2)`` float, each ball's ``(x, y)`` at each frame;
- ``"pairs"``: a list of ``{"balls": (i, j), "kind": "spring" | "rod" | None, "true": bool,
  "predicted": bool | None, "right": bool | None, "probability": float | None}``, one per pair that is
  connected or predicted (``predicted``/``right`` ``None`` for a model that predicts no connections).

This module knows nothing of the task: the caller gives the balls' colours and radius.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from relnet.errors import RelnetError

BACKGROUND = "#141414"
RIGHT, WRONG, NEUTRAL = "#2ee66b", "#ff3b3b", "#c8c8c8"
#: How far the dashed line of a predicted connection runs beside a true one, in box units.
OFFSET = 0.022
#: Coils of a spring's zigzag, and their half-width in box units.
COILS, COIL_WIDTH = 7, 0.014
#: Milliseconds each frame of a GIF is shown; the last one stays longer.
FRAME_MS, LAST_FRAME_MS = 180, 1500


def picture_path(path: Path) -> Path:
    """``path`` checked before anything is computed: ``.gif`` (an animation) or a suffix matplotlib
    writes (``.png``, ``.svg``, ...); no suffix gets ``.png``. Anything else is a :class:`RelnetError`
    listing the choices."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    if not path.suffix:
        return path.with_name(path.name + ".png")
    formats = {"gif", *FigureCanvasAgg.get_supported_filetypes()}
    if path.suffix[1:].lower() not in formats:
        raise RelnetError(
            f"cannot draw into {path}: choose .gif (an animation of the first scene) or a picture file name ending in "
            + ", ".join(f".{name}" for name in sorted(formats - {"gif"}))
        )
    return path


def _spring(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``(k, 2)`` points of a zigzag from ``start`` to ``end``: straight ends, :data:`COILS` coils."""
    direction = end - start
    length = float(np.hypot(*direction))
    if length < 1e-9:
        return np.stack([start, end])
    normal = np.array([-direction[1], direction[0]]) / length
    steps = np.linspace(0.15, 0.85, 2 * COILS + 1)
    sides = np.zeros_like(steps)
    sides[1:-1:2], sides[2:-1:2] = 1.0, -1.0
    middle = start + steps[:, None] * direction + (sides * COIL_WIDTH)[:, None] * normal
    return np.vstack([start, middle, end])


def _colour(pair: Mapping[str, Any]) -> str:
    if pair.get("right") is None:
        return NEUTRAL
    return RIGHT if pair["right"] else WRONG


def _draw_pairs(axis: Any, pairs: Sequence[Mapping[str, Any]], where: np.ndarray) -> None:
    """The connections between the balls at ``where`` ``(n, 2)``."""
    for pair in pairs:
        i, j = pair["balls"]
        start, end = where[i], where[j]
        colour = _colour(pair)
        if pair["true"]:
            line = _spring(start, end) if pair.get("kind") == "spring" else np.stack([start, end])
            axis.plot(line[:, 0], line[:, 1], color=colour, linewidth=1.6, solid_capstyle="round", zorder=3)
        if pair.get("predicted"):
            shift = np.zeros(2)
            if pair["true"]:  # beside the true line, not on it
                direction = end - start
                length = float(np.hypot(*direction))
                if length > 1e-9:
                    shift = np.array([-direction[1], direction[0]]) / length * OFFSET
            axis.plot(
                [start[0] + shift[0], end[0] + shift[0]],
                [start[1] + shift[1], end[1] + shift[1]],
                color=colour,
                linewidth=1.4,
                linestyle=(0, (3, 2)),
                zorder=3,
            )
        if pair.get("probability") is not None:
            middle = (start + end) / 2
            axis.text(
                middle[0],
                middle[1],
                f"{pair['probability']:.2f}",
                fontsize=5.5,
                color=colour,
                ha="center",
                va="center",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": BACKGROUND, "edgecolor": "none", "alpha": 0.8},
            )


def draw_scene(
    axis: Any,
    panel: Mapping[str, Any],
    *,
    colours: Sequence[tuple[int, int, int]],
    radius: float,
    upto: int | None = None,
    title: bool = True,
) -> None:
    """Draw one panel into ``axis``: the trajectories up to frame ``upto`` (the last when ``None``), the
    balls and the connections where the balls are at that frame."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle

    positions = np.asarray(panel["positions"], dtype=float)
    last = len(positions) - 1 if upto is None else upto
    axis.set_facecolor(BACKGROUND)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_aspect("equal")
    axis.set_xticks([])
    axis.set_yticks([])
    rgb = np.asarray(colours, dtype=float) / 255
    if last > 0:
        segments = np.stack([positions[:last], positions[1 : last + 1]], axis=2)  # (t, n, 2, 2)
        fade = np.linspace(0.12, 0.9, len(positions) - 1)[-last:]  # the newest segment brightest
        for ball in range(positions.shape[1]):
            colour = np.column_stack([np.repeat(rgb[ball][None], last, axis=0), fade])
            axis.add_collection(LineCollection(segments[:, ball], colors=colour, linewidths=1.3, zorder=2))
    where = positions[last]
    _draw_pairs(axis, panel["pairs"], where)
    for ball, (x, y) in enumerate(where):
        axis.add_patch(Circle((x, y), radius, facecolor=rgb[ball], edgecolor="black", linewidth=0.6, zorder=4))
        dark = rgb[ball] @ np.array([0.299, 0.587, 0.114]) > 0.55
        axis.text(x, y, str(ball), fontsize=5.5, ha="center", va="center", color="black" if dark else "white", zorder=6)
    if title:
        axis.set_title(panel["title"], fontsize=7)


def draw_scenes(
    panels: Sequence[Mapping[str, Any]],
    path: Path,
    *,
    colours: Sequence[tuple[int, int, int]],
    radius: float,
    legend: str | None = None,
) -> Path:
    """Save one panel per scene (four to a row) to ``path``, with ``legend`` under them; returns the
    file written."""
    from relnet.viz.files import pyplot, save_figure

    plt = pyplot()
    columns = min(4, len(panels))
    rows = (len(panels) + columns - 1) // columns
    lines = textwrap.wrap(legend, 44 * columns) if legend else []
    footer = 0.08 + 0.12 * len(lines)  # inches under the panels
    # Laid out by hand: tight_layout misplaces the titles of equal-aspect axes.
    side, title, margin = 2.8, 0.38, 0.1  # inches: each square panel, the title above it, space around
    width, height = columns * (side + 2 * margin), rows * (side + title + margin) + margin + footer
    figure = plt.figure(figsize=(width, height), dpi=130)
    for index, panel in enumerate(panels):
        row, column = divmod(index, columns)
        left = margin + column * (side + 2 * margin)
        bottom = height - (row + 1) * (side + title + margin)
        axis = figure.add_axes((left / width, bottom / height, side / width, side / height))
        draw_scene(axis, panel, colours=colours, radius=radius)
    if lines:
        figure.text(0.5, 0.04 / height, "\n".join(lines), ha="center", va="bottom", fontsize=6.5, color="dimgray")
    return save_figure(figure, path)


def animate_scene(
    panel: Mapping[str, Any],
    path: Path,
    *,
    colours: Sequence[tuple[int, int, int]],
    radius: float,
    legend: str | None = None,
) -> Path:
    """Save one scene as an animated GIF to ``path``: one picture per frame, the trajectories so far
    and the connections where the balls are; loops, the last frame held longer. Returns ``path``."""
    from PIL import Image

    from relnet.viz.files import pyplot

    plt = pyplot()
    frames = len(panel["positions"])
    pictures = []
    figure = plt.figure(figsize=(3.6, 4.3 if legend else 4.0), dpi=110)
    try:
        for frame in range(frames):
            figure.clear()
            axis = figure.add_axes((0.06, 0.15 if legend else 0.04, 0.88, 0.88 * 3.6 / (4.3 if legend else 4.0)))
            draw_scene(axis, panel, colours=colours, radius=radius, upto=frame, title=False)
            figure.suptitle(f"{panel['title']}\nframe {frame + 1}/{frames}", fontsize=7.5, y=0.99)
            if legend:
                text = "\n".join(textwrap.wrap(legend, 70))
                figure.text(0.5, 0.01, text, ha="center", va="bottom", fontsize=5.5, color="dimgray")
            figure.canvas.draw()
            rgb = np.asarray(figure.canvas.buffer_rgba())[..., :3]
            pictures.append(Image.fromarray(rgb).quantize(colors=96))
    finally:
        plt.close(figure)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [FRAME_MS] * (frames - 1) + [LAST_FRAME_MS]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=durations, loop=0, optimize=True)
    return path
