"""``relnet show``: draw a trained model's answers on some questions and the object pairs behind them.

One drawing function per task that has pictures; a task without one gets a clear error.

    relnet show --weights results/clevr/quick/rn.safetensors --data data/clevr-quick --questions 0,1,2,3 --out rn.png
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


#: CLEVR pairs drawn per question.
CLEVR_TOP_PAIRS = 5


def _clevr(model_name: str, model: nn.Module, root: Path, split: str, indices: list[int], out: Path) -> Path:
    """CLEVR: the image (or, for a folder without images, a top-down map of the scene), the question,
    the model's answer and the truth, and for the RNs the pairs whose removal alone changes the answer's
    margin most (exact, :mod:`relnet.nn.attribution`): feature-map cells for the pixel RN, the scene's
    objects for the state RN. Models without pairs get the picture, the answer and a note."""
    import json
    import textwrap

    from relnet.tasks.clevr.dataset import IGNORE, load_table
    from relnet.tasks.clevr.format import questions_path, scenes_path
    from relnet.tasks.clevr.vocab import ANSWERS
    from relnet.viz.clevr_pairs import draw_clevr_pairs, feature_grid, slot_kind, slot_positions, top_pairs

    root = Path(root)
    table = load_table(root, split)
    bad = [index for index in indices if not 0 <= index < len(table)]
    if bad:
        raise RelnetError(f"question indices {bad} are out of range: {split} has {len(table)} questions")
    # load_table has just read and validated both files: the records are read again without checking.
    questions = json.loads(questions_path(root, split).read_bytes())["questions"]
    scenes = {}
    if scenes_path(root, split).is_file():
        scenes = {scene["image_index"]: scene for scene in json.loads(scenes_path(root, split).read_bytes())["scenes"]}
    batch = table.__getitems__(indices)
    answers, effects, pair_mask = _clevr_answers(model.eval(), batch)
    kind = slot_kind(model)
    image = batch.get("image")
    grid = feature_grid(model, *image.shape[1:3]) if image is not None else None
    panels = []
    for row, index in enumerate(indices):
        question = questions[index]
        scene = scenes.get(question["image_index"])
        objects = None if scene is None else scene["objects"]
        answer = ANSWERS[int(answers[row])]
        truth = int(batch["answer"][row])
        if truth == IGNORE:
            verdict = "the file has no answer"
        else:
            verdict = "right" if ANSWERS[truth] == answer else f"wrong, truth {ANSWERS[truth]}"
        text = textwrap.shorten(question["question"], 200)
        panel = {
            "title": f"#{index} {textwrap.fill(text, 56)}\n{model_name} says {answer} ({verdict})",
            "image": None if image is None else image[row].numpy(),
            "objects": objects,
            "directions": None if scene is None else scene.get("directions"),
            "grid": grid,
            "pairs": None,
            "positions": None,
            "note": None,
        }
        if effects is not None:
            slots = effects.shape[-1]
            panel["positions"] = slot_positions(
                kind, slots, grid=grid, objects=objects, directions=panel["directions"], on_image=image is not None
            )
            panel["pairs"] = top_pairs(effects[row], pair_mask[row], CLEVR_TOP_PAIRS)
            if panel["positions"] is None:
                panel["note"] = "no scene for this image: its objects cannot be placed"
        panels.append(panel)
    if effects is None:
        legend = f"{model_name} has no relation network, so no pairs to draw: the picture, its answer and the truth"
    else:
        what = "feature-map cells (the pixel RN's objects)" if kind == "cells" else "objects"
        where = "on the image" if image is not None else "on a top-down map of the scene (the folder has no images)"
        legend = (
            f"Lines join the {CLEVR_TOP_PAIRS} pairs of {what} whose removal alone changes the answer's margin most "
            f"(exact effects), {where}; green supports the answer, red opposes it; numbered by rank"
        )
    return draw_clevr_pairs(panels, out, legend=legend)


def _clevr_answers(
    model: nn.Module, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """The model's answers ``(B,)`` and, for a model with a relation network, each pair's exact effect
    on the answer's margin ``(B, n, n)`` (:meth:`~relnet.nn.attribution.PairTerms.removal_effects`)
    with the valid pairs ``(B, n, n)``; ``None, None`` for a model without one."""
    from relnet.explain.capture import forward_with_terms, relation_module

    try:
        relation = relation_module(model, "the model")
    except RelnetError:
        with torch.no_grad():
            return model(batch).argmax(-1), None, None
    with torch.no_grad():  # f runs again on every pair's removal; no gradients wanted
        terms = forward_with_terms(model, relation, batch).to(torch.float64)
        answers = terms.output().argmax(-1)
        return answers, terms.removal_effects(answers, margin=True), terms.pair_mask


def _dynamics(model_name: str, model: nn.Module, root: Path, split: str, indices: list[int], out: Path) -> Path:
    """Dynamics: each scene's trajectories with its true connections (rods straight, springs zigzag)
    and, for a connection model, the predicted ones, right or wrong; a counting model's true and
    predicted number of systems. ``out`` ending in ``.gif``: the first scene, animated over its frames."""
    from relnet.tasks.dynamics.generator import count_systems, read_split
    from relnet.tasks.dynamics.simulator import KIND_NAMES, PALETTE, RADIUS
    from relnet.tasks.dynamics.task import load_table, predicts_connections, records
    from relnet.viz.dynamics import animate_scene, draw_scenes, picture_path

    out = picture_path(out)
    data = read_split(root, split)
    bad = [index for index in indices if not 0 <= index < len(data)]
    if bad:
        raise RelnetError(f"scene indices {bad} are out of range: {split} has {len(data)} scenes")
    reads_frames = model_name.endswith("-frames")
    if reads_frames and data.frames is None:
        raise RelnetError(f"{model_name} reads the rendered frames, but {root} has none; generate with --frame-size 32")
    gif = out.suffix.lower() == ".gif"
    if gif:  # one scene, animated
        indices = indices[:1]
    batch = load_table(root, split).__getitems__(indices)
    with torch.no_grad():
        try:
            output = model.eval()(batch).float()
        except RuntimeError as error:
            if not reads_frames:
                raise
            size = data.frames.shape[2]
            raise RelnetError(f"{model_name} cannot read {root}'s {size}x{size} frames: {error}") from None
    connections = predicts_connections(output)
    if connections:
        scored = records(output, batch)
        predicted = output > 0
        predicted_systems = count_systems(predicted)
        logits = (output + output.transpose(1, 2)) / 2  # a pair's two logits averaged, as pair_auc reads them
    else:
        counts = output.argmax(-1)
    panels = []
    for row, index in enumerate(indices):
        kinds = data.kinds[index]
        systems = int(data.systems[index])
        pairs = []
        for i in range(len(kinds)):
            for j in range(i + 1, len(kinds)):
                true = bool(kinds[i, j])
                pair = {"balls": (i, j), "kind": KIND_NAMES.get(int(kinds[i, j])), "true": true}
                if connections:
                    bits = bool(predicted[row, i, j]), bool(predicted[row, j, i])
                    pair |= {
                        "predicted": any(bits),
                        "right": bits == (true, true),
                        "probability": float(torch.sigmoid(logits[row, i, j])),
                    }
                if true or pair.get("predicted"):  # a pair neither connected nor predicted is not drawn
                    pairs.append(pair)
        if connections:
            bits_right = int(scored["bits_right"][row])
            verdict = "all right" if bits_right == kinds.size else "wrong"
            title = (
                f"scene {index}: {bits_right}/{kinds.size} bits right ({verdict})\n"
                f"{_systems(systems)}; {model_name}'s connections make {int(predicted_systems[row])}"
            )
            diagonal = int(predicted[row].diagonal().sum())
            if diagonal:
                title += f"; {diagonal} self-links"
        else:
            count = int(counts[row])
            verdict = "right" if count == systems else "wrong"
            title = f"scene {index}: {_systems(systems)}\n{model_name} says {count} ({verdict})"
        panels.append({"title": title, "positions": data.positions[index], "pairs": pairs})
    discs = "discs: the balls now" if gif else "discs: the balls at the last frame"
    if connections:
        legend = (
            f"Trails fade in from the first frame to the last; {discs}. "
            "Solid: true connections (straight: rod, zigzag: spring); dashed: predicted by "
            f"{model_name}. Green: right, red: wrong (missed or false); numbers: {model_name}'s probability."
        )
    else:
        legend = (
            f"Trails fade in from the first frame to the last; {discs}. "
            "Lines: the true connections (straight: rod, zigzag: spring); "
            f"{model_name} predicts only their number of systems."
        )
    colours = [rgb for _, rgb in PALETTE]
    if gif:
        return animate_scene(panels[0], out, colours=colours, radius=RADIUS, legend=legend)
    return draw_scenes(panels, out, colours=colours, radius=RADIUS, legend=legend)


def _systems(count: int) -> str:
    return f"{count} system{'' if count == 1 else 's'}"


ShowFunction = Callable[[str, nn.Module, Path, str, list[int], Path], Path]
SHOW: dict[str, ShowFunction] = {"sort-of-clevr": _sort_of_clevr, "clevr": _clevr, "dynamics": _dynamics}


def show(task: str, model_name: str, model: nn.Module, root: Path, split: str, indices: list[int], out: Path) -> Path:
    """Draw ``model``'s answers to questions ``indices`` of ``root``'s ``split`` into ``out``."""
    if task not in SHOW:
        raise RelnetError(f"`relnet show` is not available for {task} yet")
    return SHOW[task](model_name, model, root, split, indices, out)
