"""What ``relnet explain`` knows of a task beyond its model: names, question types, relevant objects.

The attribution itself is generic (:mod:`relnet.explain.capture`, :mod:`relnet.explain.analysis`).
A :class:`TaskView` only translates: answer classes into names, records into question types, object
slots into labels and positions, and, where the task can say it, which objects a question is about
(Sort-of-CLEVR: the object the question names by colour; bAbI: the supporting facts its files record).
The default view knows nothing task-specific and still serves every RN and MLRN model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from relnet.tasks.base import Records, Task


class TaskView:
    """The task-independent view: classes by number, question types from the records, no pictures.

    Args: the ``task``, its ``model`` (eval mode), the dataset folder ``root`` and the ``split``.
    Question ``index`` is always a row of ``task.load(root, split)``.
    """

    #: What :meth:`relevant_objects` marks, for tables and messages (``None``: the task cannot say).
    relevant: ClassVar[str | None] = None
    #: Question types that add up to larger ones (e.g. Sort-of-CLEVR's relational subtypes).
    supergroups: ClassVar[Mapping[str, Sequence[str]]] = {}

    def __init__(self, task: Task, model: nn.Module, root: Path, split: str) -> None:
        self.task, self.model, self.root, self.split = task, model, Path(root), split

    def answer_name(self, answer: int) -> str:
        return str(answer)

    def groups(self, records: Records) -> list[str]:
        """The question type of each example of a batch, from the task's ``records`` ``(B, ...)``:
        the first integer record (such as a type or task number), else ``"all"``."""
        for name, values in records.items():
            if values.dim() == 1 and not values.dtype.is_floating_point and values.dtype != torch.bool:
                return [f"{name} {int(value)}" for value in values]
        size = len(next(iter(records.values())))
        return ["all"] * size

    def question(self, index: int) -> str:
        return f"question {index}"

    def object_labels(self, index: int, n: int) -> list[str]:
        return [f"object {k}" for k in range(n)]

    def relevant_objects(self, index: int, n: int) -> torch.Tensor | None:
        """``(n,)`` bool: the objects question ``index`` is about; ``None`` where the task cannot say."""
        return None

    def picture(self, index: int, batch: Mapping[str, torch.Tensor], row: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The image of ``batch`` row ``row`` ``(H, W, 3)`` uint8 and each object's ``(x, y)`` in pixels ``(n, 2)``."""
        return None


class SortOfClevrView(TaskView):
    """Sort-of-CLEVR: the question names one object by colour; pixel models' objects are CNN cells,
    state models' objects are the scene's objects (one row each, in the scene's order)."""

    relevant = "the named object"

    def __init__(self, task: Task, model: nn.Module, root: Path, split: str) -> None:
        from relnet.tasks.sort_of_clevr.format import SUBTYPES, read_split
        from relnet.tasks.sort_of_clevr.models import PixelRelationNetwork

        super().__init__(task, model, root, split)
        self.supergroups = SUBTYPES
        scenes = read_split(root, split)
        self.image_size = scenes.image_size
        self.scenes = scenes.scenes
        self.rows = [(number, question) for number, scene in enumerate(scenes.scenes) for question in scene.questions]
        self.cells = self._cell_centres() if isinstance(model, PixelRelationNetwork) else None

    def _cell_centres(self) -> np.ndarray:
        """``(h * w, 2)``: the centre of every CNN cell in pixels, row-major (the pixel RN's objects)."""
        from relnet.nn.objects import coordinate_grid

        height, width = self.model.objects.grid_size(self.image_size, self.image_size)
        return ((coordinate_grid(height, width) + 1) / 2 * (self.image_size - 1)).numpy()

    def answer_name(self, answer: int) -> str:
        from relnet.tasks.sort_of_clevr.format import ANSWERS

        return ANSWERS[answer]

    def groups(self, records: Records) -> list[str]:
        from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES

        return [ALL_SUBTYPES[int(subtype)] for subtype in records["subtype"]]

    def question(self, index: int) -> str:
        _, question = self.rows[index]
        return f"{question.subtype.replace('_', ' ')}: {question.color}?"

    def _positions(self, index: int) -> np.ndarray:
        scene = self.scenes[self.rows[index][0]]
        return self.cells if self.cells is not None else np.array([obj.center for obj in scene.objects])

    def _nearest_cells(self, index: int) -> list[int]:
        """For a pixel model, the cell whose centre is nearest each of the scene's objects."""
        scene = self.scenes[self.rows[index][0]]
        centres = np.array([obj.center for obj in scene.objects])
        return np.linalg.norm(self.cells[None] - centres[:, None], axis=-1).argmin(axis=1).tolist()

    def object_labels(self, index: int, n: int) -> list[str]:
        scene = self.scenes[self.rows[index][0]]
        if self.cells is None:
            return [f"{obj.color} {obj.shape}" for obj in scene.objects]
        side = round(len(self.cells) ** 0.5)
        labels = [f"cell {k // side},{k % side}" for k in range(n)]
        for obj, cell in zip(scene.objects, self._nearest_cells(index), strict=True):
            labels[cell] += f" {obj.color}"
        return labels

    def relevant_objects(self, index: int, n: int) -> torch.Tensor:
        scene_number, question = self.rows[index]
        scene = self.scenes[scene_number]
        named = next(k for k, obj in enumerate(scene.objects) if obj.color == question.color)
        if self.cells is not None:
            named = self._nearest_cells(index)[named]
        relevant = torch.zeros(n, dtype=torch.bool)
        relevant[named] = True
        return relevant

    def picture(self, index: int, batch: Mapping[str, torch.Tensor], row: int) -> tuple[np.ndarray, np.ndarray]:
        return batch["image"][row].numpy(), self._positions(index)


class BabiView(TaskView):
    """bAbI: the objects are the question's most recent statements (the model's last ``n`` slots, the
    newest last); the relevant ones are the supporting facts the file records for the question."""

    relevant = "the supporting facts"

    def __init__(self, task: Task, model: nn.Module, root: Path, split: str) -> None:
        from relnet.tasks.babi.dataset import MAX_FACTS
        from relnet.tasks.babi.format import read_split

        super().__init__(task, model, root, split)
        # The rows of relnet.tasks.babi.dataset.encode, in its order: tasks, stories, questions.
        self.rows: list[tuple[int, str, list[str], list[bool]]] = []
        for task_number, stories in read_split(root, split).items():
            for story in stories:
                memory: list[tuple[int, str]] = []
                for line in story:
                    if not line.is_question:
                        memory.append((line.id, line.text))
                        continue
                    recent = memory[-MAX_FACTS:]
                    padding = MAX_FACTS - len(recent)
                    texts = [""] * padding + [text for _, text in recent]
                    supports = [False] * padding + [line_id in line.supports for line_id, _ in recent]
                    self.rows.append((task_number, line.text, texts, supports))

    def answer_name(self, answer: int) -> str:
        from relnet.tasks.babi.vocab import ANSWERS

        return ANSWERS[answer]

    def groups(self, records: Records) -> list[str]:
        return [f"task_{int(number)}" for number in records["task"]]

    def question(self, index: int) -> str:
        task_number, text, _, _ = self.rows[index]
        return f"task {task_number}: {text}"

    def object_labels(self, index: int, n: int) -> list[str]:
        texts = self.rows[index][2][-n:]
        return [f"{n - k}: {text}" if text else f"{n - k}: (none)" for k, text in enumerate(texts)]

    def relevant_objects(self, index: int, n: int) -> torch.Tensor | None:
        supports = torch.tensor(self.rows[index][3][-n:])
        return supports if bool(supports.any()) else None  # None: the facts are older than the window


class ClevrView(TaskView):
    """CLEVR: question types are the RN paper's categories (exist, count, compare, query)."""

    def __init__(self, task: Task, model: nn.Module, root: Path, split: str) -> None:
        from relnet.tasks.clevr.format import questions_path, read_questions

        super().__init__(task, model, root, split)
        self.texts = [question["question"] for question in read_questions(questions_path(root, split)).questions]

    def question(self, index: int) -> str:
        return self.texts[index]

    def answer_name(self, answer: int) -> str:
        from relnet.tasks.clevr.vocab import ANSWERS

        return ANSWERS[answer]

    def groups(self, records: Records) -> list[str]:
        from relnet.tasks.clevr.vocab import QUESTION_TYPES

        categories = list(QUESTION_TYPES.values())
        return [categories[int(kind)] if int(kind) >= 0 else "unknown" for kind in records["question_type"]]


VIEWS: dict[str, type[TaskView]] = {"sort-of-clevr": SortOfClevrView, "babi": BabiView, "clevr": ClevrView}


def view_for(task: Task, model: nn.Module, root: Path, split: str) -> TaskView:
    """The view of ``task`` (the generic :class:`TaskView` for a task without its own)."""
    return VIEWS.get(task.name, TaskView)(task, model, root, split)
