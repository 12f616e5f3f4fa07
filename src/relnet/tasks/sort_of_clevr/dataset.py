"""Sort-of-CLEVR files → tensors: images decoded once into a cached uint8 array, questions as columns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from relnet.data import TensorTable
from relnet.data.files import files_fingerprint
from relnet.errors import DataFormatError
from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, ANSWERS, COLORS, SHAPES, SplitFile, read_split

STATE_FEATURES = len(COLORS) + len(SHAPES) + 2  # colour one-hot, shape one-hot, x, y


def _decode_image(split: SplitFile, root: Path, index: int) -> np.ndarray:
    """Scene ``index``'s PNG as ``(size, size, 3)`` uint8, checked against the split's image size."""
    size = split.image_size
    path = root / split.scenes[index].image
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        raise DataFormatError(split.path, f"image file {path} is missing", record=f"scene {index}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:  # PIL's kinds of bad file
        raise DataFormatError(path, f"not a readable image ({error})") from None
    if pixels.shape[:2] != (size, size):
        raise DataFormatError(
            path,
            f"image is {pixels.shape[1]}×{pixels.shape[0]} pixels, expected {size}×{size} "
            f"(image_size in {split.path.name})",
        )
    return pixels


def _decode_images(split: SplitFile, root: Path) -> np.ndarray:
    """Every scene's PNG as one ``(N, size, size, 3)`` uint8 array, checking sizes."""
    first = _decode_image(split, root, 0)  # checked before the whole array is allocated
    images = np.empty((len(split.scenes), *first.shape), dtype=np.uint8)
    images[0] = first
    for index in range(1, len(split.scenes)):
        images[index] = _decode_image(split, root, index)
    return images


def source_key(split: SplitFile, root: Path) -> str | None:
    """A digest of what a split's image cache is made from: the image size and each scene's image file
    (path, size in bytes, modification time); None when a file cannot be read (then nothing is cached)."""
    return files_fingerprint(f"{split.image_size}", ((scene.image, root / scene.image) for scene in split.scenes))


def load_images(split: SplitFile, root: Path, *, use_cache: bool = True) -> np.ndarray:
    """Images of a split, from ``<root>/cache/<split>_images.npy`` when it is current.

    The cache is current when ``<split>_images.source`` beside it holds the :func:`source_key` of the
    split's image files as they are now (a deleted, replaced or damaged PNG changes it) and the array
    has the expected shape; otherwise, or if it cannot be read, the images are decoded and the cache
    rewritten. If the folder is read-only the images are decoded without caching.
    """
    cache = root / "cache" / f"{split.split}_images.npy"
    sidecar = cache.with_suffix(".source")
    expected = (len(split.scenes), split.image_size, split.image_size, 3)
    key = source_key(split, root)
    if use_cache and key is not None and _cached_key(sidecar) == key:
        try:
            cached = np.load(cache, mmap_mode="r")
            if cached.shape == expected and cached.dtype == np.uint8:
                return np.array(cached)  # a writable in-memory copy
        except (OSError, ValueError, EOFError):
            pass  # a damaged cache: decode again
    images = _decode_images(split, root)
    if key is not None:
        try:
            cache.parent.mkdir(exist_ok=True)
            temporary = cache.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(temporary, images)
            temporary.replace(cache)
            sidecar.write_text(key)
        except OSError:
            pass  # read-only dataset folder: fine, just slower next time
    return images


def _cached_key(sidecar: Path) -> str | None:
    try:
        return sidecar.read_text()
    except (OSError, ValueError):  # missing, or not text
        return None


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
