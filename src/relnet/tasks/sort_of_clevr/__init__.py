"""Sort-of-CLEVR (Santoro et al. 2017, §3.2): format, generator, dataset, models and metrics."""

from relnet.tasks.sort_of_clevr.task import SortOfClevr

__all__ = ["SortOfClevr"]
