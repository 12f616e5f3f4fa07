"""bAbI stories → tensors: one row per question, its most recent statements and the question words.

Sentences are stored once (deduplicated over the whole split) in a token table; each question row
holds the ids of its last ``MAX_FACTS`` statements, right-aligned so that slot ``MAX_FACTS - 1`` is
the most recent statement (slot index = relative position, as the RN paper tags its sentences) and
id 0 (an empty sentence) fills the slots of short stories.
"""

from __future__ import annotations

from pathlib import Path

import torch

from relnet.data import TensorTable
from relnet.tasks.babi.format import Story, read_split
from relnet.tasks.babi.vocab import answer_id, word_ids

MAX_FACTS = 20


def _table(rows: list[tuple[int, ...]]) -> torch.Tensor:
    """Token rows padded with 0 into ``(len(rows), max_len)`` long."""
    width = max(1, max(len(row) for row in rows))
    table = torch.zeros(len(rows), width, dtype=torch.long)
    for index, row in enumerate(rows):
        table[index, : len(row)] = torch.tensor(row, dtype=torch.long)
    return table


def encode(by_task: dict[int, list[Story]], max_facts: int = MAX_FACTS) -> TensorTable:
    """A :class:`TensorTable` of every question of ``{task: stories}``.

    Batch keys: ``facts`` ``(B, max_facts)`` sentence ids (0: no sentence), ``fact_tokens``
    ``(B, max_facts, L)`` word ids (0: padding), ``question`` ``(B, Lq)`` word ids, ``answer`` ``(B,)``
    answer class, ``task`` ``(B,)`` bAbI task number 1-20, ``question_index`` ``(B,)``.
    """
    sentences: dict[tuple[int, ...], int] = {(): 0}
    questions: dict[tuple[int, ...], int] = {}
    facts, question_ids, answers, tasks = [], [], [], []
    for task, stories in by_task.items():
        for story in stories:
            memory: list[int] = []
            for line in story:
                tokens = tuple(word_ids(line.text))
                if line.answer is None:
                    memory.append(sentences.setdefault(tokens, len(sentences)))
                    continue
                recent = memory[-max_facts:]
                facts.append([0] * (max_facts - len(recent)) + recent)
                question_ids.append(questions.setdefault(tokens, len(questions)))
                answers.append(answer_id(line.answer))
                tasks.append(task)
    columns = {
        "facts": torch.tensor(facts, dtype=torch.long).reshape(-1, max_facts),
        "question_index": torch.tensor(question_ids, dtype=torch.long),
        "answer": torch.tensor(answers, dtype=torch.long),
        "task": torch.tensor(tasks, dtype=torch.long),
    }
    lookups = {
        "fact_tokens": ("facts", _table(list(sentences))),
        "question": ("question_index", _table(list(questions) or [()])),
    }
    return TensorTable(columns, lookups)


def load_table(root: Path, split: str, max_facts: int = MAX_FACTS) -> TensorTable:
    """One split (``train``, ``val``, ``test``) of a bAbI folder in any v1.2 layout."""
    return encode(read_split(Path(root), split), max_facts)
