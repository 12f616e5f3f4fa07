"""Sudoku (Palm et al. 2018, §3.2): solver, Palm's CSV format, generator, dataset, RRN model, metrics."""

from relnet.tasks.sudoku.task import Sudoku

__all__ = ["Sudoku"]
