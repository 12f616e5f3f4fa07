"""An RRN's answer step by step, for the tasks whose RRN answers a question after every step (bAbI,
Pretty-CLEVR, age arithmetic): the answer and its probability after each step, the step at which the
answer settles, and accuracy after each step over a split, overall and per question type.

These RRNs read their node states out into one answer per step (``(B, T, C)`` logits: bAbI and
Pretty-CLEVR sum the node states, age arithmetic's tree graph reads the asked person's node). A
question's answer *settles* at the first step after which its most probable class never changes
again (within the model's ``T`` steps), as for the Sudoku RRN's cells (:mod:`relnet.explain.steps`).
Right and wrong are the task's own scoring (its ``records``: a bAbI answer of class 0 is never right)
applied to each step's logits; question types are the task's own (:mod:`relnet.explain.views`: bAbI
tasks; the first integer record otherwise: Pretty-CLEVR's number of jumps, age arithmetic's tree
distance).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from relnet.errors import RelnetError
from relnet.explain.steps import settle_steps
from relnet.explain.views import TaskView, view_for
from relnet.tasks import get_task
from relnet.tasks.base import Task
from relnet.training.weights import load_model

#: Tasks whose RRN answers after every step; their RRN models are named ``rrn`` or ``rrn-<steps>``.
RRN_ANSWER_TASKS = ("babi", "pretty-clevr", "age-arithmetic")
BATCH_SIZE = 64


def answers_every_step(header: Mapping[str, Any]) -> bool:
    """Whether a weights ``header`` is an RRN of a task in :data:`RRN_ANSWER_TASKS`."""
    model = str(header["model"])
    return header["task"] in RRN_ANSWER_TASKS and (model == "rrn" or model.startswith("rrn-"))


@dataclass(frozen=True)
class StepAnswers:
    """One question: its row ``index``, question type ``group``, ``truth`` (class), and after every
    step ``answers`` ``(T,)``, their ``probabilities`` ``(T,)``, the truth's ``truth_probabilities``
    ``(T,)`` and ``correct`` ``(T,)`` bool; ``settled`` is the step (1..T) from which the answer stays
    the last step's."""

    index: int
    group: str
    truth: int
    answers: list[int]
    probabilities: list[float]
    truth_probabilities: list[float]
    correct: list[bool]
    settled: int


@dataclass
class StepRunner:
    """A saved RRN with the split it is run on."""

    task: Task
    model_name: str
    model: nn.Module
    table: Any
    view: TaskView
    steps: int

    @torch.no_grad()
    def run(self, indices: Sequence[int], batch_size: int = BATCH_SIZE) -> Iterator[StepAnswers]:
        """The :class:`StepAnswers` of each question ``indices`` (rows of the split), in order."""
        for start in range(0, len(indices), batch_size):
            chunk = list(indices[start : start + batch_size])
            batch = self.table.__getitems__(chunk)
            logits = self.model(batch).float()  # (B, T, C)
            if logits.dim() != 3:
                raise RelnetError(f"the {self.task.name} {self.model_name} model does not answer after every step")
            probabilities = logits.softmax(dim=-1)
            answers = probabilities.argmax(dim=-1)  # (B, T)
            steps = logits.shape[1]
            # The task's own scoring of each step's logits; its records of the last step name the types.
            correct = torch.stack(
                [
                    self.task.records(logits[:, t], batch)["correct"].reshape(len(chunk), -1)[:, -1]
                    for t in range(steps)
                ],
                dim=1,
            )
            groups = self.view.groups(self.task.records(logits[:, -1], batch))
            truths = batch[self.task.target].long()
            chosen = probabilities.gather(-1, answers[..., None])[..., 0]
            truth_probabilities = probabilities.gather(-1, truths[:, None, None].expand(-1, steps, 1))[..., 0]
            settled = settle_steps(answers)
            for row, index in enumerate(chunk):
                yield StepAnswers(
                    index,
                    groups[row],
                    int(truths[row]),
                    answers[row].tolist(),
                    chosen[row].tolist(),
                    truth_probabilities[row].tolist(),
                    correct[row].bool().tolist(),
                    int(settled[row]),
                )


def open_runner(weights: Path, data: Path, split: str) -> StepRunner:
    """Load RRN ``weights`` and the ``split`` of ``data``, with one-line errors."""
    header, model = load_model(Path(weights))
    if not answers_every_step(header):
        raise RelnetError(f"{weights} is not an RRN of {', '.join(RRN_ANSWER_TASKS)}")
    task = get_task(header["task"])
    if split not in task.splits:
        raise RelnetError(f"unknown split {split!r} for {task.name}; choose one of {', '.join(task.splits)}")
    table = task.load(Path(data), split)
    if len(table) == 0:
        raise RelnetError(f"{data} ({split}) holds no questions")
    steps = int(model.rrn.steps)
    return StepRunner(task, header["model"], model.eval(), table, view_for(task, model, data, split), steps)


def answer_name(runner: StepRunner, answer: int) -> str:
    """A class's name: the task view's (bAbI words), Pretty-CLEVR's colour or marker, else the number."""
    if runner.task.name == "pretty-clevr":
        from relnet.tasks.pretty_clevr.generator import COLOURS, NAMES

        return NAMES[answer] if answer < len(COLOURS) else f"marker {NAMES[answer]}"
    return runner.view.answer_name(answer)


def question_text(runner: StepRunner, index: int) -> str:
    """bAbI: the view's text; Pretty-CLEVR and age arithmetic: the question's own fields."""
    if runner.task.name == "pretty-clevr":
        from relnet.tasks.pretty_clevr.generator import COLOURS

        row = runner.table.__getitems__([index])
        anchor, jumps = int(row["anchor"][0]), int(row["jumps"][0])
        asks = "a marker" if anchor < len(COLOURS) else "a colour"
        return f"scene {int(row['scene'][0])}: anchor {answer_name(runner, anchor)}, {jumps} jump(s); asks {asks}"
    if runner.task.name == "age-arithmetic":
        row = runner.table.__getitems__([index])
        return (
            f"person {int(row['anchor'][0])} is {int(row['anchor_age'][0])}; how old is person "
            f"{int(row['question'][0])}? (tree distance {int(row['distance'][0])})"
        )
    return runner.view.question(index)


def question_record(runner: StepRunner, item: StepAnswers) -> dict[str, Any]:
    """One question's JSON: answer, its probability and right/wrong after every step, and the settle step."""
    return {
        "index": item.index,
        "group": item.group,
        "question": question_text(runner, item.index),
        "truth": answer_name(runner, item.truth),
        "steps": [
            {
                "step": step,
                "answer": answer_name(runner, answer),
                "probability": round(probability, 4),
                "truth_probability": round(truth_probability, 4),
                "correct": correct,
            }
            for step, (answer, probability, truth_probability, correct) in enumerate(
                zip(item.answers, item.probabilities, item.truth_probabilities, item.correct, strict=True), 1
            )
        ],
        "settled": item.settled,
        "correct": item.correct[-1],
    }


def split_summary(items: Sequence[StepAnswers], steps: int) -> dict[str, Any]:
    """Accuracy after every step (overall and per question type, types in natural order), how many
    questions settle at each step, and the mean settle step (overall and per type)."""
    by_group: dict[str, list[StepAnswers]] = {}
    for item in items:
        by_group.setdefault(item.group, []).append(item)

    def accuracy(chosen: Sequence[StepAnswers]) -> list[float]:
        return [round(sum(item.correct[t] for item in chosen) / len(chosen), 4) for t in range(steps)]

    settle = Counter(item.settled for item in items)
    return {
        "questions": len(items),
        "accuracy_by_step": accuracy(items),
        "settle_steps": {str(step): settle.get(step, 0) for step in range(1, steps + 1)},
        "settle_mean": round(sum(item.settled for item in items) / len(items), 3),
        "groups": {
            group: {
                "questions": len(by_group[group]),
                "accuracy_by_step": accuracy(by_group[group]),
                "settle_mean": round(sum(item.settled for item in by_group[group]) / len(by_group[group]), 3),
            }
            for group in sorted(by_group, key=_natural)
        },
    }


def _natural(group: str) -> tuple[str, float]:
    """``task_2`` before ``task_10``, ``jumps 2`` before ``jumps 10``."""
    head, _, tail = group.replace("_", " ").rpartition(" ")
    try:
        return head, float(tail)
    except ValueError:
        return group, math.inf


def summary_text(payload: Mapping[str, Any]) -> str:
    """The split tables: accuracy after each step (a row per step; a column per question type), then
    the settle steps."""
    summary, steps = payload["summary"], payload["steps"]
    groups = summary["groups"]
    names = list(groups)
    width = max(8, *(len(name) + 1 for name in names))
    lines = [
        f"{payload['task']} {payload['model']} on {payload['data']} ({payload['split']}), "
        f"{summary['questions']} questions, {steps} steps",
        "accuracy after each step (all questions, then per question type; n = questions):",
        f"{'step':>4}{'all':>8}" + "".join(f"{name:>{width}}" for name in names),
        f"{'n':>4}{summary['questions']:>8}" + "".join(f"{groups[name]['questions']:>{width}}" for name in names),
    ]
    for t in range(steps):
        row = f"{t + 1:>4}{summary['accuracy_by_step'][t]:>8.1%}"
        lines.append(row + "".join(f"{groups[name]['accuracy_by_step'][t]:>{width}.1%}" for name in names))
    lines.append(
        f"{'stl':>4}{summary['settle_mean']:>8.2f}" + "".join(f"{groups[n]['settle_mean']:>{width}.2f}" for n in names)
    )
    lines.append(
        "settle step (the first from which the answer no longer changes): "
        + ", ".join(f"{step}: {count}" for step, count in summary["settle_steps"].items())
    )
    lines.append("stl: mean settle step.")
    return "\n".join(lines)


def question_text_lines(record: Mapping[str, Any], steps: int) -> str:
    """One question, a line per step."""
    final = record["steps"][-1]
    lines = [
        f"#{record['index']} [{record['group']}] {record['question']}  →  {final['answer']} "
        f"(truth {record['truth']}, {'right' if record['correct'] else 'wrong'}); "
        f"the answer settles at step {record['settled']} of {steps}",
        f"{'step':>4}  {'answer':<14}{'p':>7}{'p(truth)':>10}  right",
    ]
    for step in record["steps"]:
        lines.append(
            f"{step['step']:>4}  {step['answer']:<14}{step['probability']:>7.3f}{step['truth_probability']:>10.3f}"
            f"  {'yes' if step['correct'] else 'no'}"
        )
    return "\n".join(lines)


def rrn_answer_steps(
    weights: Path, data: Path, split: str, *, index: int | None, limit: int | None = None, stride: int = 1
) -> dict[str, Any]:
    """``relnet explain`` for these RRNs: one question (``index``) step by step, or the split
    (every ``stride``-th question, at most ``limit``) summarised; the payload has a ``text``."""
    runner = open_runner(weights, data, split)
    payload: dict[str, Any] = {"task": runner.task.name, "model": runner.model_name, "weights": str(weights)}
    payload |= {"data": str(data), "split": split, "steps": runner.steps}
    size = len(runner.table)
    if index is not None:
        if not 0 <= index < size:
            raise RelnetError(f"--index {index} is out of range: {split} has {size} questions (0 to {size - 1})")
        record = question_record(runner, next(runner.run([index])))
        payload["question"] = record
        payload["text"] = question_text_lines(record, runner.steps)
        return payload
    items = list(runner.run(range(0, size, stride)[:limit]))
    payload["summary"] = split_summary(items, runner.steps)
    payload["questions"] = [
        {"index": item.index, "group": item.group, "correct": item.correct, "settled": item.settled} for item in items
    ]
    payload["text"] = summary_text(payload)
    return payload
