"""Plots and pictures (matplotlib). Used by the CLI and training, never by ``relnet.nn``."""

from relnet.viz.bars import metric_bars
from relnet.viz.curves import metric_curves
from relnet.viz.pairs import draw_pairs

__all__ = ["draw_pairs", "metric_bars", "metric_curves"]
