"""Random CLEVR scenes following the official generator's rules.

3 to 10 objects with uniform shape, size, material and colour (CoGenT conditions restrict the colours of
cubes and cylinders), positions uniform in [-3, 3]², rotations uniform in [0°, 360°). A placement is
rejected when two objects come closer than ``min_dist`` (edge to edge), when an offset between two objects
along a cardinal direction is positive but under ``margin`` (which would make left/right or front/behind
ambiguous), or when a finished scene shows an object with fewer than ``min_pixels`` pixels. Relations
come from the camera's ground-plane directions: j is ``r`` of i when (c_j − c_i) · dir_r > 0.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from relnet.errors import RelnetError
from relnet.tasks.clevr.camera import ground_directions, project
from relnet.tasks.clevr.format import image_filename
from relnet.tasks.clevr.render import object_pixels
from relnet.tasks.clevr.vocab import COGENT, COLORS, MATERIALS, RELATIONS, SHAPES, SIZE_SCALE, SIZES

RELATION_EPSILON = 0.2


@dataclass(frozen=True)
class SceneConfig:
    """The placement rules (the official generator's defaults)."""

    min_objects: int = 3
    max_objects: int = 10
    min_dist: float = 0.25
    margin: float = 0.4
    max_retries: int = 50
    min_pixels: int = 100  # of a 240×160 id render: the official 200 of 320×240, as a fraction of the image
    cogent: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.min_objects <= self.max_objects <= 10:
            raise RelnetError(
                f"objects per scene must satisfy 1 <= min <= max <= 10, got {self.min_objects}..{self.max_objects}"
            )
        if self.cogent not in (None, "A", "B"):
            raise RelnetError(f"--cogent must be A or B, got {self.cogent!r}")


def relationships(coords: np.ndarray, directions: dict[str, list[float]]) -> dict[str, list[list[int]]]:
    """``rel[r][i]``: the objects j with (c_j − c_i) · dir_r > 0.2, for r in left/right/front/behind."""
    result: dict[str, list[list[int]]] = {}
    for relation in RELATIONS:
        along = coords @ np.asarray(directions[relation])
        offsets = along[None, :] - along[:, None]  # [i, j] = (c_j - c_i) · dir
        result[relation] = [np.flatnonzero(row > RELATION_EPSILON).tolist() for row in offsets]
    return result


def _sample_attributes(rng: np.random.Generator, config: SceneConfig) -> dict[str, str]:
    shape = SHAPES[rng.integers(len(SHAPES))]
    colors = COGENT[config.cogent][shape] if config.cogent else COLORS
    return {
        "shape": shape,
        "size": SIZES[rng.integers(len(SIZES))],
        "material": MATERIALS[rng.integers(len(MATERIALS))],
        "color": colors[rng.integers(len(colors))],
    }


def _fits(x: float, y: float, r: float, placed: list[tuple[float, float, float]], config: SceneConfig, axes) -> bool:
    for px, py, pr in placed:
        dx, dy = x - px, y - py
        if math.hypot(dx, dy) - r - pr < config.min_dist:
            return False
        for ax, ay in axes:
            along = abs(dx * ax + dy * ay)
            if 0 < along < config.margin:
                return False
    return True


def _place(rng: np.random.Generator, count: int, config: SceneConfig, axes) -> list[dict] | None:
    placed: list[tuple[float, float, float]] = []
    objects: list[dict] = []
    for _ in range(count):
        attributes = _sample_attributes(rng, config)
        r = SIZE_SCALE[attributes["size"]]
        for _ in range(config.max_retries):
            x, y = rng.uniform(-3, 3, size=2)
            if _fits(x, y, r, placed, config, axes):
                break
        else:
            return None
        rotation = float(rng.uniform(0, 360))
        placed.append((x, y, r))
        objects.append({**attributes, "3d_coords": [float(x), float(y), r], "rotation": rotation})
    return objects


def generate_scene(rng: np.random.Generator, split: str, index: int, config: SceneConfig) -> dict:
    """One scene record in the CLEVR v1.0 format (without questions)."""
    directions = ground_directions()
    axes = [tuple(directions[name][:2]) for name in ("right", "behind")]
    count = int(rng.integers(config.min_objects, config.max_objects + 1))
    while True:
        objects = _place(rng, count, config, axes)
        if objects is None:
            continue
        scene = {"objects": objects}
        if config.min_pixels and (object_pixels(scene) < config.min_pixels).any():
            continue
        break
    coords = np.array([obj["3d_coords"] for obj in objects])
    pixels = project(coords)
    for obj, (u, v, depth) in zip(objects, pixels, strict=True):
        obj["3d_coords"] = [round(c, 4) for c in obj["3d_coords"]]
        obj["rotation"] = round(obj["rotation"], 4)
        obj["pixel_coords"] = [round(float(u)), round(float(v)), round(float(depth), 4)]
    ordered = [
        {key: obj[key] for key in ("color", "size", "rotation", "shape", "3d_coords", "material", "pixel_coords")}
        for obj in objects
    ]
    return {
        "split": split,
        "image_index": index,
        "image_filename": image_filename(split, index),
        "objects": ordered,
        "relationships": relationships(coords, directions),
        "directions": directions,
    }


def scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one scene: independent of every other scene, so scenes can be made in parallel."""
    return np.random.default_rng([seed, sum(map(ord, split)) * 7919 + len(split), index])
