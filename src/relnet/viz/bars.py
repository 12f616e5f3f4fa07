"""Grouped bar charts of accuracies per question type, one bar per model (the RN paper's Fig. 4)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from relnet.viz.files import pyplot, save_figure

plt = pyplot()


def metric_bars(records: Sequence[dict[str, Any]], metric_names: Sequence[str], path: Path, *, title: str) -> Path:
    """Save a PNG with one group of bars per metric and one bar per result record (in %)."""
    figure, axes = plt.subplots(figsize=(1.2 + 1.1 * len(metric_names), 3.6), dpi=120)
    width = 0.8 / max(1, len(records))
    for index, record in enumerate(records):
        # A metric a record lacks (null: e.g. no 17-given puzzles in the test set) gets no bar, not 0%.
        values = [
            float("nan") if record["metrics"].get(name) is None else 100 * record["metrics"][name]
            for name in metric_names
        ]
        positions = [k + (index - (len(records) - 1) / 2) * width for k in range(len(metric_names))]
        axes.bar(positions, values, width=width, label=record["model"])
    axes.set_xticks(range(len(metric_names)), [name.replace("_", "\n") for name in metric_names], fontsize=8)
    axes.set_ylabel("test accuracy (%)")
    axes.set_ylim(0, 100)
    axes.axhline(50, color="grey", linewidth=0.5, linestyle=":")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return save_figure(figure, path)
