"""Accuracy against training wall-clock seconds, one line per run on shared axes (time to accuracy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from relnet.viz.files import pyplot, save_figure

plt = pyplot()


def accuracy_over_time(
    curves: Mapping[str, Sequence[Mapping[str, Any]]],
    metric_names: Sequence[str],
    path: Path,
    *,
    title: str,
    ylabel: str = "accuracy (%)",
    x: str = "seconds",
) -> Path:
    """Save a PNG with one panel per metric (e.g. relational, non-relational) and, in every panel, one
    line per curve: the metric in % against the curve's ``x`` (``"seconds"``: training wall-clock time;
    or another key of the points, such as ``"examples"`` seen).

    ``curves`` maps a label (e.g. ``"relnet"``) to its points, each a mapping with ``x`` and a
    fraction in [0, 1] for every metric in ``metric_names`` (a missing or None value is left out).
    Every panel shares the same x and accuracy axes, so the runs compare at a glance.
    """
    count = max(1, len(metric_names))
    figure, panels = plt.subplots(1, count, figsize=(3.6 * count + 1.0, 3.6), dpi=120, sharex=True, sharey=True)
    panels = [panels] if count == 1 else list(panels)
    palette = plt.get_cmap("tab10")
    for axes, metric in zip(panels, metric_names, strict=False):
        for index, (label, points) in enumerate(curves.items()):
            kept = [p for p in points if p.get(metric) is not None]
            axes.plot(
                [float(p[x]) for p in kept],
                [100 * float(p[metric]) for p in kept],
                marker="o",
                markersize=3,
                color=palette(index % 10),
                label=label,
            )
        axes.set_title(metric.replace("_", "-"), fontsize=9)
        axes.set_xlabel("training seconds" if x == "seconds" else x.replace("_", " ") + " seen" * (x == "examples"))
        axes.set_xlim(left=0)
        if x != "seconds":  # counts in the millions: 200k, 1.5M
            from matplotlib.ticker import EngFormatter

            axes.xaxis.set_major_formatter(EngFormatter(sep=""))
        axes.set_ylim(0, 101)
        axes.grid(linewidth=0.3, alpha=0.5)
    panels[0].set_ylabel(ylabel)
    figure.suptitle(title, fontsize=9)
    if max(map(len, curves), default=0) <= 40:
        panels[-1].legend(fontsize=8, loc="lower right")
        figure.tight_layout()
    else:  # long labels would cover the curves: one row each under the panels
        handles, labels = panels[-1].get_legend_handles_labels()
        figure.legend(handles, labels, fontsize=8, loc="lower center", frameon=False)
        figure.tight_layout(rect=(0, 0.045 * len(labels) + 0.02, 1, 1))
    return save_figure(figure, path)
