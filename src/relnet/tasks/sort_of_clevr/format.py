"""The Sort-of-CLEVR dataset on disk: PNG images plus one JSON of scenes and questions per split.

Layout of a dataset folder::

    images/<split>/NNNNNN.png    one RGB image per scene, image_size × image_size
    <split>.json                 {"format": "relnet-sort-of-clevr", "version": 1, "split", "image_size",
                                  "scenes": [{"image": "images/<split>/NNNNNN.png",
                                              "objects": [{"color", "shape", "center": [x, y]}, ...],
                                              "questions": [{"encoding": [11 bits], "type", "subtype",
                                                             "color", "answer"}, ...]}, ...]}

Every answer can be recomputed from the scene's objects. The 11-bit question encoding is the RN
paper's: 6 bits one-hot colour of the referenced object, 2 bits question type (non-relational,
relational), 3 bits subtype.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from relnet.errors import DataFormatError, shorten

FORMAT_NAME = "relnet-sort-of-clevr"
FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")

COLORS = ("red", "green", "blue", "orange", "gray", "yellow")
COLOR_RGB = {
    "red": (255, 0, 0),
    "green": (0, 200, 0),
    "blue": (0, 0, 255),
    "orange": (255, 140, 0),
    "gray": (128, 128, 128),
    "yellow": (240, 220, 0),
}
SHAPES = ("square", "circle")
QUESTION_TYPES = ("non_relational", "relational")
SUBTYPES = {
    "non_relational": ("query_shape", "query_horizontal", "query_vertical"),
    "relational": ("closest_to", "furthest_from", "count"),
}
ALL_SUBTYPES = SUBTYPES["non_relational"] + SUBTYPES["relational"]
ANSWERS = ("square", "circle", "left", "right", "top", "bottom", "1", "2", "3", "4", "5", "6")
ENCODING_BITS = len(COLORS) + len(QUESTION_TYPES) + 3
#: Image sides a split may declare; a larger one would make the decoded images too large to hold.
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 8, 1024


@dataclass(frozen=True)
class SceneObject:
    """One object: its colour (unique in the scene), shape and centre in pixels (x right, y down)."""

    color: str
    shape: str
    center: tuple[float, float]


@dataclass(frozen=True)
class Question:
    """A question about the object of colour ``color``; ``subtype`` names what is asked."""

    color: str
    subtype: str
    answer: str

    @property
    def type(self) -> str:
        return "relational" if self.subtype in SUBTYPES["relational"] else "non_relational"

    def encoding(self) -> list[int]:
        """The paper's 11-bit vector: colour one-hot, type one-hot, subtype one-hot."""
        bits = [0] * ENCODING_BITS
        bits[COLORS.index(self.color)] = 1
        bits[len(COLORS) + QUESTION_TYPES.index(self.type)] = 1
        bits[len(COLORS) + len(QUESTION_TYPES) + SUBTYPES[self.type].index(self.subtype)] = 1
        return bits


@dataclass(frozen=True)
class Scene:
    """An image's objects and the questions asked about it; ``image`` is relative to the dataset root."""

    image: str
    objects: tuple[SceneObject, ...]
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class SplitFile:
    """One parsed ``<split>.json``."""

    path: Path
    split: str
    image_size: int
    scenes: tuple[Scene, ...]


def split_path(root: Path, split: str) -> Path:
    return Path(root) / f"{split}.json"


def image_relpath(split: str, index: int) -> str:
    return f"images/{split}/{index:06d}.png"


def write_split(root: Path, split: str, image_size: int, scenes: list[Scene]) -> Path:
    """Write ``<root>/<split>.json`` (the images are written by the caller)."""
    document = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "split": split,
        "image_size": image_size,
        "colors": list(COLORS),
        "shapes": list(SHAPES),
        "answers": list(ANSWERS),
        "scenes": [
            {
                "image": scene.image,
                "objects": [asdict(obj) for obj in scene.objects],  # the centre tuple is written as a list
                "questions": [
                    {
                        "encoding": question.encoding(),
                        "type": question.type,
                        "subtype": question.subtype,
                        "color": question.color,
                        "answer": question.answer,
                    }
                    for question in scene.questions
                ],
            }
            for scene in scenes
        ],
    }
    path = split_path(root, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, separators=(",", ":")))
    return path


def read_split(root: Path, split: str) -> SplitFile:
    """Parse and validate ``<root>/<split>.json``; raises :class:`DataFormatError` naming the record."""
    path = split_path(root, split)
    if not path.is_file():
        raise DataFormatError(
            path, f"missing: no Sort-of-CLEVR '{split}' split here (run `relnet generate sort-of-clevr`)"
        )
    try:
        document = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise DataFormatError(path, f"not valid JSON ({shorten(str(error), 200)})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise DataFormatError(path, f'expected a JSON object with "format": "{FORMAT_NAME}"')
    if document.get("version") != FORMAT_VERSION:
        version = shorten(document.get("version"))
        raise DataFormatError(path, f"unsupported version {version}, expected {FORMAT_VERSION}")
    image_size = document.get("image_size")
    if not _is_integer(image_size) or not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        sizes = f"{MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE}"
        raise DataFormatError(path, f'"image_size" must be an integer from {sizes}, got {shorten(image_size)}')
    if document.get("split", split) != split:
        raise DataFormatError(path, f"holds split {shorten(document.get('split'))}, expected {split!r}")
    raw_scenes = document.get("scenes")
    if not isinstance(raw_scenes, list) or not raw_scenes:
        raise DataFormatError(path, '"scenes" must be a non-empty list')
    scenes = tuple(_parse_scene(path, index, raw, image_size) for index, raw in enumerate(raw_scenes))
    return SplitFile(path=path, split=split, image_size=image_size, scenes=scenes)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_scene(path: Path, index: int, raw: Any, image_size: int) -> Scene:
    record = f"scene {index}"

    def fail(problem: str, where: str = record) -> DataFormatError:
        return DataFormatError(path, problem, record=where)

    if not isinstance(raw, dict):
        raise fail('expected an object with "image", "objects" and "questions"')
    for key in ("image", "objects", "questions"):
        if key not in raw:
            raise fail(f'missing field "{key}"')
    if not isinstance(raw["image"], str) or not _is_relative_path(raw["image"]):
        raise fail(f'"image" must be a path inside the dataset folder, got {shorten(raw["image"])}')
    objects = []
    for key in ("objects", "questions"):
        if not isinstance(raw[key], list):
            raise fail(f'"{key}" must be a list, got {type(raw[key]).__name__}')
    if len(raw["objects"]) != len(COLORS):
        raise fail(f"expected {len(COLORS)} objects (one per colour), got {len(raw['objects'])}")
    for object_index, obj in enumerate(raw["objects"]):
        where = f"{record}, object {object_index}"
        if not isinstance(obj, dict) or not {"color", "shape", "center"} <= obj.keys():
            raise fail('expected an object with "color", "shape" and "center"', where)
        if not isinstance(obj["color"], str) or obj["color"] not in COLORS:
            raise fail(f"unknown colour {shorten(obj['color'])}, expected one of {list(COLORS)}", where)
        if not isinstance(obj["shape"], str) or obj["shape"] not in SHAPES:
            raise fail(f"unknown shape {shorten(obj['shape'])}, expected one of {list(SHAPES)}", where)
        center = obj["center"]
        if (
            not isinstance(center, list)
            or len(center) != 2
            or not all(_is_number(c) and 0 <= c < image_size for c in center)
        ):
            raise fail(f'"center" must be [x, y] inside the {image_size}-pixel image, got {shorten(center)}', where)
        objects.append(SceneObject(obj["color"], obj["shape"], (float(center[0]), float(center[1]))))
    colors = [obj.color for obj in objects]
    if len(set(colors)) != len(colors):
        raise fail(f"colours must be unique within a scene, got {colors}")
    questions = []
    for question_index, question in enumerate(raw["questions"]):
        where = f"{record}, question {question_index}"
        if not isinstance(question, dict) or not {"encoding", "subtype", "color", "answer"} <= question.keys():
            raise fail('expected an object with "encoding", "subtype", "color" and "answer"', where)
        for key, allowed in (("subtype", ALL_SUBTYPES), ("color", COLORS), ("answer", ANSWERS)):
            if not isinstance(question[key], str) or question[key] not in allowed:
                raise fail(f"unknown {key} {shorten(question[key])}, expected one of {list(allowed)}", where)
        if question["color"] not in colors:
            raise fail(f"asks about colour {question['color']!r}, which is not in the scene", where)
        parsed = Question(question["color"], question["subtype"], question["answer"])
        if "type" in question and question["type"] != parsed.type:
            raise fail(f"type {shorten(question['type'])} does not match subtype {parsed.subtype!r}", where)
        if question["encoding"] != parsed.encoding():
            raise fail(
                f"encoding {shorten(question['encoding'])} does not match colour {parsed.color!r} and subtype "
                f"{parsed.subtype!r} (expected {parsed.encoding()})",
                where,
            )
        questions.append(parsed)
    return Scene(raw["image"], tuple(objects), tuple(questions))


def _is_relative_path(text: str) -> bool:
    """A path below the dataset folder: relative, without ``..``, no NUL byte (which the OS refuses)."""
    parts = Path(text).parts
    return bool(parts) and "\0" not in text and not Path(text).is_absolute() and ".." not in parts
