"""Write a generated CLEVR dataset in the v1.0 layout: scenes, rendered images, questions, image cache.

Scenes and images are made per image from their own random stream (so worker processes can share the
work and the bytes do not depend on how many there are); questions are then asked in image order from
one stream per split, since answer balancing carries over from image to image.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
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


def parse_size(text: str) -> tuple[int, int]:
    """'128' -> (128, 128); '480x320' -> (480, 320)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise RelnetError(f"a size is WIDTHxHEIGHT or one number, got {text!r}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 8 or max(parts) > 4096:
        raise RelnetError(f"a size is WIDTHxHEIGHT (8 to 4096 pixels each) or one number, got {text!r}")
    return parts[0], parts[1]


def _parse_cache_size(text: str) -> tuple[int, int] | None:
    return None if text.strip().lower() == "none" else parse_size(text)


def _parse_splits(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class GenerateConfig:
    """What ``relnet generate clevr`` makes (its flags)."""

    images: int = field(default=100, metadata={"help": "images in all splits together"})
    questions_per_image: int = field(default=10, metadata={"help": "questions asked about each image"})
    image_size: tuple[int, int] = field(
        default=(480, 320), metadata={"help": "PNG size, WIDTHxHEIGHT (default 480x320)", "parse": parse_size}
    )
    cache_size: tuple[int, int] | None = field(
        default=(128, 128),
        metadata={"help": "image cache size, or 'none' (default 128x128)", "parse": _parse_cache_size},
    )
    splits: tuple[str, ...] = field(
        default=("train", "val", "test"), metadata={"help": "comma-separated (70/15/15 shares)", "parse": _parse_splits}
    )
    cogent: str | None = field(default=None, metadata={"help": "CLEVR-CoGenT colour condition", "choices": ("A", "B")})
    workers: int = field(default=1, metadata={"help": "processes rendering images"})
    supersample: int = field(default=2, metadata={"help": "rays per pixel side"})
    render: bool = field(
        default=True, metadata={"help": "render images (off: scenes and questions only, enough for state models)"}
    )
    min_objects: int = field(default=3, metadata={"help": "fewest objects in a scene"})
    max_objects: int = field(default=10, metadata={"help": "most objects in a scene"})
    hide_test_answers: bool = field(default=False, metadata={"help": "omit test answers/programs like the release"})

    def __post_init__(self) -> None:
        if not self.splits or len(set(self.splits)) != len(self.splits):
            raise RelnetError(f"--splits must name distinct splits, got {','.join(self.splits)!r}")
        if self.questions_per_image < 0 or self.supersample < 1 or self.workers < 1:
            raise RelnetError("--questions-per-image must be >= 0, --supersample and --workers >= 1")
        self.scene  # noqa: B018 - validates the object counts and --cogent now, not in a worker process

    @property
    def scene(self) -> SceneConfig:
        return SceneConfig(min_objects=self.min_objects, max_objects=self.max_objects, cogent=self.cogent)

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
    if not config.render:
        return scene, None
    image = render(scene, *config.image_size, supersample=config.supersample)
    path = image_path(root, split, index)
    Image.fromarray(image).save(path, optimize=False)
    if config.cache_size is None:
        return scene, None
    if config.cache_size == config.image_size:
        return scene, image
    return scene, np.asarray(Image.fromarray(image).resize(config.cache_size, Image.Resampling.BOX))


def generate(
    out: Path, *, seed: int, config: GenerateConfig, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, dict[str, int]]:
    """Write every split of ``config`` under ``out``; returns ``{split: {"images", "questions"}}``."""
    out = Path(out)
    if config.images < len(config.splits):
        raise RelnetError(f"--images must be at least {len(config.splits)} (one per split)")
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
            if config.render:
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
