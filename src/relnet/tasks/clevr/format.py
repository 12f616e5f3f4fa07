"""The CLEVR v1.0 layout on disk: read, validate and write scenes and questions.

::

    images/<split>/CLEVR_<split>_NNNNNN.png
    scenes/CLEVR_<split>_scenes.json        {"info": {...}, "scenes": [scene, ...]}
    questions/CLEVR_<split>_questions.json  {"info": {...}, "questions": [question, ...]}

A scene: ``image_index``, ``image_filename``, ``split``, ``directions`` (6 unit vectors), ``objects``
(each with ``3d_coords``, ``pixel_coords``, ``rotation``, ``size``, ``color``, ``material``, ``shape``) and
``relationships`` (``rel[r][i]``: the objects that are ``r`` of object ``i``, for left/right/front/behind).
A question: ``image_index``, ``image_filename``, ``split``, ``question_index``, ``question``,
``question_family_index``, ``answer`` and ``program`` (the real test split ships neither of the last two).

Records stay the plain JSON dictionaries; the readers check every field the executor, the renderer and
the datasets use, and raise :class:`DataFormatError` naming the file and the record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relnet.errors import DataFormatError, shorten
from relnet.tasks.clevr.executor import ProgramError, check_program
from relnet.tasks.clevr.vocab import ANSWERS, ATTRIBUTES, RELATIONS, answer_text

SPLIT_ORDER = ("train", "val", "test")
OBJECT_FIELDS = ("3d_coords", "pixel_coords", "rotation", *ATTRIBUTES)
_SCENES_NAME = re.compile(r"CLEVR_(\w+?)_scenes\.json$")
_QUESTIONS_NAME = re.compile(r"CLEVR_(\w+?)_questions\.json$")


def scenes_path(root: Path, split: str) -> Path:
    return Path(root) / "scenes" / f"CLEVR_{split}_scenes.json"


def questions_path(root: Path, split: str) -> Path:
    return Path(root) / "questions" / f"CLEVR_{split}_questions.json"


def image_filename(split: str, index: int) -> str:
    return f"CLEVR_{split}_{index:06d}.png"


def image_path(root: Path, split: str, index: int) -> Path:
    return Path(root) / "images" / split / image_filename(split, index)


def find_splits(root: Path) -> list[str]:
    """The splits that have a scenes or a questions file under ``root`` (train, val, test first)."""
    root = Path(root)
    found: set[str] = set()
    for folder, pattern in (("scenes", _SCENES_NAME), ("questions", _QUESTIONS_NAME)):
        if (root / folder).is_dir():
            for path in (root / folder).iterdir():
                match = pattern.fullmatch(path.name)
                if match:
                    found.add(match.group(1))
    return sorted(found, key=lambda split: (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else 9, split))


@dataclass
class ScenesFile:
    """A parsed scenes file; ``by_index`` maps ``image_index`` to its scene."""

    path: Path
    split: str
    info: dict[str, Any]
    scenes: list[dict[str, Any]]

    @property
    def by_index(self) -> dict[int, dict[str, Any]]:
        return {scene["image_index"]: scene for scene in self.scenes}


@dataclass
class QuestionsFile:
    """A parsed questions file."""

    path: Path
    split: str
    info: dict[str, Any]
    questions: list[dict[str, Any]]


def _load_json(path: Path, key: str, split: str | None) -> tuple[dict[str, Any], list[Any], str | None]:
    """The ``info`` and ``key`` records of a scenes or questions file, and its split (``split``, else the
    one in the file's name)."""
    match = (_SCENES_NAME if key == "scenes" else _QUESTIONS_NAME).search(path.name)
    split = split or (match.group(1) if match else None)
    if not path.is_file():
        raise DataFormatError(path, "missing file")
    try:
        with path.open("rb") as handle:
            document = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise DataFormatError(path, f"not valid JSON ({shorten(str(error), 200)})") from None
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        raise DataFormatError(path, f'expected a JSON object with a "{key}" list')
    info = document.get("info", {})
    return (info if isinstance(info, dict) else {}), document[key], split


def _clip(text: str, limit: int = 300) -> str:
    """A message from elsewhere (which may quote a huge value), cut to ``limit`` characters."""
    return text if len(text) <= limit else f"{text[:limit]}…"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def validate_scene(scene: Any, path: Path, record: str, split: str | None = None) -> None:
    """Check one scene record; raises :class:`DataFormatError` naming ``path`` and ``record``."""

    def fail(problem: str, where: str = record) -> DataFormatError:
        return DataFormatError(path, problem, record=where)

    if not isinstance(scene, dict):
        raise fail("expected a JSON object")
    for key in ("image_index", "image_filename", "objects", "relationships"):
        if key not in scene:
            raise fail(f'missing field "{key}"')
    if not _is_index(scene["image_index"]):
        raise fail(f'"image_index" must be a non-negative integer, got {shorten(scene["image_index"])}')
    if split is not None:
        expected = image_filename(split, scene["image_index"])
        if scene["image_filename"] != expected:
            raise fail(
                f'"image_filename" {shorten(scene["image_filename"])} does not match image_index '
                f"{scene['image_index']} (expected {expected!r})"
            )
    objects = scene["objects"]
    if not isinstance(objects, list):
        raise fail('"objects" must be a list')
    for number, obj in enumerate(objects):
        where = f"{record}, object {number}"
        if not isinstance(obj, dict):
            raise fail("expected a JSON object", where)
        for key in OBJECT_FIELDS:
            if key not in obj:
                raise fail(f'missing field "{key}"', where)
        for attribute, values in ATTRIBUTES.items():
            if obj[attribute] not in values:
                raise fail(f"unknown {attribute} {shorten(obj[attribute])}, expected one of {', '.join(values)}", where)
        for key in ("3d_coords", "pixel_coords"):
            if not (isinstance(obj[key], list) and len(obj[key]) == 3 and all(map(_is_number, obj[key]))):
                raise fail(f'"{key}" must be a list of 3 numbers, got {shorten(obj[key])}', where)
        if not _is_number(obj["rotation"]):
            raise fail(f'"rotation" must be a number, got {shorten(obj["rotation"])}', where)
    relationships = scene["relationships"]
    if not isinstance(relationships, dict):
        raise fail('"relationships" must be an object with left, right, front and behind')
    for relation in RELATIONS:
        lists = relationships.get(relation)
        if not isinstance(lists, list) or len(lists) != len(objects):
            raise fail(f'"relationships" needs "{relation}": one list per object ({len(objects)})')
        for number, related in enumerate(lists):
            if not isinstance(related, list) or not all(_is_index(j) and j < len(objects) for j in related):
                got = shorten(related)
                raise fail(f'relationships "{relation}" of object {number} must list object indices, got {got}')
            if number in related:
                raise fail(f'object {number} is "{relation}" of itself')
    directions = scene.get("directions")
    if directions is not None and not (
        isinstance(directions, dict)
        and all(isinstance(v, list) and len(v) == 3 and all(map(_is_number, v)) for v in directions.values())
    ):
        raise fail('"directions" must map names to 3-vectors')


def validate_question(
    question: Any, path: Path, record: str, scenes: dict[int, dict] | None = None, split: str | None = None
) -> None:
    """Check one question record (and its program); raises :class:`DataFormatError`."""

    def fail(problem: str) -> DataFormatError:
        return DataFormatError(path, problem, record=record)

    if not isinstance(question, dict):
        raise fail("expected a JSON object")
    for key in ("image_index", "question"):
        if key not in question:
            raise fail(f'missing field "{key}"')
    if not _is_index(question["image_index"]):
        raise fail(f'"image_index" must be a non-negative integer, got {shorten(question["image_index"])}')
    if not isinstance(question["question"], str):
        raise fail('"question" must be a string')
    if split is not None and "image_filename" in question:
        expected = image_filename(split, question["image_index"])
        if question["image_filename"] != expected:
            raise fail(
                f'"image_filename" {shorten(question["image_filename"])} does not match image_index '
                f"(expected {expected!r})"
            )
    if scenes is not None and question["image_index"] not in scenes:
        raise fail(f"image_index {question['image_index']} has no scene in the scenes file")
    if "answer" in question and answer_text(question["answer"]) not in ANSWERS:
        raise fail(f"unknown answer {shorten(question['answer'])}")
    for key in ("question_index", "question_family_index"):
        if key in question and not _is_index(question[key]):
            raise fail(f'"{key}" must be a non-negative integer, got {shorten(question[key])}')
    if "program" in question:
        try:
            check_program(question["program"])
        except ProgramError as error:
            raise fail(_clip(str(error))) from None


def read_scenes(path: Path, split: str | None = None) -> ScenesFile:
    """Parse and validate a scenes file; ``split`` defaults to the one in its name."""
    path = Path(path)
    info, scenes, split = _load_json(path, "scenes", split)
    seen: set[int] = set()
    for number, scene in enumerate(scenes):
        validate_scene(scene, path, f"scene {number}", split)
        if scene["image_index"] in seen:
            raise DataFormatError(path, f"image_index {scene['image_index']} appears twice", record=f"scene {number}")
        seen.add(scene["image_index"])
    return ScenesFile(path, split or info.get("split", "?"), info, scenes)


def read_questions(path: Path, scenes: ScenesFile | None = None, split: str | None = None) -> QuestionsFile:
    """Parse and validate a questions file, checking image indices against ``scenes`` when given."""
    path = Path(path)
    info, questions, split = _load_json(path, "questions", split)
    by_index = scenes.by_index if scenes is not None else None
    for number, question in enumerate(questions):
        validate_question(question, path, f"question {number}", by_index, split)
    return QuestionsFile(path, split or info.get("split", "?"), info, questions)


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, separators=(",", ":")))
    temporary.replace(path)
    return path


def info_block(split: str, note: str) -> dict[str, str]:
    return {"split": split, "version": "1.0", "date": note, "license": "Creative Commons Attribution (CC BY 4.0)"}


def write_scenes(root: Path, split: str, scenes: list[dict[str, Any]], note: str = "") -> Path:
    """Write ``scenes/CLEVR_<split>_scenes.json``."""
    return _write(scenes_path(root, split), {"info": info_block(split, note), "scenes": scenes})


def write_questions(root: Path, split: str, questions: list[dict[str, Any]], note: str = "") -> Path:
    """Write ``questions/CLEVR_<split>_questions.json``."""
    return _write(questions_path(root, split), {"info": info_block(split, note), "questions": questions})
