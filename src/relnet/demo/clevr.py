"""The CLEVR page: a scene from a CLEVR data folder on disk, a question typed in words, the answer of every
committed CLEVR model and, for the RNs, the pairs that decided it drawn on the image.

The demo is offline, so it generates nothing: it looks for CLEVR folders (the v1.0 layout, real or made by
``relnet generate clevr``) under ``data/`` beside the results folder and in the working directory, and
says how to make one when there is none. A scene is picked by its number in the folder's split (val
first), a question is tokenised with the task's fixed vocabulary (words outside it are read as ``<unk>``,
as in training, and listed in the reply), and each model answers; the RNs' pairs are those whose removal
alone changes the answer's margin most, computed exactly as ``relnet explain`` does. A folder without
images (``--no-render``) serves the state RN and the question-only LSTM, on a top-down map of the scene.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relnet.demo.errors import BadRequestError

#: The models shown, in this order, by file name (``<name>.safetensors``).
MODELS = {
    "rn": "pixel RN",
    "rn-state": "state RN",
    "cnn-lstm-sa": "CNN+LSTM+SA",
    "cnn-lstm": "CNN+LSTM",
    "lstm": "LSTM (question only)",
}
#: Folders under the results folder searched for each model's weights, first found wins (then any
#: ``clevr/**/<name>.safetensors``).
WEIGHT_FOLDERS = ("clevr", "clevr/quick")
#: The split a scene is picked from: the first of these with a scenes file.
SPLITS = ("val", "test", "train")
#: The images the pixel models read (the size the committed models were trained on).
IMAGE_SIZE = (128, 128)
TOP_PAIRS = 5
#: The longest question accepted, in characters and in words (CLEVR's longest has about 45 words).
MAX_CHARACTERS = 400
MAX_WORDS = 64
#: The file's own questions about a scene sent back as examples.
EXAMPLES = 10
HOW_TO = (
    "no CLEVR data folder found (data/<folder>/scenes/CLEVR_val_scenes.json beside the results folder or in the "
    "working directory); make one with `relnet generate clevr --out data/clevr-demo --images 100` "
    "(add --no-render for scenes without images: the state RN and the LSTM still answer)"
)


@dataclass
class Folder:
    """A CLEVR folder's split as the page uses it: its scenes read on first use, its questions (the
    examples, and the truth of a question asked word for word) on first question."""

    root: Path
    split: str
    scenes: list[dict[str, Any]] | None = None
    questions: dict[int, list[dict[str, Any]]] | None = None

    @property
    def has_images(self) -> bool:
        return (self.root / "images" / self.split).is_dir()

    def load(self) -> Folder:
        from relnet.tasks.clevr.format import read_scenes, scenes_path

        if self.scenes is None:
            scenes = read_scenes(scenes_path(self.root, self.split), self.split).scenes
            self.scenes = sorted(scenes, key=lambda scene: scene["image_index"])
        return self

    def load_questions(self) -> Folder:
        from relnet.tasks.clevr.format import questions_path, read_questions

        if self.questions is None:
            path = questions_path(self.root, self.split)
            questions: dict[int, list[dict[str, Any]]] = {}
            for question in read_questions(path).questions if path.is_file() else []:
                questions.setdefault(question["image_index"], []).append(question)
            self.questions = questions
        return self


def clevr_folder(root: Path) -> Folder | None:
    """``root`` as a :class:`Folder` (its val split, else the first with a scenes file), or ``None``
    when it holds no CLEVR scenes file."""
    from relnet.tasks.clevr.format import find_splits, scenes_path

    if not root.is_dir():
        return None
    splits = [split for split in find_splits(root) if scenes_path(root, split).is_file()]
    if not splits:
        return None
    return Folder(root, next((split for split in SPLITS if split in splits), splits[0]))


def find_folders(bases: list[Path]) -> dict[str, Folder]:
    """The CLEVR folders directly under each of ``bases``, by folder name, those with images first."""
    found: dict[str, Folder] = {}
    seen: set[Path] = set()
    for base in bases:
        if not base.is_dir():
            continue
        for root in sorted(path for path in base.iterdir() if path.is_dir()):
            if root.resolve() in seen or root.name in found:
                continue
            seen.add(root.resolve())
            folder = clevr_folder(root)
            if folder is not None:
                found[root.name] = folder
    return dict(sorted(found.items(), key=lambda item: not item[1].has_images))


class ClevrPage:
    """Finds the weights and data folders at start; loads models and folders on first use.

    ``data``: one CLEVR folder to use instead of searching ``data/`` beside ``results`` and in the
    working directory.
    """

    def __init__(self, results: Path, data: Path | None = None) -> None:
        self.weights: dict[str, Path] = {}
        for name in MODELS:
            candidates = [results / folder / f"{name}.safetensors" for folder in WEIGHT_FOLDERS]
            candidates += sorted(results.glob(f"clevr/**/{name}.safetensors"))
            path = next((path for path in candidates if path.is_file()), None)
            if path is not None:
                self.weights[name] = path
        if data is not None:
            folder = clevr_folder(data)
            self.folders = {} if folder is None else {data.name: folder}
        else:
            self.folders = find_folders([results.resolve().parent / "data", Path.cwd() / "data"])
        self._models: dict[str, torch.nn.Module] = {}
        self._lock = threading.Lock()

    def info(self) -> dict[str, Any]:
        folders = []
        for name, folder in self.folders.items():
            try:
                scenes = len(self._load(folder).scenes)
            except BadRequestError:
                continue
            folders.append({"name": name, "split": folder.split, "scenes": scenes, "images": folder.has_images})
        return {
            "weights": {name: str(path) for name, path in self.weights.items()},
            "folders": folders,
            "missing": None if folders else HOW_TO,
            "max_words": MAX_WORDS,
        }

    def models(self) -> dict[str, torch.nn.Module]:
        if not self.weights:
            raise BadRequestError(
                "no CLEVR weights in the results folder (clevr/<model>.safetensors or clevr/quick/<model>.safetensors)",
                404,
            )
        if not self._models:
            from relnet.training.weights import load_model

            self._models = {
                name: load_model(path, expect_task="clevr")[1].eval() for name, path in self.weights.items()
            }
        return self._models

    def _load(self, folder: Folder, *, questions: bool = False) -> Folder:
        from relnet.errors import RelnetError

        with self._lock:
            try:
                return folder.load().load_questions() if questions else folder.load()
            except RelnetError as error:  # a damaged file: say which, once per request
                raise BadRequestError(f"the CLEVR folder {folder.root.name} cannot be read: {error}", 422) from None

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        from relnet.tasks.clevr.dataset import encode_question, state_rows, tokenize
        from relnet.tasks.clevr.vocab import TOKEN_INDEX, answer_text

        if not self.folders:
            raise BadRequestError(HOW_TO, 404)
        name = request.get("data", next(iter(self.folders)))
        if not isinstance(name, str) or name not in self.folders:
            raise BadRequestError(f'"data" must be one of {", ".join(self.folders)}')
        folder = self._load(self.folders[name])
        number = request.get("scene", 0)
        last = len(folder.scenes) - 1
        if last < 0:
            raise BadRequestError(f"{name} ({folder.split}) holds no scenes", 422)
        if isinstance(number, bool) or not isinstance(number, int):
            raise BadRequestError(f'"scene" must be a whole number from 0 to {last}')
        if not 0 <= number <= last:
            raise BadRequestError(f"there is no scene {number} in {name} ({folder.split}): choose 0 to {last}")
        text = request.get("question")
        if not isinstance(text, str):
            raise BadRequestError('"question" must be a string')
        text = " ".join(text.split())
        if not text:
            raise BadRequestError("the question is empty: type a question about the scene")
        if len(text) > MAX_CHARACTERS:
            raise BadRequestError(f"the question is too long ({len(text)} characters; at most {MAX_CHARACTERS})")
        words = tokenize(text)
        if len(words) > MAX_WORDS:
            raise BadRequestError(f"the question is too long ({len(words)} words; at most {MAX_WORDS})")
        unknown = list(dict.fromkeys(word for word in words if word not in TOKEN_INDEX))
        models = self.models()

        scene = folder.scenes[number]
        asked = self._load(folder, questions=True).questions.get(scene["image_index"], [])
        same = [q for q in asked if tokenize(q["question"]) == words and "answer" in q]
        truth = answer_text(same[0]["answer"]) if same else None
        rows, mask = state_rows([scene])
        ids, _ = encode_question(text)
        batch: dict[str, torch.Tensor] = {
            "question": torch.tensor([ids], dtype=torch.long),
            "image_index": torch.zeros(1, dtype=torch.long),
            "state": torch.from_numpy(rows),
            "state_mask": torch.from_numpy(mask),
        }
        image = self._image(folder, scene) if folder.has_images else None
        if image is not None:
            batch["image"] = torch.from_numpy(image.copy())[None]  # decode gives a read-only array
        picture = {"title": "", "image": image, "objects": scene["objects"], "directions": scene.get("directions")}
        replies = {
            model_name: _answer(model_name, model, batch, picture, truth) for model_name, model in models.items()
        }
        return {
            "data": name,
            "split": folder.split,
            "scene": number,
            "scenes": len(folder.scenes),
            "image_filename": scene.get("image_filename"),
            "question": text,
            "unknown_words": unknown,
            "truth": truth,
            "examples": [q["question"] for q in asked[:EXAMPLES]],
            "objects": [_object_name(k, obj) for k, obj in enumerate(scene["objects"])],
            "image": _data_url(picture),
            "models": replies,
        }

    @staticmethod
    def _image(folder: Folder, scene: dict[str, Any]):
        from relnet.errors import RelnetError
        from relnet.tasks.clevr.cache import decode
        from relnet.tasks.clevr.format import image_path

        try:
            return decode(image_path(folder.root, folder.split, scene["image_index"]), *IMAGE_SIZE)
        except RelnetError as error:
            raise BadRequestError(str(error), 422) from None


def _answer(
    name: str, model: torch.nn.Module, batch: dict[str, torch.Tensor], picture: dict[str, Any], truth: str | None
) -> dict[str, Any]:
    """One model's answer, and for an RN its top pairs (exact effects) and the picture with them."""
    from relnet.explain.capture import forward_with_terms, relation_module
    from relnet.tasks.clevr.models import ConvLSTM, ConvLSTMAttention, PixelRelationNetwork
    from relnet.tasks.clevr.vocab import ANSWERS
    from relnet.viz.clevr_pairs import feature_grid, slot_kind, slot_positions, top_pairs

    reply: dict[str, Any] = {"label": MODELS[name], "answer": None, "right": None, "pairs": None, "image": None}
    if "image" not in batch and isinstance(model, PixelRelationNetwork | ConvLSTM | ConvLSTMAttention):
        reply["note"] = "reads images, and this folder has none"
        return reply
    kind = slot_kind(model)
    with torch.no_grad():
        if kind is None:
            answer = int(model(batch).argmax(-1)[0])
            reply["note"] = "no object pairs: not a relation network"
        else:
            terms = forward_with_terms(model, relation_module(model, name), batch).to(torch.float64)
            answers = terms.output().argmax(-1)
            answer = int(answers[0])
            effects = terms.removal_effects(answers, margin=True)[0]
            pairs = top_pairs(effects, terms.pair_mask[0], TOP_PAIRS)
            image = batch.get("image")
            grid = feature_grid(model, *image.shape[1:3]) if image is not None else None
            objects = picture["objects"]
            positions = slot_positions(
                kind,
                effects.shape[-1],
                grid=grid,
                objects=objects,
                directions=picture["directions"],
                on_image=image is not None,
            )
            reply["pairs"] = [
                {
                    "i": i,
                    "j": j,
                    "objects": [_slot_name(kind, k, grid, objects) for k in (i, j)],
                    "effect": round(effect, 4),
                }
                for i, j, effect in pairs
            ]
            reply["image"] = _data_url({**picture, "pairs": pairs, "positions": positions, "grid": grid})
    reply["answer"] = ANSWERS[answer]
    reply["right"] = None if truth is None else ANSWERS[answer] == truth
    return reply


def _object_name(number: int, obj: dict[str, Any]) -> str:
    return f"#{number} {obj['size']} {obj['color']} {obj['material']} {obj['shape']}"


def _slot_name(kind: str, slot: int, grid: np.ndarray | None, objects: list[dict[str, Any]]) -> str:
    """What a model's slot is: a feature-map cell (pixel RN) or one of the scene's objects (state RN)."""
    if kind == "cells" and grid is not None:
        row, column = divmod(slot, grid.shape[1])
        return f"cell ({row}, {column})"
    return _object_name(slot, objects[slot]) if slot < len(objects) else f"slot {slot}"


def _data_url(panel: dict[str, Any]) -> str:
    from relnet.viz.clevr_pairs import panel_png

    return "data:image/png;base64," + base64.b64encode(panel_png(panel)).decode()
