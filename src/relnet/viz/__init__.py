"""Plots and pictures (matplotlib). Used by the CLI and training, never by ``relnet.nn``."""

from relnet.viz.bars import metric_bars
from relnet.viz.curves import metric_curves
from relnet.viz.pairs import draw_pairs
from relnet.viz.time_to_accuracy import accuracy_over_time

__all__ = ["accuracy_over_time", "draw_pairs", "metric_bars", "metric_curves"]
