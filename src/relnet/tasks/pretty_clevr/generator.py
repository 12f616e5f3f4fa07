"""Pretty-CLEVR (RRN paper, Fig. 2): the on-disk format, its reader and writer, and the seeded generator.

A scene holds 8 objects in the unit square, placed one after another, each drawn uniformly until its
centre is more than ``0.1`` from every centre placed before it. Object ``k`` carries marker ``k`` (``o v ^
< > s P X``, the authors' order) and the colours are a random permutation, so a colour or a marker names
one object. A question is an anchor and a number of jumps ``n`` (0-7): start at the object the anchor
names, jump ``n`` times to the closest object not yet visited, and answer the marker of the object
reached when the anchor is a colour, its colour when the anchor is a marker. Every scene has 8 start
objects × 8 jump counts × 2 anchor kinds = 128 questions.

Format: the files of the authors' generator, ``tasks/diagnostics/pretty/data.py`` of the RRN repository
(branch ``diagnostics``), one folder per split, ``train``, ``dev`` and ``test``::

    <split>/images/00000.png     the scene drawn at 128 × 128 (axes [-0.1, 1.1], y up)
    <split>/states/00000.json    [{"p": [x, y], "c": "blue", "m": "o"}, ...]   its 8 objects
    <split>/questions.csv        00000.png, 00000.json, blue, 3, s   one line per question, no header
    <split>/dict.json            {"blue": 0, ..., "gray": 7, "o": 8, ..., "X": 15}

The ``png`` and ``json`` columns name files in ``images/`` and ``states/`` (paths relative to the split
folder, ``states/00000.json``, are read too), ``anchor`` and ``target`` are colour names or marker symbols
(or their ``dict.json`` numbers), ``n_jumps`` an integer. A first line ``png,json,anchor,n_jumps,target``
(older relnet files) is skipped. The reader re-derives every target from its state file and rejects a
line where they disagree. Images are optional (``--no-render``): the state models never read them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from relnet.errors import DataFormatError, RelnetError

OBJECTS = 8
JUMPS = OBJECTS  # 0..7 jumps
COLOURS = ("blue", "green", "red", "cyan", "magenta", "yellow", "black", "gray")
MARKERS = ("o", "v", "^", "<", ">", "s", "P", "X")
#: The answer classes: 8 colours then 8 markers (the authors' ``dict.json``).
NAMES = COLOURS + MARKERS
CLASSES = len(NAMES)
DICTIONARY = {name: index for index, name in enumerate(NAMES)}
HEADER = "png,json,anchor,n_jumps,target"
SPLIT_FOLDERS = {"train": "train", "val": "dev", "test": "test"}
IMAGE_SIZE = 128
#: The drawn area: the authors' matplotlib axes run from -0.1 to 1.1 on both axes.
AXIS_LOW, AXIS_HIGH = -0.1, 1.1
RGB = {
    "blue": (0, 0, 255),
    "green": (0, 128, 0),
    "red": (255, 0, 0),
    "cyan": (0, 191, 191),
    "magenta": (191, 0, 191),
    "yellow": (191, 191, 0),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
}


@dataclass(frozen=True)
class PrettyOptions:
    """The flags of ``relnet generate pretty-clevr``; the defaults are the paper's sizes."""

    train_scenes: int = field(default=100_000, metadata={"help": "training scenes, 128 questions each (paper 100,000)"})
    val_scenes: int = field(default=1_000, metadata={"help": "validation (dev) scenes (paper 1,000)"})
    test_scenes: int = field(default=1_000, metadata={"help": "test scenes (paper 1,000)"})
    min_distance: float = field(default=0.1, metadata={"help": "smallest distance between two centres (paper 0.1)"})
    render: bool = field(default=True, metadata={"help": "draw images/NNNNN.png (the state models do not need them)"})

    def __post_init__(self) -> None:
        if min(self.train_scenes, self.val_scenes, self.test_scenes) < 1:
            raise RelnetError("every split needs at least one scene (--train-scenes, --val-scenes, --test-scenes)")
        if max(self.train_scenes, self.val_scenes, self.test_scenes) > 100_000:
            raise RelnetError("at most 100,000 scenes a split: files are numbered with 5 digits, 00000-99999")
        if not 0 <= self.min_distance <= 0.25:
            raise RelnetError(f"--min-distance must be in 0..0.25 (8 objects must fit), not {self.min_distance}")

    def sizes(self) -> dict[str, int]:
        return {"train": self.train_scenes, "val": self.val_scenes, "test": self.test_scenes}


@dataclass(frozen=True)
class Scenes:
    """``S`` scenes: ``positions`` ``(S, 8, 2)`` float, ``colours`` and ``markers`` ``(S, 8)`` indices
    into :data:`COLOURS` and :data:`MARKERS` (each a permutation of 0..7)."""

    positions: np.ndarray
    colours: np.ndarray
    markers: np.ndarray

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True)
class Questions:
    """``Q`` questions: ``scene``, ``anchor`` and ``answer`` (class indices into :data:`NAMES`) and
    ``jumps``, all ``(Q,)``; ``lines`` the file line of each (1-based; 0 when not read from a file)."""

    scene: np.ndarray
    anchor: np.ndarray
    jumps: np.ndarray
    answer: np.ndarray
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.scene)


@dataclass(frozen=True)
class Split:
    """One split folder: its scenes (in the order of their state files), questions and file names."""

    path: Path
    scenes: Scenes
    questions: Questions
    states: list[str]  # the state file of each scene, relative to ``path``
    images: list[str]  # the image file of each scene, relative to ``path``


# ---------------------------------------------------------------------------- the jumps
def greedy_paths(positions: np.ndarray) -> np.ndarray:
    """The greedy nearest-unvisited walk from every object: ``(S, 8, 2)`` → ``(S, 8, 8)`` where
    ``[s, a, k]`` is the object reached after ``k`` jumps from object ``a`` (``[s, a, 0] = a``)."""
    scenes, count = positions.shape[:2]
    distance = np.linalg.norm(positions[:, :, None] - positions[:, None], axis=-1)  # (S, 8, 8)
    rows = np.arange(scenes)[:, None]
    starts = np.broadcast_to(np.arange(count), (scenes, count))
    paths = np.empty((scenes, count, count), dtype=np.int64)
    paths[:, :, 0] = starts
    visited = np.zeros((scenes, count, count), dtype=bool)  # [s, a, o]: o visited on the walk from a
    current = starts.copy()
    for jump in range(1, count):
        visited[rows, np.arange(count), current] = True
        options = np.where(visited, np.inf, distance[rows, current])  # (S, 8 walks, 8 objects)
        current = options.argmin(axis=-1)
        paths[:, :, jump] = current
    return paths


def scene_questions(scenes: Scenes) -> Questions:
    """All 128 questions of every scene, in the authors' order: start object, then jumps, then anchor
    kind (colour, then marker)."""
    paths = greedy_paths(scenes.positions)  # (S, 8, 8)
    count = len(scenes)
    rows = np.arange(count)[:, None, None]
    ends = paths  # (S, start, jumps)
    start = np.broadcast_to(np.arange(OBJECTS)[None, :, None], ends.shape)
    colour_anchor = scenes.colours[rows, start]  # anchor = the start's colour: answer the end's marker
    marker_anchor = scenes.markers[rows, start] + len(COLOURS)
    colour_answer = scenes.colours[rows, ends]
    marker_answer = scenes.markers[rows, ends] + len(COLOURS)
    anchor = np.stack([colour_anchor, marker_anchor], axis=3)  # (S, start, jumps, kind)
    answer = np.stack([marker_answer, colour_answer], axis=3)
    jumps = np.broadcast_to(np.arange(JUMPS)[None, None, :, None], anchor.shape)
    scene = np.broadcast_to(np.arange(count)[:, None, None, None], anchor.shape)
    return Questions(
        scene=scene.reshape(-1).copy(),
        anchor=anchor.reshape(-1),
        jumps=jumps.reshape(-1).copy(),
        answer=answer.reshape(-1),
        lines=np.zeros(anchor.size, dtype=np.int64),
    )


def derive_answers(scenes: Scenes, questions: Questions) -> np.ndarray:
    """The answer of every question ``(Q,)`` re-derived from its scene (anchor, jumps, greedy walk)."""
    paths = greedy_paths(scenes.positions)
    is_colour = questions.anchor < len(COLOURS)
    attribute = np.where(is_colour[:, None], scenes.colours[questions.scene], scenes.markers[questions.scene])
    anchor_value = np.where(is_colour, questions.anchor, questions.anchor - len(COLOURS))
    start = np.argmax(attribute == anchor_value[:, None], axis=1)  # each value names one object
    end = paths[questions.scene, start, questions.jumps]
    return np.where(
        is_colour, scenes.markers[questions.scene, end] + len(COLOURS), scenes.colours[questions.scene, end]
    )


# ---------------------------------------------------------------------------- generation
def sample_scenes(count: int, rng: np.random.Generator, min_distance: float = 0.1) -> Scenes:
    """``count`` scenes as the authors draw them: object ``k`` is redrawn uniformly until it is more than
    ``min_distance`` from objects ``0..k-1``; object ``k`` has marker ``k``; colours are a random
    permutation. (Object order carries the marker, which the MLP baseline, reading objects in order,
    can use; the RN and the RRN are blind to order.)"""
    positions = np.empty((count, OBJECTS, 2))
    for k in range(OBJECTS):
        waiting = np.arange(count)
        while len(waiting):  # every scene still without object k draws a candidate; the far ones keep it
            candidate = rng.random((len(waiting), 2))
            gap = np.linalg.norm(positions[waiting, :k] - candidate[:, None], axis=-1).min(axis=1, initial=np.inf)
            kept = gap > min_distance
            positions[waiting[kept], k] = candidate[kept]
            waiting = waiting[~kept]
    colours = np.argsort(rng.random((count, OBJECTS)), axis=1)
    markers = np.broadcast_to(np.arange(OBJECTS), (count, OBJECTS)).copy()
    return Scenes(positions=positions, colours=colours, markers=markers)


def generate(out: Path, *, seed: int, options: PrettyOptions) -> dict[str, Any]:
    """Write the ``train``, ``dev`` and ``test`` folders under ``out``; returns ``{split: questions}``."""
    out = Path(out)
    summary: dict[str, Any] = {}
    for index, (split, size) in enumerate(options.sizes().items()):
        # One stream per split, so changing one split's size leaves the other splits unchanged.
        rng = np.random.default_rng([seed, index])
        scenes = sample_scenes(size, rng, options.min_distance)
        write_split(out / SPLIT_FOLDERS[split], scenes, render=options.render)
        summary[split] = size * OBJECTS * 2 * JUMPS
    return summary


# ---------------------------------------------------------------------------- drawing
def _marker_outline(marker: str, radius: float) -> list[tuple[float, float]] | None:
    """The polygon of a marker around (0, 0), y up, ``radius`` in pixels; None for the circle."""
    r = radius
    if marker == "o":
        return None
    if marker in "v^<>":
        turn = {"^": 0.0, "<": 90.0, "v": 180.0, ">": 270.0}[marker]
        corners = [(0.0, r), (-r, -r), (r, -r)]  # pointing up, then turned counter-clockwise
    elif marker == "s":
        corners, turn = [(-0.8 * r, -0.8 * r), (0.8 * r, -0.8 * r), (0.8 * r, 0.8 * r), (-0.8 * r, 0.8 * r)], 0.0
    else:  # "P" a filled plus, "X" the same turned by 45 degrees
        a, b = r / 3, r
        corners = [(a, b), (a, a), (b, a), (b, -a), (a, -a), (a, -b), (-a, -b), (-a, -a), (-b, -a), (-b, a)]
        corners += [(-a, a), (-a, b)]
        turn = 45.0 if marker == "X" else 0.0
    cos, sin = math.cos(math.radians(turn)), math.sin(math.radians(turn))
    return [(x * cos - y * sin, x * sin + y * cos) for x, y in corners]


def render_scene(positions: np.ndarray, colours: np.ndarray, markers: np.ndarray, size: int = IMAGE_SIZE) -> Any:
    """One scene ``(8, 2)`` positions and ``(8,)`` colour/marker indices → a ``size × size`` RGB PIL
    image: white background, axes [-0.1, 1.1] with y up, markers about 9 px across at 128 px, drawn
    at 4× and reduced (anti-aliased)."""
    from PIL import Image, ImageDraw  # only the generator draws

    scale = 4
    canvas = Image.new("RGB", (size * scale, size * scale), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    pixels = size * scale / (AXIS_HIGH - AXIS_LOW)
    radius = 4.5 * scale * size / IMAGE_SIZE
    for (x, y), colour, marker in zip(positions.tolist(), colours.tolist(), markers.tolist(), strict=True):
        cx, cy = (x - AXIS_LOW) * pixels, (AXIS_HIGH - y) * pixels
        fill = RGB[COLOURS[colour]]
        outline = _marker_outline(MARKERS[marker], radius)
        if outline is None:
            draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=fill)
        else:
            draw.polygon([(cx + px, cy - py) for px, py in outline], fill=fill)
    return canvas.resize((size, size), Image.Resampling.BOX)


# ---------------------------------------------------------------------------- writing
def write_split(folder: Path, scenes: Scenes, *, render: bool = True) -> Path:
    """Write one split folder (states, questions.csv, dict.json, and images when ``render``)."""
    folder = Path(folder)
    (folder / "states").mkdir(parents=True, exist_ok=True)
    if render:
        (folder / "images").mkdir(exist_ok=True)
    states, images = [], []
    for index in range(len(scenes)):
        state, image = f"states/{index:05d}.json", f"images/{index:05d}.png"
        objects = [
            {"p": [float(x), float(y)], "c": COLOURS[c], "m": MARKERS[m]}  # exact: JSON keeps every bit
            for (x, y), c, m in zip(scenes.positions[index], scenes.colours[index], scenes.markers[index], strict=True)
        ]
        (folder / state).write_text(json.dumps(objects))
        if render:
            render_scene(scenes.positions[index], scenes.colours[index], scenes.markers[index]).save(folder / image)
        states.append(state)
        images.append(image)
    write_questions(folder / "questions.csv", scene_questions(scenes), states, images)
    (folder / "dict.json").write_text(json.dumps(DICTIONARY, indent=1) + "\n")
    return folder


def write_questions(path: Path, questions: Questions, states: list[str], images: list[str]) -> Path:
    """``questions.csv`` as the authors write it: ``00000.png, 00000.json, anchor, n_jumps, target`` per
    question, file names without their folders, no header."""
    states, images = [Path(name).name for name in states], [Path(name).name for name in images]
    rows = [
        f"{images[s]}, {states[s]}, {NAMES[a]}, {j}, {NAMES[t]}"
        for s, a, j, t in zip(
            questions.scene.tolist(),
            questions.anchor.tolist(),
            questions.jumps.tolist(),
            questions.answer.tolist(),
            strict=True,
        )
    ]
    Path(path).write_text("\n".join(rows) + "\n")
    return Path(path)


# ---------------------------------------------------------------------------- reading
def split_folder(root: Path, split: str) -> Path:
    """The folder of ``split`` in a dataset (``val`` is the authors' ``dev``), or ``root`` itself
    when it is one split's folder (holds ``questions.csv``)."""
    root = Path(root)
    if (root / "questions.csv").is_file():
        return root
    if split not in SPLIT_FOLDERS:
        raise RelnetError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_FOLDERS)}")
    for name in dict.fromkeys([SPLIT_FOLDERS[split], split]):
        if (root / name / "questions.csv").is_file():
            return root / name
    expected = root / SPLIT_FOLDERS[split] / "questions.csv"
    raise DataFormatError(expected, f"missing: no Pretty-CLEVR {split!r} split here")


def read_dictionary(path: Path) -> dict[str, int]:
    """``dict.json``: the 16 colour and marker names, each mapped to a distinct class number 0-15."""
    try:
        mapping = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataFormatError(path, "missing: every split folder needs its dict.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(path, f"not a JSON file ({error})") from None
    if not isinstance(mapping, dict) or set(mapping) != set(NAMES):
        found = sorted(mapping) if isinstance(mapping, dict) else type(mapping).__name__
        raise DataFormatError(path, f"expected the 16 names {list(NAMES)} as keys, found {found}")
    numbers = list(mapping.values())
    if any(not isinstance(n, int) or isinstance(n, bool) for n in numbers) or sorted(numbers) != list(range(CLASSES)):
        raise DataFormatError(path, f"the names must map to the numbers 0-{CLASSES - 1}, each once")
    return mapping


def read_state(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One state file → positions ``(8, 2)``, colour and marker indices ``(8,)``."""
    try:
        objects = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataFormatError(path, "missing: a question refers to this state file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(path, f"not a JSON file ({error})") from None
    if not isinstance(objects, list) or len(objects) != OBJECTS:
        raise DataFormatError(path, f"expected a list of {OBJECTS} objects")
    positions = np.empty((OBJECTS, 2))
    colours, markers = np.empty(OBJECTS, dtype=np.int64), np.empty(OBJECTS, dtype=np.int64)
    for index, item in enumerate(objects):
        where = f"object {index}"
        if not isinstance(item, dict) or set(item) != {"p", "c", "m"}:
            raise DataFormatError(path, 'expected an object {"p": [x, y], "c": colour, "m": marker}', record=where)
        point = item["p"]
        if (
            not isinstance(point, list)
            or len(point) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in point)
        ):
            raise DataFormatError(path, f'"p" must be two finite numbers [x, y], not {point!r}', record=where)
        if item["c"] not in COLOURS:
            raise DataFormatError(path, f'"c" must be one of {", ".join(COLOURS)}, not {item["c"]!r}', record=where)
        if item["m"] not in MARKERS:
            raise DataFormatError(path, f'"m" must be one of {" ".join(MARKERS)}, not {item["m"]!r}', record=where)
        positions[index] = point
        colours[index], markers[index] = COLOURS.index(item["c"]), MARKERS.index(item["m"])
    for name, values, kinds in (("colour", colours, COLOURS), ("marker", markers, MARKERS)):
        if len(set(values.tolist())) != OBJECTS:
            twice = kinds[int(np.bincount(values, minlength=OBJECTS).argmax())]
            raise DataFormatError(path, f"each {name} must be used once; {twice!r} is used more than once")
    return positions, colours, markers


def read_split(folder: Path) -> Split:
    """Read and validate one split folder; a :class:`DataFormatError` names the file and the line (or
    object) of the first problem. Every target is re-derived from its state file."""
    folder = Path(folder)
    dictionary = read_dictionary(folder / "dict.json")
    # A name, or the number dict.json gives it, → relnet's class index (NAMES order).
    classes = {**DICTIONARY, **{str(number): DICTIONARY[name] for name, number in dictionary.items()}}
    path = folder / "questions.csv"
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataFormatError(path, f"cannot read the file ({error})") from None
    first = 1
    if lines and lines[0].split(",")[0].strip() == "png":  # relnet's older files begin with a header
        if lines[0].strip().replace(" ", "") != HEADER:
            raise DataFormatError(path, f"expected the header {HEADER!r}; found {lines[0][:80]!r}", record="line 1")
        first = 2
    scene_of: dict[str, int] = {}
    image_of: dict[str, str] = {}
    located: dict[tuple[str, str], str] = {}  # (column value, folder) → path relative to the split folder

    def locate(name: str, subfolder: str) -> str:
        """A ``png``/``json`` value → its path in the split: ``states/00000.json`` as given, or a bare
        ``00000.json`` (the authors' files) found in ``states/``."""
        if (name, subfolder) not in located:
            bare = "/" not in name and not (folder / name).is_file()
            located[name, subfolder] = f"{subfolder}/{name}" if bare else name
        return located[name, subfolder]

    columns: list[list[int]] = [[], [], [], [], []]  # scene, anchor, jumps, answer, line
    for number, line in enumerate(lines[first - 1 :], start=first):
        if not line.strip():
            continue
        fields = line.split(",")
        record = f"line {number}"
        if len(fields) != 5 or '"' in line:  # names and paths hold no comma: a quote means another layout
            fields = next(csv.reader(io.StringIO(line)))
            if len(fields) != 5:
                raise DataFormatError(path, f"expected 5 fields ({HEADER}), found {len(fields)}", record=record)
        png, state, anchor, jumps, target = (value.strip() for value in fields)
        png, state = locate(png, "images"), locate(state, "states")
        scene = scene_of.setdefault(state, len(scene_of))
        if image_of.setdefault(state, png) != png:
            problem = f"{state} is drawn in {image_of[state]} on an earlier line, here in {png}"
            raise DataFormatError(path, problem, record=record)
        try:
            count = int(jumps)
        except ValueError:
            count = -1
        if not 0 <= count < JUMPS:
            raise DataFormatError(path, f"n_jumps must be an integer 0-{JUMPS - 1}, not {jumps!r}", record=record)
        for column, value in (("anchor", anchor), ("target", target)):
            if value not in classes:
                problem = f"{column} must be a colour, a marker or its dict.json number, not {value!r}"
                raise DataFormatError(path, problem, record=record)
        columns[0].append(scene)
        columns[1].append(classes[anchor])
        columns[2].append(count)
        columns[3].append(classes[target])
        columns[4].append(number)
    if not columns[0]:
        raise DataFormatError(path, "no questions in this file")
    states = list(scene_of)
    loaded = [read_state(folder / state) for state in states]
    scenes = Scenes(
        positions=np.stack([item[0] for item in loaded]),
        colours=np.stack([item[1] for item in loaded]),
        markers=np.stack([item[2] for item in loaded]),
    )
    scene, anchor, jumps, answer, numbers = (np.asarray(column, dtype=np.int64) for column in columns)
    questions = Questions(scene=scene, anchor=anchor, jumps=jumps, answer=answer, lines=numbers)
    _check_answers(path, scenes, questions, states)
    return Split(path=folder, scenes=scenes, questions=questions, states=states, images=[image_of[s] for s in states])


def _check_answers(path: Path, scenes: Scenes, questions: Questions, states: list[str]) -> None:
    """The anchor kind against the target kind, then every target against the one its scene gives."""

    def fail(where: np.ndarray, problem: Callable[[int], str]) -> None:
        bad = np.flatnonzero(where)
        if len(bad):
            row = int(bad[0])
            raise DataFormatError(path, problem(row), record=f"line {questions.lines[row]}")

    colour_anchor = questions.anchor < len(COLOURS)
    fail(
        colour_anchor == (questions.answer < len(COLOURS)),
        lambda r: (
            f"anchor {NAMES[questions.anchor[r]]!r} asks for a "
            f"{'marker' if colour_anchor[r] else 'colour'}, but the target is {NAMES[questions.answer[r]]!r}"
        ),
    )
    derived = derive_answers(scenes, questions)
    fail(
        derived != questions.answer,
        lambda r: (
            f"the target is {NAMES[questions.answer[r]]!r} but {states[questions.scene[r]]} gives "
            f"{NAMES[derived[r]]!r} ({questions.jumps[r]} jumps from {NAMES[questions.anchor[r]]!r})"
        ),
    )
