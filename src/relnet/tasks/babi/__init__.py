"""The bAbI task (Weston et al. 2015): v1.2 reader/writer, a generator for all 20 tasks, RN/MLRN/RRN models."""

from relnet.tasks.babi.task import Babi

__all__ = ["Babi"]
