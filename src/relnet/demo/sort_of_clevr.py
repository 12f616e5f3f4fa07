"""The Sort-of-CLEVR page: a scene generated from a seed, a question, the answers of the committed
state-description RN and pixel RN, and each one's top pairs by exact effect drawn on the image."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relnet.demo.errors import BadRequestError

#: The models shown, by file name under ``results/sort-of-clevr/``.
MODELS = {"rn-state": "state RN", "rn": "pixel RN"}
#: Pairs drawn per model.
TOP_PAIRS = 5
MAX_SEED = 2**32 - 1


class SortOfClevrPage:
    """Loads the committed models once, on the first request."""

    def __init__(self, results: Path) -> None:
        folder = results / "sort-of-clevr"
        self.weights = {name: folder / f"{name}.safetensors" for name in MODELS}
        self.weights = {name: path for name, path in self.weights.items() if path.is_file()}
        self._models: dict[str, torch.nn.Module] = {}

    def info(self) -> dict[str, Any]:
        from relnet.tasks.sort_of_clevr.format import COLORS, SUBTYPES

        return {
            "weights": {name: str(path) for name, path in self.weights.items()},
            "colors": list(COLORS),
            "subtypes": SUBTYPES,
        }

    def models(self) -> dict[str, torch.nn.Module]:
        if not self.weights:
            raise BadRequestError("no Sort-of-CLEVR weights in the results folder (sort-of-clevr/rn*.safetensors)", 404)
        if not self._models:
            from relnet.training.weights import load_model

            self._models = {
                name: load_model(path, expect_task="sort-of-clevr")[1] for name, path in self.weights.items()
            }
        return self._models

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, ANSWERS, COLORS, Question, Scene, SplitFile
        from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, answer_question, render, sample_scene_objects

        seed = request.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise BadRequestError(f'"seed" must be a whole number from 0 to {MAX_SEED}')
        color, subtype = request.get("color"), request.get("subtype")
        if color not in COLORS:
            raise BadRequestError(f'"color" must be one of {", ".join(COLORS)}')
        if subtype not in ALL_SUBTYPES:
            raise BadRequestError(f'"subtype" must be one of {", ".join(ALL_SUBTYPES)}')
        config = GeneratorConfig()
        objects = sample_scene_objects(np.random.default_rng(seed), config)
        question = Question(color, subtype, answer_question(objects, color, subtype, config.image_size))
        image = render(objects, config)
        split = SplitFile(Path("demo"), "demo", config.image_size, (Scene("", objects, (question,)),))
        from relnet.tasks.sort_of_clevr.dataset import state_rows

        batch = {
            "image": torch.from_numpy(image)[None],
            "state": torch.from_numpy(state_rows(split)),
            "question": torch.tensor([question.encoding()], dtype=torch.float32),
        }
        answers = {}
        for name, model in self.models().items():
            answer, top, positions = _explain(model, batch, config.image_size)
            answers[name] = {
                "label": MODELS[name],
                "answer": ANSWERS[answer],
                "right": ANSWERS[answer] == question.answer,
                "pairs": [
                    {"i": i, "j": j, "objects": [_name(name, objects, k) for k in (i, j)], "effect": round(effect, 4)}
                    for i, j, effect in top
                ],
                "image": _png(image, top, positions),
            }
        return {
            "seed": seed,
            "question": _wording(color, subtype),
            "truth": question.answer,
            "objects": [{"color": o.color, "shape": o.shape, "center": list(o.center)} for o in objects],
            "models": answers,
            "image": _png(image, [], np.zeros((0, 2))),
        }


def _explain(model: torch.nn.Module, batch: dict[str, torch.Tensor], image_size: int):
    """The model's answer, its top pairs ``(i, j, effect)`` by exact margin effect, and slot positions."""
    from relnet.explain.analysis import explain_batch
    from relnet.explain.capture import forward_with_terms, relation_module
    from relnet.tasks.sort_of_clevr.explain import explain_pairs

    terms = forward_with_terms(model, relation_module(model, "the model"), batch).to(torch.float64)
    explanation = explain_batch(terms)[0]
    found = explain_pairs(model, batch, image_size)
    positions = np.zeros((0, 2)) if found is None else found.positions[0].numpy()
    effects = explanation.effects
    top = [(int(i), int(j), float(effects[i, j])) for i, j in explanation.top[:TOP_PAIRS].tolist()]
    return explanation.answer, top, positions


def _png(image: np.ndarray, top: list[tuple[int, int, float]], positions: np.ndarray) -> str:
    """The image, with ``top`` pairs drawn, as a ``data:`` URL of a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from relnet.viz.pairs import draw_pair_lines

    figure, axis = plt.subplots(figsize=(3.2, 3.2), dpi=100)
    try:
        axis.imshow(image, interpolation="nearest")
        axis.axis("off")
        axis.set_xlim(-0.5, image.shape[1] - 0.5)
        axis.set_ylim(image.shape[0] - 0.5, -0.5)
        if top:
            peak = max(abs(effect) for _, _, effect in top) or 1.0
            draw_pair_lines(axis, [(i, j) for i, j, _ in top], positions, [abs(e) / peak for _, _, e in top])
        figure.tight_layout(pad=0.1)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _name(model: str, objects: tuple, slot: int) -> str:
    """What slot ``slot`` of ``model`` is: an object of the scene (state RN) or a feature-map cell."""
    return f"{objects[slot].color} {objects[slot].shape}" if model == "rn-state" else f"cell {slot}"


def _wording(color: str, subtype: str) -> str:
    return {
        "query_shape": f"What is the shape of the {color} object?",
        "query_horizontal": f"Is the {color} object on the left or the right?",
        "query_vertical": f"Is the {color} object at the top or the bottom?",
        "closest_to": f"What is the shape of the object closest to the {color} object?",
        "furthest_from": f"What is the shape of the object furthest from the {color} object?",
        "count": f"How many objects have the shape of the {color} object?",
    }[subtype]
