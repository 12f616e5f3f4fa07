"""CLEVR files -> tensors: tokenised questions, answer indices, cached uint8 images, state descriptions."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from relnet.data import TensorTable
from relnet.errors import DataFormatError
from relnet.tasks.clevr.cache import load_images
from relnet.tasks.clevr.format import questions_path, read_questions, read_scenes, scenes_path
from relnet.tasks.clevr.stats import question_type
from relnet.tasks.clevr.vocab import ANSWERS, ATTRIBUTES, QUESTION_TYPES, TOKEN_INDEX, UNKNOWN, answer_text

UNKNOWN_ID = TOKEN_INDEX[UNKNOWN]
IGNORE = -100  # answer index of questions without an answer (cross-entropy skips them)
MAX_OBJECTS = 10
#: State-description row: x, y, z, cos and sin of the rotation, then one-hot size, colour, material, shape.
STATE_FEATURES = 5 + sum(len(values) for values in ATTRIBUTES.values())
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-case words and punctuation marks: 'Is it red?' -> ['is', 'it', 'red', '?']."""
    return _TOKEN.findall(text.lower())


def encode_question(text: str) -> tuple[list[int], int]:
    """Token ids of a question under the fixed :data:`QUESTION_TOKENS`, and how many were unknown.

    'Is it red?' -> ([ids of 'is', 'it', 'red', '?'], 0); a word outside the vocabulary becomes ``<unk>`` (1).
    """
    ids = [TOKEN_INDEX.get(token, UNKNOWN_ID) for token in tokenize(text)]
    return ids, ids.count(UNKNOWN_ID)


def state_rows(scenes: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """``(S, n, STATE_FEATURES)`` float32 object rows and ``(S, n)`` bool masks of real objects.

    ``n`` is CLEVR's 10, or the largest scene's object count when a hand-made file has more: no object
    is ever dropped.
    """
    slots = max([MAX_OBJECTS, *(len(scene["objects"]) for scene in scenes)])
    rows = np.zeros((len(scenes), slots, STATE_FEATURES), dtype=np.float32)
    mask = np.zeros((len(scenes), slots), dtype=bool)
    for s, scene in enumerate(scenes):
        for o, obj in enumerate(scene["objects"]):
            angle = np.radians(obj["rotation"])
            row = [*(c / 3.0 for c in obj["3d_coords"]), np.cos(angle), np.sin(angle)]
            for attribute, values in ATTRIBUTES.items():
                row += [float(obj[attribute] == value) for value in values]
            rows[s, o] = row
            mask[s, o] = True
    return rows, mask


def load_table(root: Path, split: str, *, image_size: tuple[int, int] = (128, 128)) -> TensorTable:
    """One split as a :class:`TensorTable`, one row per question.

    Batch keys: ``question`` ``(B, L)`` long ids of :data:`QUESTION_TOKENS` (0 pads; the same ids for
    every folder), ``question_length`` ``(B,)``, ``unknown_tokens`` ``(B,)`` (words of the question
    outside the vocabulary, read as ``<unk>``), ``answer``
    ``(B,)`` index into :data:`ANSWERS` (``-100`` when the file has none), ``question_type`` ``(B,)``
    index into :data:`QUESTION_TYPES` (-1: none), ``family`` ``(B,)``, ``image_index`` ``(B,)``, ``image``
    ``(B, H, W, 3)`` uint8 from the cache (when the split has images), and, when the split has scenes,
    ``state`` ``(B, 10, F)`` and ``state_mask`` ``(B, 10)``.
    """
    root = Path(root)
    scenes = read_scenes(scenes_path(root, split), split) if scenes_path(root, split).is_file() else None
    questions = read_questions(questions_path(root, split), scenes, split).questions
    width, height = image_size
    # A folder generated with --no-render (or a real one without its images) still serves state models.
    with_images = (root / "images" / split).is_dir() or scenes is None
    if with_images:
        indices, images = load_images(
            root, split, width, height, [s["image_index"] for s in scenes.scenes] if scenes else None
        )
    else:
        indices = sorted(scene["image_index"] for scene in scenes.scenes)
    row_of = {index: row for row, index in enumerate(indices)}
    coded = [encode_question(q["question"]) for q in questions]
    encoded = [ids for ids, _ in coded]
    length = max((len(e) for e in encoded), default=1)
    question = torch.zeros((len(questions), length), dtype=torch.long)
    for number, ids in enumerate(encoded):
        question[number, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    types = list(QUESTION_TYPES)
    for q in questions:
        if q["image_index"] not in row_of:
            raise DataFormatError(questions_path(root, split), f"image_index {q['image_index']} has no image")
    columns = {
        "question": question,
        "question_length": torch.tensor([len(e) for e in encoded], dtype=torch.long),
        "unknown_tokens": torch.tensor([unknown for _, unknown in coded], dtype=torch.long),
        "answer": torch.tensor(
            [ANSWERS.index(answer_text(q["answer"])) if "answer" in q else IGNORE for q in questions]
        ),
        "question_type": torch.tensor([types.index(t) if (t := question_type(q)) in types else -1 for q in questions]),
        "family": torch.tensor([int(q.get("question_family_index", -1)) for q in questions]),
        "image_index": torch.tensor([row_of[q["image_index"]] for q in questions], dtype=torch.long),
    }
    lookups = {}
    if with_images:
        lookups["image"] = ("image_index", torch.from_numpy(images))  # no copy: a cached split stays mapped
    if scenes is not None:
        ordered = sorted(scenes.scenes, key=lambda scene: scene["image_index"])
        rows, mask = state_rows(ordered)
        lookups["state"] = ("image_index", torch.from_numpy(rows))
        lookups["state_mask"] = ("image_index", torch.from_numpy(mask))
    return TensorTable(columns, lookups)
