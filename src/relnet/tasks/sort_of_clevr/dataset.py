"""Sort-of-CLEVR files → tensors: images decoded once into a cached uint8 array, questions as columns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from relnet.data import TensorTable
from relnet.errors import DataFormatError
from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, ANSWERS, COLORS, SHAPES, SplitFile, read_split

STATE_FEATURES = len(COLORS) + len(SHAPES) + 2  # colour one-hot, shape one-hot, x, y


def _decode_images(split: SplitFile, root: Path) -> np.ndarray:
    """Every scene's PNG as one ``(N, size, size, 3)`` uint8 array, checking sizes."""
    size = split.image_size
    images = np.empty((len(split.scenes), size, size, 3), dtype=np.uint8)
    for index, scene in enumerate(split.scenes):
        path = root / scene.image
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
        except FileNotFoundError:
            raise DataFormatError(split.path, f"image file {path} is missing", record=f"scene {index}") from None
        except (UnidentifiedImageError, OSError) as error:
            raise DataFormatError(path, f"not a readable image ({error})") from None
        if pixels.shape[:2] != (size, size):
            raise DataFormatError(
                path,
                f"image is {pixels.shape[1]}×{pixels.shape[0]} pixels, expected {size}×{size} "
                f"(image_size in {split.path.name})",
            )
        images[index] = pixels
    return images


def load_images(split: SplitFile, root: Path, *, use_cache: bool = True) -> np.ndarray:
    """Images of a split, from ``<root>/cache/<split>_images.npy`` when it is current.

    The cache is rebuilt whenever the split file is newer than it or its shape disagrees; if the
    folder is read-only the images are decoded without caching.
    """
    cache = root / "cache" / f"{split.split}_images.npy"
    expected = (len(split.scenes), split.image_size, split.image_size, 3)
    if use_cache and cache.is_file() and cache.stat().st_mtime >= split.path.stat().st_mtime:
        cached = np.load(cache, mmap_mode="r")
        if cached.shape == expected and cached.dtype == np.uint8:
            return np.array(cached)  # a writable in-memory copy
    images = _decode_images(split, root)
    try:
        cache.parent.mkdir(exist_ok=True)
        temporary = cache.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(temporary, images)
        temporary.replace(cache)
    except OSError:
        pass  # read-only dataset folder: fine, just slower next time
    return images


def state_rows(split: SplitFile) -> np.ndarray:
    """State descriptions: ``(N, 6, 10)`` float32 rows of colour one-hot, shape one-hot, x, y in [-1, 1]."""
    rows = np.zeros((len(split.scenes), len(COLORS), STATE_FEATURES), dtype=np.float32)
    for scene_index, scene in enumerate(split.scenes):
        for object_index, obj in enumerate(scene.objects):
            row = rows[scene_index, object_index]
            row[COLORS.index(obj.color)] = 1.0
            row[len(COLORS) + SHAPES.index(obj.shape)] = 1.0
            row[-2:] = np.asarray(obj.center) / split.image_size * 2.0 - 1.0
    return rows


def load_table(root: Path, split_name: str, *, with_images: bool = True) -> TensorTable:
    """One split as a :class:`TensorTable` with one row per question.

    Batch keys: ``image`` ``(B, H, W, 3)`` uint8, ``state`` ``(B, 6, 10)`` float, ``question`` ``(B, 11)``
    float, ``answer`` ``(B,)`` long, ``subtype`` ``(B,)`` long (index into ``ALL_SUBTYPES``),
    ``image_index`` ``(B,)`` long.
    """
    root = Path(root)
    split = read_split(root, split_name)
    image_index, encodings, answers, subtypes = [], [], [], []
    for scene_index, scene in enumerate(split.scenes):
        for question in scene.questions:
            image_index.append(scene_index)
            encodings.append(question.encoding())
            answers.append(ANSWERS.index(question.answer))
            subtypes.append(ALL_SUBTYPES.index(question.subtype))
    columns = {
        "image_index": torch.tensor(image_index, dtype=torch.long),
        "question": torch.tensor(encodings, dtype=torch.float32),
        "answer": torch.tensor(answers, dtype=torch.long),
        "subtype": torch.tensor(subtypes, dtype=torch.long),
    }
    lookups = {"state": ("image_index", torch.from_numpy(state_rows(split)))}
    if with_images:
        lookups["image"] = ("image_index", torch.from_numpy(load_images(split, root)))
    return TensorTable(columns, lookups)
