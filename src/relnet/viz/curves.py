"""Line charts of a metric family over its numbered members (accuracy per number of jumps, per tree
distance, per RRN step), one line per model, the paper's figures dashed beside them (RRN paper Fig. 2)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from relnet.viz.files import pyplot, save_figure

plt = pyplot()


def numbered_members(family: str, names: Sequence[str]) -> list[tuple[int, str]]:
    """``("jumps_*", [..., "jumps_0", "jumps_1", ...])`` → ``[(0, "jumps_0"), (1, "jumps_1"), ...]``
    (the members of a ``prefix*`` family whose rest is a number, in numeric order)."""
    prefix = family.rstrip("*")
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    found = {int(m.group(1)): name for name in names if (m := pattern.fullmatch(name))}
    return sorted(found.items())


def metric_curves(
    records: Sequence[Mapping[str, Any]],
    family: str,
    path: Path,
    *,
    paper: Mapping[str, Mapping[str, float]] | None = None,
    title: str,
) -> Path | None:
    """Save a PNG of ``family`` (e.g. ``"jumps_*"``) in % against its member number, one solid line per
    record and one dashed line per model of ``paper`` with that family (same colour for the same
    model); returns the file, or None when fewer than two members have values."""
    names = list(dict.fromkeys(name for record in records for name in record["metrics"]))
    members = numbered_members(family, names)
    if len(members) < 2:
        return None
    paper = {model: metrics for model, metrics in (paper or {}).items() if numbered_members(family, list(metrics))}
    models = list(dict.fromkeys([*(record["model"] for record in records), *paper]))
    palette = plt.get_cmap("tab10")
    figure, axes = plt.subplots(figsize=(7.0, 3.8), dpi=120)
    xs = [number for number, _ in members]

    def percent(value: Any) -> float:
        return float("nan") if value is None else 100 * float(value)

    for record in records:
        colour = palette(models.index(record["model"]) % 10)
        ys = [percent(record["metrics"].get(name)) for _, name in members]
        axes.plot(xs, ys, marker="o", markersize=3, color=colour, label=record["model"])
    for model, metrics in paper.items():
        colour = palette(models.index(model) % 10)
        ys = [percent(metrics.get(name)) for _, name in members]
        axes.plot(xs, ys, linestyle="--", linewidth=1, color=colour, alpha=0.7, label=f"{model} (paper)")
    axes.set_xlabel(family.rstrip("_*").replace("_", " "))
    axes.set_ylabel("%")
    axes.set_ylim(0, 101)
    axes.set_xticks(xs)
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    return save_figure(figure, path)
