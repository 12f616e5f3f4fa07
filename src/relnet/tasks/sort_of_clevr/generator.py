"""Seeded Sort-of-CLEVR generator (RN paper §3.2 and Supp. D).

Each scene has 6 objects, one per colour, each a square or a circle with probability 1/2, of half-size
``object_size / 2`` pixels, centres uniform over the image and at least ``object_size`` apart (so a
circle never overlaps a circle, but a square's corner may overlap a neighbour: about 9% of scenes, as
in kimhc6028's generator, whose rule this is). Centres are resampled until every object has a unique
nearest and a unique furthest neighbour, so closest-to / furthest-from questions never have ties. Each scene gets 10
non-relational and 10 relational questions with a uniformly random colour and subtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from relnet.errors import RelnetError
from relnet.tasks.sort_of_clevr.format import (
    COLOR_RGB,
    COLORS,
    MAX_IMAGE_SIZE,
    SHAPES,
    SUBTYPES,
    Question,
    Scene,
    SceneObject,
    image_relpath,
    write_split,
)


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate (the flags of ``relnet generate sort-of-clevr``); the defaults are the paper's
    sizes plus a 1,000-image test split."""

    train_images: int = field(default=9_800, metadata={"help": "training images (20 questions each)"})
    val_images: int = field(default=200, metadata={"help": "validation images"})
    test_images: int = field(default=1_000, metadata={"help": "test images"})
    image_size: int = field(default=75, metadata={"help": "image side in pixels"})
    object_size: int = field(default=10, metadata={"help": "object side (square) or diameter (circle)"})
    relational_per_image: int = field(default=10, metadata={"help": "relational questions per image"})
    non_relational_per_image: int = field(default=10, metadata={"help": "non-relational questions per image"})

    def __post_init__(self) -> None:
        if min(self.split_sizes().values()) < 1:
            raise RelnetError("every split needs at least one image")
        if self.object_size < 1 or self.image_size < 4 * self.object_size:
            raise RelnetError(f"--image-size must be at least 4 object sizes ({4 * self.object_size} pixels)")
        if self.image_size > MAX_IMAGE_SIZE:
            raise RelnetError(f"--image-size must be at most {MAX_IMAGE_SIZE} pixels")
        if min(self.relational_per_image, self.non_relational_per_image) < 0:
            raise RelnetError("question counts per image must not be negative")

    def split_sizes(self) -> dict[str, int]:
        return {"train": self.train_images, "val": self.val_images, "test": self.test_images}


def answer_question(objects: tuple[SceneObject, ...], color: str, subtype: str, image_size: int) -> str:
    """The answer to ``subtype`` about the object of ``color``, from the scene alone."""
    by_color = {obj.color: obj for obj in objects}
    subject = by_color[color]
    if subtype == "query_shape":
        return subject.shape
    if subtype == "query_horizontal":
        return "left" if subject.center[0] < image_size / 2 else "right"
    if subtype == "query_vertical":
        return "top" if subject.center[1] < image_size / 2 else "bottom"
    if subtype == "count":
        return str(sum(obj.shape == subject.shape for obj in objects))
    others = [obj for obj in objects if obj is not subject]
    distances = [math.dist(subject.center, obj.center) for obj in others]
    pick = min if subtype == "closest_to" else max
    return others[distances.index(pick(distances))].shape


def _has_unique_extremes(centers: np.ndarray) -> bool:
    """True when every object's nearest and furthest other objects are unique (no distance ties)."""
    squared = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    others = (np.delete(row, index) for index, row in enumerate(squared))  # each object's distances to the rest
    return all((row == row.min()).sum() == 1 and (row == row.max()).sum() == 1 for row in others)


def sample_scene_objects(rng: np.random.Generator, config: GeneratorConfig) -> tuple[SceneObject, ...]:
    """6 objects, one per colour, non-overlapping, with tie-free nearest/furthest neighbours."""
    half = config.object_size // 2
    low, high = half, config.image_size - half
    while True:
        centers: list[np.ndarray] = []
        while len(centers) < len(COLORS):
            candidate = rng.integers(low, high, size=2)
            if all(((candidate - other) ** 2).sum() >= config.object_size**2 for other in centers):
                centers.append(candidate)
        stacked = np.stack(centers)
        if _has_unique_extremes(stacked):
            break
    shapes = rng.integers(0, len(SHAPES), size=len(COLORS))
    return tuple(
        SceneObject(color, SHAPES[shape], (int(center[0]), int(center[1])))
        for color, shape, center in zip(COLORS, shapes, stacked, strict=True)
    )


def ask_questions(
    rng: np.random.Generator, objects: tuple[SceneObject, ...], config: GeneratorConfig
) -> tuple[Question, ...]:
    """``non_relational_per_image`` then ``relational_per_image`` questions with their answers."""
    questions = []
    counts = {"non_relational": config.non_relational_per_image, "relational": config.relational_per_image}
    for question_type, count in counts.items():
        for _ in range(count):
            color = COLORS[rng.integers(len(COLORS))]
            subtype = SUBTYPES[question_type][rng.integers(3)]
            questions.append(Question(color, subtype, answer_question(objects, color, subtype, config.image_size)))
    return tuple(questions)


def render(objects: tuple[SceneObject, ...], config: GeneratorConfig) -> np.ndarray:
    """A white ``(size, size, 3)`` uint8 image with each object drawn in its colour."""
    size = config.image_size
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    rows, cols = np.mgrid[0:size, 0:size]
    half = config.object_size / 2
    for obj in objects:
        x, y = obj.center
        if obj.shape == "square":
            inside = (np.abs(cols - x + 0.5) <= half) & (np.abs(rows - y + 0.5) <= half)
        else:
            inside = (cols - x + 0.5) ** 2 + (rows - y + 0.5) ** 2 <= half**2
        image[inside] = COLOR_RGB[obj.color]
    return image


def generate(
    out: Path,
    *,
    seed: int = 0,
    config: GeneratorConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Write a full dataset (all splits) under ``out``; returns images per split.

    Each split draws from its own stream seeded by ``(seed, split)``, so changing one split's size
    leaves the others unchanged.
    """
    config = config or GeneratorConfig()
    out = Path(out)
    sizes = config.split_sizes()
    for split_index, (split, count) in enumerate(sizes.items()):
        rng = np.random.default_rng([seed, split_index])
        image_dir = out / "images" / split
        image_dir.mkdir(parents=True, exist_ok=True)
        scenes = []
        for index in range(count):
            objects = sample_scene_objects(rng, config)
            questions = ask_questions(rng, objects, config)
            relpath = image_relpath(split, index)
            Image.fromarray(render(objects, config)).save(out / relpath, optimize=False, compress_level=1)
            scenes.append(Scene(relpath, objects, questions))
            if progress is not None:
                progress(split, index + 1, count)
        write_split(out, split, config.image_size, scenes)
    return sizes
