"""Age arithmetic (Palm et al. 2018, §3.5): Prüfer-split trees, CSV format, generator, RRN/RN/MLP, metrics."""

from relnet.tasks.age_arithmetic.task import AgeArithmetic

__all__ = ["AgeArithmetic"]
