"""Explain a saved model's answers: one question in detail, or a split summarised per question type.

:func:`open_explainer` loads a weights file, its task's data and the task's view; :meth:`Explainer.explain`
runs the model over questions in small batches, catching its relation module's inputs, and yields the
exact :class:`~relnet.explain.analysis.Explanation` of each. :func:`question_record` and
:func:`summarize` turn them into the JSON that ``relnet explain`` prints.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from relnet.errors import RelnetError
from relnet.explain.analysis import TOP_K, Explanation, explain_batch
from relnet.explain.capture import forward_with_terms, relation_module
from relnet.explain.views import TaskView, view_for
from relnet.nn.attribution import RelationModule, answer_margin
from relnet.tasks import get_task
from relnet.tasks.base import Task
from relnet.training.weights import load_model

#: Questions run through the model at once; every pair's ``g`` output is held for each of them.
BATCH_SIZE = 8


@dataclass(frozen=True)
class Explained:
    """One question: its row ``index``, ``group`` (question type), ``truth`` (class; -1 unknown),
    whether the task scores the answer ``correct``, the ``explanation`` and the batch it came from
    (``batch`` and ``row``, for pictures)."""

    index: int
    group: str
    truth: int
    correct: bool
    explanation: Explanation
    batch: dict[str, torch.Tensor]
    row: int


@dataclass
class Explainer:
    """A saved model with the data and view it is explained on."""

    weights: Path
    task: Task
    model_name: str
    model: nn.Module
    relation: RelationModule
    table: Any
    view: TaskView

    @functools.cached_property
    def empty_sum_answer(self) -> int:
        """The class ``f`` gives an empty pair sum (``S = 0``): the answer left when every pair is
        removed, the same for every question (the question reaches an RN only through ``g``)."""
        with torch.no_grad():
            return int(self.relation.f(torch.zeros(1, self.relation.relation_dim)).argmax())

    def explain(self, indices: Sequence[int], progress: Callable[[int], None] | None = None) -> Iterator[Explained]:
        """The explanation of each question ``indices`` (rows of the split), in order."""
        for start in range(0, len(indices), BATCH_SIZE):
            chunk = list(indices[start : start + BATCH_SIZE])
            batch = self.table.__getitems__(chunk)
            terms = forward_with_terms(self.model, self.relation, batch)
            records = self.task.records(terms.output(), batch)
            groups = self.view.groups(records)
            explanations = explain_batch(terms.to(torch.float64))
            truths = batch[self.task.target]
            for row, (index, explanation) in enumerate(zip(chunk, explanations, strict=True)):
                truth = int(truths[row]) if truths.dim() == 1 else -1
                correct = bool(records["correct"][row]) if "correct" in records else False
                yield Explained(index, groups[row], truth, correct, explanation, batch, row)
            if progress is not None:
                progress(start + len(chunk))


def open_explainer(weights: Path, data: Path, split: str) -> Explainer:
    """Load ``weights`` and the ``split`` of ``data`` it is explained on, with clear errors."""
    header, model = load_model(Path(weights))
    task = get_task(header["task"])
    relation = relation_module(model, f"{weights} (a {task.name} {header['model']} model)")
    if split not in task.splits:
        raise RelnetError(f"unknown split {split!r} for {task.name}; choose one of {', '.join(task.splits)}")
    table = task.load(Path(data), split)
    if len(table) == 0:
        raise RelnetError(f"{data} ({split}) holds no questions")
    return Explainer(
        Path(weights), task, header["model"], model.eval(), relation, table, view_for(task, model, data, split)
    )


def question_record(explainer: Explainer, item: Explained, *, detail: bool = False) -> dict[str, Any]:
    """One question's JSON. ``detail`` adds the labelled top pairs, kept pairs, logits and curve."""
    view, explanation = explainer.view, item.explanation
    n = explanation.pair_mask.shape[0]
    effects = explanation.effects
    record: dict[str, Any] = {
        "index": item.index,
        "group": item.group,
        "question": view.question(item.index),
        "truth": view.answer_name(item.truth) if item.truth >= 0 else None,
        "answer": view.answer_name(explanation.answer),
        "correct": item.correct,
        "valid_pairs": explanation.valid_pairs,
        "kept_pairs": len(explanation.kept),
        "answer_is_empty_sum_answer": explanation.answer == explainer.empty_sum_answer,
        "flip_after": explanation.flip_after,
        "top_pairs": [[int(i), int(j), _round(effects[i, j])] for i, j in explanation.top.tolist()],
        "spearman_norm_effect": _round(explanation.spearman),
        "spearman_norm_abs_effect": _round(explanation.spearman_abs),
        "top5_overlap": _round(explanation.top_overlap()),
    }
    relevant = view.relevant_objects(item.index, n)
    if relevant is not None:
        record |= _relevance(explanation, relevant)
    if not detail:
        return record
    labels = view.object_labels(item.index, n)
    answer = explanation.answer

    def described(pairs: torch.Tensor) -> list[dict[str, Any]]:
        return [
            {
                "pair": [i, j],
                "objects": [labels[i], labels[j]],
                "effect": _round(effects[i, j]),
                "logit_effect": _round(explanation.logit_effects[i, j]),
                "norm": _round(explanation.norms[i, j]),
            }
            for i, j in pairs.tolist()
        ]

    ranked = explanation.removal_order[:10]
    record |= {
        "logits": [_round(value) for value in explanation.logits.tolist()],
        "strongest": described(ranked),
        "top": described(explanation.top),
        "top_removed": {
            "pairs": len(explanation.top),
            "answer_logit_change": _round(explanation.top_removed_logits[answer] - explanation.logits[answer]),
            "answer_margin_change": _round(
                answer_margin(explanation.top_removed_logits, torch.tensor(answer))
                - answer_margin(explanation.logits, torch.tensor(answer))
            ),
            "answer_after": view.answer_name(int(explanation.top_removed_logits.argmax())),
            "logits": [_round(value) for value in explanation.top_removed_logits.tolist()],
        },
        "kept": described(explanation.kept),
        "kept_answer": view.answer_name(int(explanation.kept_logits.argmax())),
        "curve": [_round(value) for value in explanation.curve.tolist()],
        "objects": labels,
    }
    if relevant is not None:
        record["relevant_objects"] = relevant.nonzero().squeeze(1).tolist()
    return record


def _relevance(explanation: Explanation, relevant: torch.Tensor) -> dict[str, Any]:
    """Whether the deciding pairs involve the objects the question is about, against chance."""
    touching = relevant[:, None] | relevant[None, :]  # (n, n): pairs with at least one relevant object
    inside = relevant[:, None] & relevant[None, :]
    valid = explanation.pair_mask
    i, j = explanation.top[0].tolist()
    kept = explanation.kept
    return {
        "top_touches_relevant": bool(touching[i, j]),
        "top_inside_relevant": bool(inside[i, j]),
        "kept_touching_relevant": _round(touching[kept[:, 0], kept[:, 1]].float().mean()) if len(kept) else None,
        "chance_touching": _round(touching[valid].float().mean()),
        "chance_inside": _round(inside[valid].float().mean()),
    }


#: Summary columns: name → (per-question key, how to combine).
_COLUMNS: dict[str, tuple[str, str]] = {
    "kept_pairs_mean": ("kept_pairs", "mean"),
    "kept_pairs_median": ("kept_pairs", "median"),
    "kept_share": ("kept_share", "mean"),
    "kept_pairs_mean_other_answers": ("kept_other", "mean"),
    "flip_after_median": ("flip_after", "median"),
    "never_flips": ("never_flips", "mean"),
    "top_touches_relevant": ("top_touches_relevant", "mean"),
    "top_inside_relevant": ("top_inside_relevant", "mean"),
    "kept_touching_relevant": ("kept_touching_relevant", "mean"),
    "chance_touching": ("chance_touching", "mean"),
    "chance_inside": ("chance_inside", "mean"),
    "spearman_norm_effect": ("spearman_norm_effect", "mean"),
    "spearman_norm_abs_effect": ("spearman_norm_abs_effect", "mean"),
    "top5_overlap": ("top5_overlap", "mean"),
}


def summarize(records: Sequence[dict[str, Any]], supergroups: dict[str, Sequence[str]]) -> dict[str, dict[str, Any]]:
    """Per question type (and each supergroup, and ``all``): questions, accuracy and the mean or
    median of every per-question number; a number no question of a group has is ``None``."""
    names = sorted({record["group"] for record in records}, key=_natural)
    members = {name: [name] for name in names}
    members |= {name: list(parts) for name, parts in supergroups.items() if any(part in names for part in parts)}
    members["all"] = names
    table = {}
    for name, parts in members.items():
        chosen = [record for record in records if record["group"] in parts]
        row: dict[str, Any] = {"questions": len(chosen), "accuracy": _round(_mean([r["correct"] for r in chosen]))}
        for column, (key, how) in _COLUMNS.items():
            values = [value for value in (_derived(record, key) for record in chosen) if value is not None]
            values = [value for value in values if not (isinstance(value, float) and math.isnan(value))]
            if not values:
                row[column] = None
            else:
                row[column] = _round(statistics.median(values) if how == "median" else _mean(values))
        table[name] = row
    return table


def _natural(name: str) -> tuple[str, int]:
    """Sort ``task_2`` before ``task_10``: a name's text, then its trailing number."""
    stem = name.rstrip("0123456789")
    return stem, int(name[len(stem) :] or -1)


def _derived(record: dict[str, Any], key: str) -> Any:
    if key == "kept_share":
        return record["kept_pairs"] / record["valid_pairs"]
    if key == "kept_other":  # questions whose answer is not already the one left without any pair
        return None if record["answer_is_empty_sum_answer"] else record["kept_pairs"]
    if key == "never_flips":
        return record["flip_after"] is None
    return record.get(key)


def _mean(values: Sequence[Any]) -> float:
    return sum(float(value) for value in values) / len(values) if values else math.nan


def _round(value: Any, digits: int = 4) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, digits)


TEXT_COLUMNS = (
    ("questions", "n", "{:.0f}"),
    ("accuracy", "acc", "{:.1%}"),
    ("kept_pairs_mean", "kept", "{:.1f}"),
    ("kept_share", "kept%", "{:.1%}"),
    ("kept_pairs_mean_other_answers", "kept≠∅", "{:.1f}"),
    ("flip_after_median", "flip@", "{:.0f}"),
    ("top_touches_relevant", "top∋rel", "{:.1%}"),
    ("top_inside_relevant", "top⊂rel", "{:.1%}"),
    ("kept_touching_relevant", "kept∋rel", "{:.1%}"),
    ("chance_touching", "chance∋", "{:.1%}"),
    ("chance_inside", "chance⊂", "{:.1%}"),
    ("spearman_norm_effect", "ρ(‖g‖,eff)", "{:+.2f}"),
    ("spearman_norm_abs_effect", "ρ(‖g‖,|eff|)", "{:+.2f}"),
    ("top5_overlap", "top5∩", "{:.0%}"),
)


def summary_text(table: dict[str, dict[str, Any]]) -> str:
    """The per-question-type table as aligned text (``–`` where a column has no value)."""
    first = max(len(name) for name in table) + 1
    widths = [max(len(title), 6) + 1 for _, title, _ in TEXT_COLUMNS]
    lines = [
        "type".ljust(first) + "".join(f"{title:>{w}}" for (_, title, _), w in zip(TEXT_COLUMNS, widths, strict=True))
    ]
    for name, row in table.items():
        cells = [("–" if row[key] is None else form.format(row[key])) for key, _, form in TEXT_COLUMNS]
        lines.append(name.ljust(first) + "".join(f"{cell:>{w}}" for cell, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


__all__ = ["TOP_K", "Explained", "Explainer", "open_explainer", "question_record", "summarize", "summary_text"]
