"""``relnet show``: draw a trained model's answers on some questions and the object pairs behind them.

One drawing function per task that has pictures; a task without one gets a clear error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from relnet.errors import RelnetError


def _sort_of_clevr(model_name: str, model: nn.Module, root: Path, split: str, indices: list[int], out: Path) -> Path:
    from relnet.tasks.sort_of_clevr.dataset import load_table
    from relnet.tasks.sort_of_clevr.explain import explain_pairs
    from relnet.tasks.sort_of_clevr.format import ANSWERS, read_split
    from relnet.viz import draw_pairs  # matplotlib only when drawing: it costs ~1 s of CLI start-up

    table = load_table(root, split)
    bad = [index for index in indices if not 0 <= index < len(table)]
    if bad:
        raise RelnetError(f"question indices {bad} are out of range: {split} has {len(table)} questions")
    scenes = read_split(root, split)
    batch = table.__getitems__(indices)
    with torch.no_grad():
        predictions = model.eval()(batch).argmax(-1)
    explanation = explain_pairs(model, batch, scenes.image_size)
    # Table rows list each scene's questions in file order (as load_table builds them); scenes need
    # not all have the same number of questions.
    questions = [question for scene in scenes.scenes for question in scene.questions]
    panels = []
    for row, index in enumerate(indices):
        question = questions[index]
        answer = ANSWERS[int(predictions[row])]
        verdict = "right" if answer == question.answer else f"wrong, truth {question.answer}"
        panels.append(
            {
                "image": batch["image"][row].numpy(),
                "title": f"#{index} {question.subtype.replace('_', ' ')}: {question.color}?\n"
                f"{model_name} says {answer} ({verdict})",
                "strength": None if explanation is None else explanation.strength[row].numpy(),
                "positions": None if explanation is None else explanation.positions[row].numpy(),
            }
        )
    return draw_pairs(panels, out)


ShowFunction = Callable[[str, nn.Module, Path, str, list[int], Path], Path]
SHOW: dict[str, ShowFunction] = {"sort-of-clevr": _sort_of_clevr}


def show(task: str, model_name: str, model: nn.Module, root: Path, split: str, indices: list[int], out: Path) -> Path:
    """Draw ``model``'s answers to questions ``indices`` of ``root``'s ``split`` into ``out``."""
    if task not in SHOW:
        raise RelnetError(f"`relnet show` is not available for {task} yet")
    return SHOW[task](model_name, model, root, split, indices, out)
