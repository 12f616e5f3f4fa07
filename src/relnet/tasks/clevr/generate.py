"""Write a generated CLEVR dataset in the v1.0 layout: scenes, rendered images, questions, image cache.

Scenes and images are made per image from their own random stream (so worker processes can share the
work and the bytes do not depend on how many there are); questions are then asked in image order from
one stream per split, since answer balancing carries over from image to image.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from relnet.errors import RelnetError
from relnet.tasks.clevr.cache import write_cache
from relnet.tasks.clevr.format import image_path, questions_path, scenes_path, write_questions, write_scenes
from relnet.tasks.clevr.questions import AnswerBalancer, questions_for_scene
from relnet.tasks.clevr.render import render
from relnet.tasks.clevr.scenes import SceneConfig, generate_scene, scene_rng

SPLIT_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}


@dataclass(frozen=True)
class GenerateConfig:
    """What ``relnet generate clevr`` makes."""

    images: int = 100
    questions_per_image: int = 10
    width: int = 480
    height: int = 320
    splits: tuple[str, ...] = ("train", "val", "test")
    cogent: str | None = None
    cache_width: int | None = 128
    cache_height: int | None = 128
    workers: int = 1
    supersample: int = 2
    hide_test_answers: bool = False
    scene: SceneConfig = field(default_factory=SceneConfig)

    def split_sizes(self) -> dict[str, int]:
        """Images per split: the whole count for one split, else 70/15/15 shares (at least one each)."""
        if len(self.splits) == 1:
            return {self.splits[0]: self.images}
        total = sum(SPLIT_FRACTIONS.get(s, 0.15) for s in self.splits)
        sizes = {s: max(1, round(self.images * SPLIT_FRACTIONS.get(s, 0.15) / total)) for s in self.splits}
        sizes[self.splits[0]] = max(1, self.images - sum(sizes[s] for s in self.splits[1:]))
        return sizes

    def split_name(self, split: str) -> str:
        """CoGenT splits carry the condition: trainA, valB, ..."""
        return f"{split}{self.cogent}" if self.cogent else split


def _make_image(job: tuple[int, str, int, GenerateConfig, Path]) -> tuple[dict, np.ndarray | None]:
    seed, split, index, config, root = job
    scene = generate_scene(scene_rng(seed, split, index), split, index, config.scene)
    image = render(scene, config.width, config.height, supersample=config.supersample)
    path = image_path(root, split, index)
    Image.fromarray(image).save(path, optimize=False)
    small = None
    if config.cache_width and config.cache_height:
        if (config.cache_width, config.cache_height) == (config.width, config.height):
            small = image
        else:
            resized = Image.fromarray(image).resize((config.cache_width, config.cache_height), Image.Resampling.BOX)
            small = np.asarray(resized)
    return scene, small


def generate(
    out: Path, *, seed: int, config: GenerateConfig, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, dict[str, int]]:
    """Write every split of ``config`` under ``out``; returns ``{split: {"images", "questions"}}``."""
    out = Path(out)
    if config.images < len(config.splits):
        raise RelnetError(f"--images must be at least {len(config.splits)} (one per split)")
    config = replace(config, scene=replace(config.scene, cogent=config.cogent))
    names = {split: config.split_name(split) for split in config.splits}
    for name in names.values():
        for path in (scenes_path(out, name), questions_path(out, name)):
            if path.exists():
                raise RelnetError(f"{path} already exists; generate into a new folder")
    summary: dict[str, dict[str, int]] = {}
    workers = max(1, config.workers)
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        for split, count in config.split_sizes().items():
            name = names[split]
            (out / "images" / name).mkdir(parents=True, exist_ok=True)
            jobs = [(seed, name, index, config, out) for index in range(count)]
            results = pool.map(_make_image, jobs, chunksize=8) if pool else map(_make_image, jobs)
            rng = np.random.default_rng([seed, sum(map(ord, name)), 1])
            balancer = AnswerBalancer()
            scenes, small, questions = [], [], []
            for done, (scene, image) in enumerate(results, 1):
                # Questions are asked in image order while the workers render the next images.
                questions += questions_for_scene(rng, scene, config.questions_per_image, balancer, len(questions))
                scenes.append(scene)
                small.append(image)
                if progress is not None:
                    progress(name, done, count)
            summary[name] = _write_split(out, name, seed, scenes, questions, small, config)
    finally:
        if pool is not None:
            pool.shutdown()
    return summary


def _write_split(
    out: Path, name: str, seed: int, scenes: list[dict], questions: list[dict], small: list, config: GenerateConfig
) -> dict[str, int]:
    if config.hide_test_answers and name.startswith("test"):
        questions = [{k: v for k, v in q.items() if k not in ("answer", "program")} for q in questions]
    note = f"relnet CLEVR generator, seed {seed}"
    write_scenes(out, name, scenes, note)
    write_questions(out, name, questions, note)
    if small and small[0] is not None:
        write_cache(out, name, list(range(len(scenes))), np.stack(small))
    return {"images": len(scenes), "questions": len(questions)}


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))
