"""Images of a split decoded once into a ``(N, H, W, 3)`` uint8 array, so training never decodes PNGs.

``<root>/cache/CLEVR_<split>_<W>x<H>.npy`` holds the images in ascending ``image_index`` order, resized
to W×H; ``.json`` beside it lists those indices, and ``.source`` a digest of the PNG files it was made
from (name, size and modification time of each). A cache is rebuilt when it is missing, unreadable or
made from other files (a deleted, replaced or damaged PNG changes the digest); a read-only folder is
decoded without caching.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from relnet.data.files import files_fingerprint
from relnet.errors import DataFormatError
from relnet.tasks.clevr.format import image_filename, image_path, scenes_path


def cache_path(root: Path, split: str, width: int, height: int) -> Path:
    return Path(root) / "cache" / f"CLEVR_{split}_{width}x{height}.npy"


def image_indices(root: Path, split: str, scene_indices: list[int] | None) -> list[int]:
    """The split's image indices: its scenes' when known, else those of the PNG files (the real test split).

    Raises :class:`DataFormatError` for a PNG whose name is not ``CLEVR_<split>_NNNNNN.png``, a scene
    without its image, or an image without its scene.
    """
    folder = Path(root) / "images" / split
    if not folder.is_dir():
        raise DataFormatError(folder, "missing image folder")
    pattern = re.compile(rf"CLEVR_{re.escape(split)}_(\d{{6}})\.png")
    on_disk: list[int] = []
    for path in folder.iterdir():
        if path.suffix.lower() != ".png":
            continue
        match = pattern.fullmatch(path.name)
        if not match:
            raise DataFormatError(path, f"image name does not follow CLEVR_{split}_NNNNNN.png")
        on_disk.append(int(match.group(1)))
    if scene_indices is None:
        return sorted(on_disk)
    missing = sorted(set(scene_indices) - set(on_disk))
    if missing:
        raise DataFormatError(
            scenes_path(root, split),
            f"no image file {image_filename(split, missing[0])} in {folder} "
            f"({len(missing)} scene(s) without their image)",
            record=f"image_index {missing[0]}",
        )
    extra = sorted(set(on_disk) - set(scene_indices))
    if extra:
        raise DataFormatError(
            folder / image_filename(split, extra[0]),
            f"image index {extra[0]} has no scene in {scenes_path(root, split).name} ({len(extra)} such image(s))",
        )
    return sorted(scene_indices)


def decode(path: Path, width: int, height: int) -> np.ndarray:
    """One PNG as ``(height, width, 3)`` uint8, resized (box filter) when its size differs."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BOX)
            return np.asarray(image)
    except FileNotFoundError:
        raise DataFormatError(path, "missing image file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:  # PIL's kinds of bad file
        raise DataFormatError(path, f"not a readable image ({error})") from None


def check_image(path: Path) -> tuple[int, int]:
    """Decode one PNG completely (a truncated or damaged file fails); returns its ``(width, height)``."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.size
    except FileNotFoundError:
        raise DataFormatError(path, "missing image file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise DataFormatError(path, f"not a readable image ({error})") from None


def source_key(root: Path, split: str, indices: list[int]) -> str | None:
    """A digest of the PNG files a cache of ``indices`` is made from (name, size, modification time of
    each); None when one cannot be read."""
    return files_fingerprint(split, ((str(index), image_path(root, split, index)) for index in indices))


def write_cache(root: Path, split: str, indices: list[int], images: np.ndarray) -> Path | None:
    """Store ``images`` (one per index, ascending, decoded from the split's PNG files as they are now) as
    the split's cache; ``None`` if the folder is read-only."""
    height, width = images.shape[1:3]
    path = cache_path(root, split, width, height)
    key = source_key(root, split, indices)
    if key is None:
        return None
    try:
        path.parent.mkdir(exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(temporary, images)
        temporary.replace(path)
        path.with_suffix(".json").write_text(json.dumps({"split": split, "indices": indices}))
        # Apart from the .json, which is the same for the same data wherever and whenever it was made.
        path.with_suffix(".source").write_text(key)
    except OSError:
        return None
    return path


def _read_cache(path: Path, indices: list[int], key: str | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached images at ``path`` if its sidecars record ``indices`` and ``key`` and the array is
    readable with ``shape``; otherwise None (the cache is then rebuilt)."""
    if key is None:
        return None
    try:
        recorded = json.loads(path.with_suffix(".json").read_text())
        if recorded.get("indices") != indices or path.with_suffix(".source").read_text() != key:
            return None
        # Copy-on-write mapping: pages are read on demand and shared between processes (DDP ranks),
        # and the array is writable, which torch.from_numpy wants.
        images = np.load(path, mmap_mode="c")
    except (OSError, ValueError, EOFError, AttributeError):  # missing, damaged or foreign files
        return None
    return images if images.shape == shape and images.dtype == np.uint8 else None


def load_images(
    root: Path,
    split: str,
    width: int,
    height: int,
    scene_indices: list[int] | None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[int], np.ndarray]:
    """``(indices, images)`` of a split at ``width × height``, from the cache when it is current."""
    root = Path(root)
    indices = image_indices(root, split, scene_indices)
    path = cache_path(root, split, width, height)
    cached = _read_cache(path, indices, source_key(root, split, indices), (len(indices), height, width, 3))
    if cached is not None:
        return indices, cached
    images = np.empty((len(indices), height, width, 3), dtype=np.uint8)
    for row, index in enumerate(indices):
        images[row] = decode(image_path(root, split, index), width, height)
        if progress is not None:
            progress(row + 1, len(indices))
    write_cache(root, split, indices, images)
    return indices, images
