"""Pretty-CLEVR (Palm et al. 2018, Fig. 2): jumps between 8 coloured markers, the authors' file layout,
generator, RRN with 1-8 steps, RN and MLP, accuracy per number of jumps."""

from relnet.tasks.pretty_clevr.task import PrettyClevr

__all__ = ["PrettyClevr"]
