"""What ``relnet explain`` knows of a task beyond its model: names, question types, relevant objects.

The attribution itself is generic (:mod:`relnet.explain.capture`, :mod:`relnet.explain.analysis`).
A :class:`TaskView` only translates: answer classes into names, records into question types, object
slots into labels and positions, and, where the task can say it, which objects a question is about
(Sort-of-CLEVR: the object the question names by colour; bAbI: the supporting facts its files record;
CLEVR: the objects the question's program refers to). The default view knows nothing task-specific and
still serves every RN and MLRN model.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from relnet.tasks.base import Records, Task


def nearest_cells(cells: np.ndarray, points: np.ndarray) -> list[int]:
    """The index of the ``(k, 2)`` ``cells`` centre nearest each of the ``(m, 2)`` ``points``."""
    return np.linalg.norm(cells[None] - points[:, None], axis=-1).argmin(axis=1).tolist()


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
        #: ``(h * w, 2)`` the pixel RN's cells (its objects): their receptive fields' centres as pixel
        #: indices, like the objects' centres (pixel i spans [i, i + 1) in ``cell_centres``).
        size = self.image_size
        pixel = isinstance(model, PixelRelationNetwork)
        self.cells = model.objects.cell_centres(size, size).numpy() - 0.5 if pixel else None

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
        return nearest_cells(self.cells, np.array([obj.center for obj in scene.objects]))

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
    """CLEVR: question types are the RN paper's categories (exist, count, compare, query).

    The relevant objects of a question are those its functional program refers to
    (:func:`relnet.tasks.clevr.executor.referred_objects`): every ``unique`` node's object (the objects
    the question picks out by description: "the cube left of the sphere" -> the sphere and the cube);
    for a program without ``unique`` nodes (a count, existence or number comparison over filtered sets),
    the objects of every set a ``count`` or ``exist`` node takes ("how many red cubes?" -> the red cubes).
    A question without a program (the real test split), whose program the scene cannot answer, or that
    refers to no object (a count of an empty set) has none and is left out of those columns.

    The state RN's objects are the scene's objects, one row each in the scene's order (then padding);
    the pixel RN's are its CNN cells on the 128×128 input, and an object's cell is the one whose centre
    is nearest the object's ``pixel_coords`` (given in the 480×320 frame, stretched to 128×128 as the
    images are). Other models' objects are not known, and neither are their relevant ones.
    """

    relevant = "the objects the question refers to"
    #: The image side the CLEVR task gives pixel models (``load_table``'s default).
    image_size = 128

    def __init__(self, task: Task, model: nn.Module, root: Path, split: str) -> None:
        from relnet.tasks.clevr.format import questions_path, read_questions
        from relnet.tasks.clevr.models import PixelRelationNetwork, StateRelationNetwork

        super().__init__(task, model, root, split)
        self.questions = read_questions(questions_path(root, split)).questions
        #: What the model's objects are: CNN ``"cells"``, the scene's ``"objects"``, or ``None`` (unknown).
        self.slots: str | None = None
        if isinstance(model, PixelRelationNetwork):
            self.slots = "cells"
        elif isinstance(model, StateRelationNetwork):
            self.slots = "objects"

    @functools.cached_property
    def scenes(self) -> dict[int, dict] | None:
        """The split's scenes by ``image_index``, read once, when first needed (``None``: no scenes file)."""
        from relnet.tasks.clevr.format import read_scenes, scenes_path

        path = scenes_path(self.root, self.split)
        return read_scenes(path, self.split).by_index if path.is_file() else None

    @functools.cached_property
    def cells(self) -> np.ndarray:
        """``(h * w, 2)`` the pixel RN's cells: their receptive fields' centres in 128×128 pixels."""
        return self.model.objects.cell_centres(self.image_size, self.image_size).numpy()

    def question(self, index: int) -> str:
        return self.questions[index]["question"]

    def answer_name(self, answer: int) -> str:
        from relnet.tasks.clevr.vocab import ANSWERS

        return ANSWERS[answer]

    def groups(self, records: Records) -> list[str]:
        from relnet.tasks.clevr.vocab import QUESTION_TYPES

        categories = list(QUESTION_TYPES.values())
        return [categories[int(kind)] if int(kind) >= 0 else "unknown" for kind in records["question_type"]]

    def _scene(self, index: int) -> dict | None:
        return None if self.scenes is None else self.scenes.get(self.questions[index]["image_index"])

    def _object_cells(self, scene: dict) -> list[int]:
        """The pixel RN's cell nearest each of ``scene``'s objects."""
        from relnet.tasks.clevr.camera import BASE_HEIGHT, BASE_WIDTH

        uv = np.array([obj["pixel_coords"][:2] for obj in scene["objects"]], dtype=float).reshape(-1, 2)
        # Point u of the 480×320 frame lies at u · 128 / 480 of the stretched image (both continuous).
        points = uv * [self.image_size / BASE_WIDTH, self.image_size / BASE_HEIGHT]
        return nearest_cells(self.cells, points)

    def object_labels(self, index: int, n: int) -> list[str]:
        scene = self._scene(index)
        if scene is None or self.slots is None:
            return super().object_labels(index, n)
        objects = scene["objects"]
        if self.slots == "objects":
            names = [f"{o['size']} {o['color']} {o['material']} {o['shape']}" for o in objects]
            return (names + ["(padding)"] * n)[:n]
        columns = self.model.objects.grid_size(self.image_size, self.image_size)[1]
        labels = [f"cell {k // columns},{k % columns}" for k in range(n)]
        for number, cell in enumerate(self._object_cells(scene)):
            if cell < n:
                labels[cell] += f" #{number}"
        return labels

    def relevant_objects(self, index: int, n: int) -> torch.Tensor | None:
        from relnet.tasks.clevr.executor import IllPosedError, referred_objects

        program, scene = self.questions[index].get("program"), self._scene(index)
        if self.slots is None or program is None or scene is None:
            return None
        try:
            referred = referred_objects(program, scene, checked=True)  # the reader checked the program
        except IllPosedError:
            return None
        if self.slots == "cells":
            if len(self.cells) != n:
                return None  # the model saw images of another size; its cells are not these
            referred = sorted({self._object_cells(scene)[k] for k in referred})
        if not referred:
            return None
        relevant = torch.zeros(n, dtype=torch.bool)
        relevant[referred] = True
        return relevant


VIEWS: dict[str, type[TaskView]] = {"sort-of-clevr": SortOfClevrView, "babi": BabiView, "clevr": ClevrView}


def view_for(task: Task, model: nn.Module, root: Path, split: str) -> TaskView:
    """The view of ``task`` (the generic :class:`TaskView` for a task without its own)."""
    return VIEWS.get(task.name, TaskView)(task, model, root, split)
