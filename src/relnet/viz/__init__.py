"""Plots and pictures (matplotlib). Used by the CLI and training, never by ``relnet.nn``."""

from relnet.viz.bars import metric_bars

__all__ = ["metric_bars"]
