"""CLEVR (Johnson et al. 2017): the v1.0 format, program executor, scene/question generator and renderer."""

from relnet.tasks.clevr.task import Clevr

__all__ = ["Clevr"]
