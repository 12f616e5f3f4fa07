from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from relnet.errors import RelnetError
from relnet.tasks.base import TrainConfig
from relnet.tasks.sort_of_clevr.augment import apply_symmetries, augment, random_symmetries
from relnet.tasks.sort_of_clevr.dataset import load_table
from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, ANSWERS, COLORS, SHAPES, Question, SceneObject
from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, answer_question, render
from relnet.training.module import RelnetModule


def _scene_from_state(rows: torch.Tensor, size: int) -> tuple[SceneObject, ...]:
    """Objects back from state rows ``(6, 10)``: colour and shape one-hots, x and y in [-1, 1]."""
    objects = []
    for row in rows.tolist():
        color = COLORS[int(np.argmax(row[: len(COLORS)]))]
        shape = SHAPES[int(np.argmax(row[len(COLORS) : len(COLORS) + len(SHAPES)]))]
        center = tuple(round((value + 1) / 2 * size) for value in row[-2:])
        assert all(abs((c / size) * 2 - 1 - value) < 1e-5 for c, value in zip(center, row[-2:], strict=True))
        objects.append(SceneObject(color, shape, center))
    return tuple(objects)


@pytest.mark.parametrize("code", range(8))
def test_each_symmetry_gives_a_true_scene_image_and_answers(tiny_sort_of_clevr: Path, code: int) -> None:
    table = load_table(tiny_sort_of_clevr, "train")
    batch = table.__getitems__(list(range(len(table))))
    out = apply_symmetries(batch, torch.full((len(table),), code))
    size = batch["image"].shape[1]
    config = GeneratorConfig(image_size=size)
    rendered: dict[int, np.ndarray] = {}
    for row in range(len(table)):
        objects = _scene_from_state(out["state"][row], size)
        scene = int(batch["image_index"][row])
        if scene not in rendered:
            rendered[scene] = render(objects, config)
        # The transformed image is exactly the picture of the transformed scene.
        assert np.array_equal(out["image"][row].numpy(), rendered[scene])
        color = COLORS[int(out["question"][row, : len(COLORS)].argmax())]
        subtype = ALL_SUBTYPES[int(out["subtype"][row])]
        answer = ANSWERS[int(out["answer"][row])]
        assert answer == answer_question(objects, color, subtype, size)
        assert out["question"][row].tolist() == [float(bit) for bit in Question(color, subtype, answer).encoding()]
    changed = (out["answer"] != batch["answer"]).any().item()
    assert changed == (code != 0)  # mirrors and swaps move some position answers; identity moves none


def test_questions_about_one_image_share_its_symmetry() -> None:
    image_index = torch.tensor([0, 0, 0, 5, 5, 2, 2, 2, 7])
    codes = random_symmetries(image_index)
    for index in image_index.unique():
        assert len(codes[image_index == index].unique()) == 1
    assert int(codes.min()) >= 0 and int(codes.max()) < 8


def test_augment_is_seeded(tiny_sort_of_clevr: Path) -> None:
    table = load_table(tiny_sort_of_clevr, "train")
    batch = table.__getitems__(list(range(64)))
    torch.manual_seed(11)
    first = augment(batch)
    torch.manual_seed(11)
    second = augment(batch)
    assert all(torch.equal(first[name], second[name]) for name in first)


def test_training_step_uses_augmentation(tiny_sort_of_clevr: Path) -> None:
    config = TrainConfig(epochs=1, augment=True, model={"g_widths": (16, 16), "f_widths": (16,)})
    module = RelnetModule.from_config("sort-of-clevr", "rn-state", config)
    table = load_table(tiny_sort_of_clevr, "train")
    seen: list[torch.Tensor] = []
    module.model.register_forward_pre_hook(lambda _, inputs: seen.append(inputs[0]["state"]))
    batch = table.__getitems__(list(range(len(table))))
    torch.manual_seed(0)
    loss = module.training_step(batch, 0)
    assert torch.isfinite(loss)
    assert not torch.equal(seen[0], batch["state"])


def test_a_task_without_augmentation_refuses_it() -> None:
    with pytest.raises(RelnetError, match="no training augmentation"):
        RelnetModule.from_config("babi", "rn", TrainConfig(epochs=1, augment=True))
