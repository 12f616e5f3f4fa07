"""Mass-spring dynamics (RN paper §5.5): the on-disk format, its reader and writer, and the seeded generator.

Format: per split, two files side by side.

- ``<split>.npz`` (numpy's zip of ``.npy`` arrays):
    - ``positions`` float32 ``(N, 16, 10, 2)``: every ball's ``(x, y)`` in the box ``[0, 1]²`` (``y``
      up) at each of the 16 frames, ``frame_interval`` apart (frame 0 is the start);
    - ``frames`` uint8 ``(N, 16, S, S, 3)``, optional: the frames drawn as RGB pictures (balls as
      discs in their colours on black, :func:`~relnet.tasks.dynamics.simulator.render_frames`).
- ``<split>.json``: what the positions do not show::

    {"format": "relnet-dynamics", "version": 1, "split": "train", "balls": 10, "frames": 16,
     "radius": 0.05, "colours": ["red", "green", ...], "physics": {...}, "scenes": [
        {"scene": 0,
         "connections": [{"balls": [2, 7], "kind": "spring", "rest_length": 0.2138},
                         {"balls": [7, 4], "kind": "rod", "rest_length": 0.1877}],
         "systems": [[2, 4, 7]]},
        ...]}

  Ball ``k`` has colour ``colours[k]``. A *system* is a set of balls linked by connections (a connected
  component with at least one connection); ``systems`` lists each one's balls, sorted. The reader
  re-derives the systems from the connections and rejects a scene where they differ.

Every problem is a one-line :class:`~relnet.errors.DataFormatError` naming the file and the scene.
The generator writes byte-identical files for the same seed and options (the zip entries carry a fixed
date, not the time of writing).
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relnet.errors import DataFormatError, RelnetError, shorten
from relnet.tasks.dynamics.simulator import (
    BALLS,
    FRAMES,
    KIND_NAMES,
    PALETTE,
    RADIUS,
    ROD,
    SPRING,
    Physics,
    Scenes,
    initial_state,
    render_frames,
    sample_scenes,
    simulate,
)

FORMAT, VERSION = "relnet-dynamics", 1
SPLITS = ("train", "val", "test")
KINDS = {name: kind for kind, name in KIND_NAMES.items()}
#: How far outside the box a stored position may be (balls touching a wall reach slightly into it).
BOX_SLACK = RADIUS
CHUNK = 2_000  # scenes simulated at once


@dataclass(frozen=True)
class DynamicsOptions:
    """Sizes, connections and pictures of a generated dataset: the flags of ``relnet generate dynamics``."""

    train_size: int = field(default=20_000, metadata={"help": "training scenes"})
    val_size: int = field(default=2_000, metadata={"help": "validation scenes"})
    test_size: int = field(default=2_000, metadata={"help": "test scenes"})
    max_systems: int = field(default=4, metadata={"help": "systems per scene: uniform in 0..this (at most 5)"})
    max_system_size: int = field(default=3, metadata={"help": "balls per system: 2..this"})
    rod_fraction: float = field(default=0.5, metadata={"help": "share of the connections that are rigid rods"})
    collisions: bool = field(default=True, metadata={"help": "balls bounce off each other"})
    damping: float = field(default=0.0, metadata={"help": "velocity damping per time unit (0: none)"})
    frame_size: int = field(default=32, metadata={"help": "also draw every frame as an SxS picture (0: none)"})

    def __post_init__(self) -> None:
        checks = {
            "every split needs at least one scene (--train-size, --val-size, --test-size)": min(
                self.train_size, self.val_size, self.test_size
            )
            >= 1,
            f"--max-systems must be in 0..{BALLS // 2}, not {self.max_systems}": 0 <= self.max_systems <= BALLS // 2,
            f"--max-system-size must be in 2..{BALLS}, not {self.max_system_size}": 2 <= self.max_system_size <= BALLS,
            f"--rod-fraction must be in [0, 1], not {self.rod_fraction}": 0 <= self.rod_fraction <= 1,
            f"--damping must be at least 0, not {self.damping}": self.damping >= 0,
            f"--frame-size must be 0 or in 8..128, not {self.frame_size}": self.frame_size == 0
            or 8 <= self.frame_size <= 128,
        }
        problems = [message for message, ok in checks.items() if not ok]
        if problems:
            raise RelnetError("; ".join(problems))

    def sizes(self) -> dict[str, int]:
        return {"train": self.train_size, "val": self.val_size, "test": self.test_size}

    def physics(self) -> Physics:
        return Physics(damping=self.damping, collisions=self.collisions)


@dataclass(frozen=True)
class DynamicsSplit:
    """One split as arrays (``N`` scenes).

    ``positions`` float32 ``(N, 16, 10, 2)``; ``kinds`` int8 ``(N, 10, 10)``, the connection between two
    balls (0 none, 1 spring, 2 rod; symmetric); ``rest`` float32 ``(N, 10, 10)`` connections' lengths;
    ``systems`` ``(N,)`` int64, each scene's number of systems; ``frames`` uint8 ``(N, 16, S, S, 3)`` or
    None; ``header``: the JSON's fields but ``scenes``.
    """

    positions: np.ndarray
    kinds: np.ndarray
    rest: np.ndarray
    systems: np.ndarray
    frames: np.ndarray | None
    header: dict[str, Any]

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def connections(self) -> np.ndarray:
        """``(N, 10, 10)`` bool: which pairs of balls are connected (either kind)."""
        return self.kinds > 0


# ---------------------------------------------------------------------------- systems
def component_labels(adjacency: torch.Tensor) -> torch.Tensor:
    """Connected components: ``(B, n, n)`` bool adjacency (any direction counts) → ``(B, n)`` long, each
    ball labelled with the smallest ball of its component (itself when it has no connection)."""
    linked = adjacency | adjacency.transpose(1, 2)
    count = linked.shape[-1]
    labels = torch.arange(count, device=adjacency.device).expand(linked.shape[0], -1).clone()
    for _ in range(count):  # a label crosses one connection per round
        candidates = torch.where(linked, labels[:, None, :], count).amin(dim=2)
        updated = torch.minimum(labels, candidates)
        if torch.equal(updated, labels):
            break
        labels = updated
    return labels


def count_systems(adjacency: torch.Tensor) -> torch.Tensor:
    """The number of systems (components with a connection): ``(B, n, n)`` bool → ``(B,)`` long.

    Self-connections (the diagonal) are ignored.
    """
    count = adjacency.shape[-1]
    eye = torch.eye(count, dtype=torch.bool, device=adjacency.device)
    adjacency = adjacency & ~eye
    linked = (adjacency | adjacency.transpose(1, 2)).any(dim=2)
    labels = component_labels(adjacency)
    return ((labels == torch.arange(count, device=adjacency.device)) & linked).sum(dim=1)


# ---------------------------------------------------------------------------- generation
def simulate_split(
    count: int, rng: np.random.Generator, options: DynamicsOptions
) -> tuple[Scenes, np.ndarray, np.ndarray | None]:
    """``count`` scenes: their connections, positions ``(N, 16, 10, 2)`` float32 and frames (or None)."""
    physics = options.physics()
    scenes = sample_scenes(
        count,
        rng,
        max_systems=options.max_systems,
        max_system_size=options.max_system_size,
        rod_fraction=options.rod_fraction,
        physics=physics,
    )
    scenes, positions, velocities = initial_state(scenes, rng, physics)
    trajectory, _ = simulate(scenes, positions, velocities, physics)
    positions = trajectory.astype(np.float32)
    frames = render_frames(positions, options.frame_size) if options.frame_size else None
    return scenes, positions, frames


def generate(out: Path, *, seed: int, options: DynamicsOptions) -> dict[str, Any]:
    """Write ``<split>.npz`` and ``<split>.json`` for train, val and test under ``out``; returns
    ``{split: scenes}``. Each split has its own random stream (seeded with ``[seed, split index]``);
    scenes are simulated :data:`CHUNK` at a time (bounding memory), each chunk drawing from that stream
    in turn, so the chunk size is part of what a seed gives and stays fixed."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = options.sizes()
    for index, split in enumerate(SPLITS):
        rng = np.random.default_rng([seed, index])
        parts = [
            simulate_split(min(CHUNK, sizes[split] - start), rng, options) for start in range(0, sizes[split], CHUNK)
        ]
        scenes = [scene for part in parts for scene in scene_records(part[0])]
        positions = np.concatenate([part[1] for part in parts])
        frames = np.concatenate([part[2] for part in parts]) if options.frame_size else None
        write_split(out, split, positions=positions, scenes=scenes, frames=frames, physics=options.physics())
    return sizes


def scene_records(scenes: Scenes) -> list[dict[str, Any]]:
    """The JSON records of the scenes' connections and systems (``scene`` numbers filled in on writing)."""
    records = []
    for index in range(len(scenes)):
        connections = [
            {
                "balls": [int(a), int(b)],
                "kind": KIND_NAMES[int(kind)],
                "rest_length": round(float(length), 6),
            }
            for (a, b), kind, length in zip(scenes.edges[index], scenes.kinds[index], scenes.rest[index], strict=True)
            if kind
        ]
        records.append({"connections": connections, "systems": scenes.systems[index]})
    return records


# ---------------------------------------------------------------------------- writing
def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A ``.npz`` numpy reads, with fixed entry dates so that the same arrays give the same bytes."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, buffer.getvalue(), compresslevel=1)
    temporary.replace(path)


def write_split(
    root: Path,
    split: str,
    *,
    positions: np.ndarray,
    scenes: list[dict[str, Any]],
    frames: np.ndarray | None = None,
    physics: Physics | None = None,
) -> tuple[Path, Path]:
    """Write ``root/<split>.npz`` and ``root/<split>.json``; ``scenes``: one record per scene (its
    ``connections`` and ``systems``, as in the module docstring). Returns both paths."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {"positions": positions.astype(np.float32)}
    if frames is not None:
        arrays["frames"] = frames.astype(np.uint8)
    npz, meta = root / f"{split}.npz", root / f"{split}.json"
    _write_npz(npz, arrays)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "split": split,
        "balls": BALLS,
        "frames": FRAMES,
        "radius": RADIUS,
        "colours": [name for name, _ in PALETTE],
        "physics": asdict(physics or Physics()),
    }
    body = [{"scene": index, **record} for index, record in enumerate(scenes)]
    # One scene per line: readable, and diffable.
    lines = ",\n".join("  " + json.dumps(record, separators=(", ", ": ")) for record in body)
    text = json.dumps(header)[:-1] + ', "scenes": [\n' + lines + "\n]}\n"
    temporary = meta.with_name(f".{meta.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(meta)
    return npz, meta


# ---------------------------------------------------------------------------- reading
def split_paths(root: Path, split: str) -> tuple[Path, Path]:
    """The ``.npz`` and ``.json`` of ``split`` in a dataset folder (or beside ``root`` when it names one
    of the two files)."""
    root = Path(root)
    if root.suffix in (".npz", ".json"):
        return root.with_suffix(".npz"), root.with_suffix(".json")
    if split not in SPLITS:
        raise RelnetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return root / f"{split}.npz", root / f"{split}.json"


def read_split(root: Path, split: str) -> DynamicsSplit:
    """Read and validate one split; a :class:`DataFormatError` names the file and scene of the first problem."""
    npz, meta = split_paths(root, split)
    for path in (npz, meta):
        if not path.is_file():
            raise DataFormatError(path, f"missing: no dynamics {split!r} split here")
    positions, frames = _read_arrays(npz)
    header, records = _read_header(meta)
    if len(records) != len(positions):
        raise DataFormatError(meta, f"{len(records)} scenes, but {npz.name} holds {len(positions)}")
    kinds, rest, stored = _read_connections(meta, records)
    _check_systems(meta, kinds, stored)
    systems = count_systems(torch.from_numpy(kinds > 0)).numpy()
    return DynamicsSplit(positions=positions, kinds=kinds, rest=rest, systems=systems, frames=frames, header=header)


def _read_arrays(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """``positions`` and ``frames`` (or None) from a split's ``.npz``, shapes, types and values checked."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataFormatError(path, f"not a readable .npz file ({shorten(str(error))})") from None
    if "positions" not in arrays:
        raise DataFormatError(path, f"no 'positions' array (found {sorted(arrays) or 'none'})")
    positions = arrays["positions"]
    if positions.ndim != 4 or positions.shape[1:] != (FRAMES, BALLS, 2) or positions.dtype.kind != "f":
        raise DataFormatError(
            path,
            f"'positions' must be floats of shape (scenes, {FRAMES}, {BALLS}, 2), "
            f"found {positions.dtype} {tuple(positions.shape)}",
        )
    finite = np.isfinite(positions).reshape(len(positions), -1).all(axis=1)
    if not finite.all():
        raise DataFormatError(path, "a position is NaN or infinite", record=f"scene {int(np.argmin(finite))}")
    outside = ((positions < -BOX_SLACK) | (positions > 1 + BOX_SLACK)).reshape(len(positions), -1).any(axis=1)
    if outside.any():
        raise DataFormatError(path, "a ball is outside the box [0, 1]²", record=f"scene {int(np.argmax(outside))}")
    frames = arrays.get("frames")
    if frames is not None:
        shape = tuple(frames.shape)
        square = frames.ndim == 5 and shape[2] == shape[3] and shape[4] == 3
        if frames.dtype != np.uint8 or not square or shape[:2] != (len(positions), FRAMES):
            raise DataFormatError(
                path,
                f"'frames' must be uint8 of shape ({len(positions)}, {FRAMES}, S, S, 3), found {frames.dtype} {shape}",
            )
    return positions.astype(np.float32, copy=False), frames


def _read_header(path: Path) -> tuple[dict[str, Any], list[Any]]:
    """The JSON's header fields (checked) and its list of scene records (not yet checked)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(path, f"not valid JSON ({shorten(str(error))})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataFormatError(path, f'not a dynamics split (expected an object with "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise DataFormatError(path, f"format version {shorten(document.get('version'))}; this reader knows {VERSION}")
    for name, expected in (("balls", BALLS), ("frames", FRAMES)):
        if document.get(name) != expected:
            raise DataFormatError(path, f'"{name}" must be {expected}, not {shorten(document.get(name))}')
    records = document.pop("scenes", None)
    if not isinstance(records, list):
        raise DataFormatError(path, '"scenes" must be a list of scene records')
    return document, records


def _read_connections(path: Path, records: list[Any]) -> tuple[np.ndarray, np.ndarray, list[list[list[int]]]]:
    """Every scene's connections as ``kinds`` and ``rest`` ``(N, 10, 10)`` matrices, and its stored systems."""
    count = len(records)
    kinds = np.zeros((count, BALLS, BALLS), dtype=np.int8)
    rest = np.zeros((count, BALLS, BALLS), dtype=np.float32)
    systems: list[list[list[int]]] = []

    def is_ball(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < BALLS

    for index, record in enumerate(records):
        where = f"scene {index}"
        if not isinstance(record, dict) or record.get("scene") != index:
            raise DataFormatError(path, f'expected a record with "scene": {index}', record=where)
        connections, groups = record.get("connections"), record.get("systems")
        if not isinstance(connections, list) or not isinstance(groups, list):
            raise DataFormatError(path, '"connections" and "systems" must be lists', record=where)
        for connection in connections:
            balls = connection.get("balls") if isinstance(connection, dict) else None
            if not (isinstance(balls, list) and len(balls) == 2):
                raise DataFormatError(path, f"a connection needs two balls, not {shorten(connection)}", record=where)
            if not all(is_ball(ball) for ball in balls):
                problem = f"a connection joins {shorten(balls)}, but the balls are numbered 0-{BALLS - 1}"
                raise DataFormatError(path, problem, record=where)
            a, b = balls
            if a == b:
                raise DataFormatError(path, f"a connection joins ball {a} to itself", record=where)
            if kinds[index, a, b]:
                raise DataFormatError(path, f"balls {a} and {b} are connected twice", record=where)
            kind, length = connection.get("kind"), connection.get("rest_length")
            if kind not in KINDS:
                raise DataFormatError(path, f"a connection's kind is spring or rod, not {shorten(kind)}", record=where)
            if not isinstance(length, (int, float)) or isinstance(length, bool) or not 0 < length < math.inf:
                raise DataFormatError(
                    path, f"rest_length must be a positive number, not {shorten(length)}", record=where
                )
            kinds[index, a, b] = kinds[index, b, a] = KINDS[kind]
            rest[index, a, b] = rest[index, b, a] = length
        if not all(isinstance(group, list) and all(is_ball(ball) for ball in group) for group in groups):
            problem = f'"systems" must be lists of balls numbered 0-{BALLS - 1}, not {shorten(groups)}'
            raise DataFormatError(path, problem, record=where)
        systems.append(groups)
    return kinds, rest, systems


def _check_systems(path: Path, kinds: np.ndarray, stored: list[list[list[int]]]) -> None:
    """The stored systems must be exactly the components the connections make."""
    labels = component_labels(torch.from_numpy(kinds > 0)).numpy()
    linked = (kinds > 0).any(axis=2)
    for index, groups in enumerate(stored):
        derived = {tuple(np.flatnonzero((labels[index] == label) & linked[index])) for label in set(labels[index])}
        derived.discard(())
        found = {tuple(sorted(group)) for group in groups}
        if derived != found or sum(len(group) for group in groups) != sum(len(group) for group in found):
            expected = sorted(list(map(int, group)) for group in derived)
            problem = f"the connections make {len(derived)} systems {expected}, the file lists {shorten(groups)}"
            raise DataFormatError(path, problem, record=f"scene {index}")


def split_stats(split: DynamicsSplit) -> dict[str, Any]:
    """Scenes, connections by kind, the distribution of system counts and two trivial baselines."""
    counts = np.bincount(split.systems, minlength=BALLS // 2 + 1)
    upper = np.triu(split.kinds, k=1)
    return {
        "scenes": len(split),
        "springs": int((upper == SPRING).sum()),
        "rods": int((upper == ROD).sum()),
        "systems": {str(k): int(v) for k, v in enumerate(counts)},
        "systems_recomputed": True,
        "frames": None if split.frames is None else list(split.frames.shape[2:4]),
        # What a model that ignores the motion gets: "no connection anywhere" and the commonest count.
        "chance_connections": float((split.systems == 0).mean()),
        "chance_systems": float(counts.max() / len(split)),
    }
