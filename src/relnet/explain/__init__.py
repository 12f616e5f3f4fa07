"""Seeing the reasoning: exact pair attributions of the RN and MLRN models of every task.

:mod:`relnet.explain.capture` finds a model's relation module and catches its inputs,
:mod:`relnet.explain.analysis` turns the exact pair terms into per-question explanations,
:mod:`relnet.explain.views` knows each task's names and relevant objects, and
:mod:`relnet.explain.run` explains questions of a dataset split and summarises them per question type
(``relnet explain``). This package sits at the training level: it loads weights and task data.
"""

from relnet.explain.analysis import Explanation, explain_batch
from relnet.explain.capture import forward_with_terms, relation_module
from relnet.explain.run import Explainer, open_explainer, question_record, summarize

__all__ = [
    "Explainer",
    "Explanation",
    "explain_batch",
    "forward_with_terms",
    "open_explainer",
    "question_record",
    "relation_module",
    "summarize",
]
