"""Age arithmetic (RRN paper §3.5): the on-disk format, its reader and writer, and the seeded generator.

Eight persons are linked by a random labelled tree. The facts are the age difference along every
tree edge plus one person's absolute age (the anchor); the question names a person and the answer is
that person's age, 0–98, one of ``CLASSES`` = 100 classes as in the authors' code. Reaching the
answer takes as many additions as the tree distance between the anchor and the asked person.

As in the authors' generator (``tasks/ages/data.py`` of the RRN repository, branch ``nips-reviews``),
ages are 8 distinct integers drawn from 0..98 and the anchor and the question are uniform over the
persons. Trees are split by Prüfer sequence: the 8⁶ = 262,144 sequences are shuffled once with
``split_seed`` and cut into disjoint test, validation and training pools (the paper: 10% test), so
no labelled tree of the test split is ever trained on.

Format: one CSV file per split (``train.csv``, ``val.csv``, ``test.csv``), a header line, then one
question per line of 26 integers::

    i1,j1,d1,i2,j2,d2,...,i7,j7,d7,anchor,anchor_age,question,answer,distance
    3,4,-9,4,7,-49,7,5,16,2,3,3,2,0,-54,6,2,27,1,0,-40,1,46,2,32,2

- ``ik,jk,dk`` (k = 1..7): the tree's edges, fact k reading "person ik is dk years older than
  person jk" (``age_ik - age_jk = dk``; a negative dk: younger), in random order and orientation;
- ``anchor,anchor_age``: the one absolute age;
- ``question``: the person whose age is asked;
- ``answer`` and ``distance`` (edges between the anchor and the asked person) are redundant: the
  reader re-derives both from the facts and rejects a line where they disagree.

Persons are numbered 0-7. A plain integer table keeps the format readable by any tool and fast to
read (numpy's C parser: about a second for 10⁵ questions, checks included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from relnet.errors import DataFormatError, RelnetError

PERSONS = 8
EDGES = PERSONS - 1
#: Ages are 0..MAX_AGE (the authors draw from ``range(0, 99)``); answers are one of CLASSES classes,
#: the authors' one-hot width, so the last class is never an answer.
MAX_AGE = 98
CLASSES = 100
TREES = PERSONS ** (PERSONS - 2)  # Cayley: 262,144 labelled trees, one per Prüfer sequence
SPLIT_FILES = {"train": "train.csv", "val": "val.csv", "test": "test.csv"}
HEADER = ",".join(
    [f"{name}{k}" for k in range(1, PERSONS) for name in ("i", "j", "d")]
    + ["anchor", "anchor_age", "question", "answer", "distance"]
)
COLUMNS = HEADER.count(",") + 1


@dataclass(frozen=True)
class AgeOptions:
    """Sizes and tree split of a generated dataset: the flags of ``relnet generate age-arithmetic``.

    The defaults suit the CPU recipes. The authors stream fresh questions without end; for the
    ``paper`` preset generate ``--train-size 2000000`` (about 15,600 steps of batch 128 an epoch).
    """

    train_size: int = field(default=100_000, metadata={"help": "training questions"})
    val_size: int = field(default=10_000, metadata={"help": "validation questions"})
    test_size: int = field(default=20_000, metadata={"help": "test questions"})
    test_trees: float = field(default=0.1, metadata={"help": "share of the labelled trees kept for test (paper 0.1)"})
    val_trees: float = field(default=0.1, metadata={"help": "share of the labelled trees kept for validation"})
    split_seed: int = field(default=0, metadata={"help": "seed of the tree split (paper 0); --seed draws questions"})

    def __post_init__(self) -> None:
        if min(self.train_size, self.val_size, self.test_size) < 1:
            raise RelnetError("every split needs at least one question (--train-size, --val-size, --test-size)")
        if not (self.test_trees > 0 and self.val_trees > 0 and self.test_trees + self.val_trees < 1):
            raise RelnetError(
                f"--test-trees and --val-trees must be positive with a sum below 1 (got {self.test_trees}, "
                f"{self.val_trees})"
            )

    def sizes(self) -> dict[str, int]:
        return {"train": self.train_size, "val": self.val_size, "test": self.test_size}


@dataclass(frozen=True)
class AgeQuestions:
    """One split's questions as arrays (``N`` questions).

    ``pairs`` ``(N, 7, 2)`` the persons ``i, j`` of each fact; ``differences`` ``(N, 7)``
    ``age_i - age_j``; ``anchor`` ``(N, 2)`` person and age; ``question``, ``answer``, ``distance``
    ``(N,)``; ``lines`` ``(N,)`` the file line of each question (1-based; 0 when not read from a file).
    """

    pairs: np.ndarray
    differences: np.ndarray
    anchor: np.ndarray
    question: np.ndarray
    answer: np.ndarray
    distance: np.ndarray
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.question)


# ---------------------------------------------------------------------------- trees
def prufer_sequences(codes: np.ndarray) -> np.ndarray:
    """Tree numbers ``(N,)`` in ``[0, TREES)`` → their Prüfer sequences ``(N, 6)``, base-8 digits."""
    powers = PERSONS ** np.arange(PERSONS - 3, -1, -1)
    return (np.asarray(codes)[:, None] // powers) % PERSONS


def tree_codes(sequences: np.ndarray) -> np.ndarray:
    """Prüfer sequences ``(N, 6)`` → tree numbers ``(N,)`` (the inverse of :func:`prufer_sequences`)."""
    return sequences @ (PERSONS ** np.arange(PERSONS - 3, -1, -1))


def decode_prufer(sequences: np.ndarray) -> np.ndarray:
    """Prüfer sequences ``(N, 6)`` → the trees' edges ``(N, 7, 2)``, all sequences at once.

    The textbook decoding: at each step join the smallest leaf (a person with no occurrence left in
    the sequence) to the sequence's next person; the last two persons left form the last edge.
    """
    count = len(sequences)
    rows = np.arange(count)
    degree = np.ones((count, PERSONS), dtype=np.int64)
    np.add.at(degree, (rows[:, None], sequences), 1)
    edges = np.empty((count, EDGES, 2), dtype=np.int64)
    for step in range(PERSONS - 2):
        leaf = np.argmax(degree == 1, axis=1)  # the smallest person of degree 1
        parent = sequences[:, step]
        edges[:, step] = np.stack([leaf, parent], axis=1)
        degree[rows, leaf] -= 1  # to 0: used up
        degree[rows, parent] -= 1
    last = np.sort(np.argsort(degree != 1, axis=1, kind="stable")[:, :2], axis=1)  # the two left with degree 1
    edges[:, -1] = last
    return edges


def encode_prufer(pairs: np.ndarray) -> np.ndarray:
    """Trees' edges ``(N, 7, 2)`` (any order and orientation) → their Prüfer sequences ``(N, 6)``.

    Repeatedly remove the smallest leaf and record its neighbour.
    """
    count = len(pairs)
    rows = np.arange(count)
    adjacency = np.zeros((count, PERSONS, PERSONS), dtype=bool)
    adjacency[rows[:, None], pairs[..., 0], pairs[..., 1]] = True
    adjacency[rows[:, None], pairs[..., 1], pairs[..., 0]] = True
    sequences = np.empty((count, PERSONS - 2), dtype=np.int64)
    for step in range(PERSONS - 2):
        leaf = np.argmax(adjacency.sum(axis=2) == 1, axis=1)
        neighbour = np.argmax(adjacency[rows, leaf], axis=1)
        sequences[:, step] = neighbour
        adjacency[rows, leaf, neighbour] = adjacency[rows, neighbour, leaf] = False
    return sequences


def tree_pools(split_seed: int, test_trees: float, val_trees: float) -> dict[str, np.ndarray]:
    """The tree numbers each split draws from: disjoint, shuffled with ``split_seed``, test first."""
    order = np.random.default_rng(split_seed).permutation(TREES)
    test_end = round(test_trees * TREES)
    val_end = test_end + round(val_trees * TREES)
    return {"test": order[:test_end], "val": order[test_end:val_end], "train": order[val_end:]}


def derive_ages(pairs: np.ndarray, differences: np.ndarray, anchor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every person's age and tree distance from the anchor, found by spreading out from the anchor.

    Args: ``pairs`` ``(N, 7, 2)``, ``differences`` ``(N, 7)``, ``anchor`` ``(N, 2)``.
    Returns ``ages`` and ``distances`` ``(N, 8)`` (-1 where the facts do not reach; the age is then 0).
    At round ``r`` every fact with exactly one known end fixes the other end at distance ``r``. (7
    facts that reach all 8 persons form a tree, so no fact can contradict the ages found.)
    """
    count = len(pairs)
    rows = np.arange(count)[:, None]
    first, second = pairs[..., 0], pairs[..., 1]
    ages = np.zeros((count, PERSONS), dtype=np.int64)
    distances = np.full((count, PERSONS), -1, dtype=np.int64)
    ages[rows[:, 0], anchor[:, 0]] = anchor[:, 1]
    distances[rows[:, 0], anchor[:, 0]] = 0
    for hop in range(1, PERSONS):
        known = distances >= 0
        first_known, second_known = known[rows, first], known[rows, second]
        forward = first_known & ~second_known  # age_j = age_i - d
        backward = second_known & ~first_known  # age_i = age_j + d
        if not (forward.any() or backward.any()):
            break
        example, edge = np.nonzero(forward)
        ages[example, second[example, edge]] = ages[example, first[example, edge]] - differences[example, edge]
        distances[example, second[example, edge]] = hop
        example, edge = np.nonzero(backward)
        ages[example, first[example, edge]] = ages[example, second[example, edge]] + differences[example, edge]
        distances[example, first[example, edge]] = hop
    return ages, distances


# ---------------------------------------------------------------------------- generation
def sample_questions(count: int, pool: np.ndarray, rng: np.random.Generator) -> AgeQuestions:
    """``count`` questions on trees drawn (with replacement) from the tree numbers ``pool``."""
    edges = decode_prufer(prufer_sequences(rng.choice(pool, size=count)))
    # Distinct ages: the first 8 of a random permutation of 0..98, for every question at once.
    ages = np.argsort(rng.random((count, MAX_AGE + 1)), axis=1)[:, :PERSONS]
    # Shuffle the facts' order and orientation so that neither says anything about the tree.
    order = np.argsort(rng.random((count, EDGES)), axis=1)
    edges = np.take_along_axis(edges, order[..., None], axis=1)
    flip = rng.random((count, EDGES)) < 0.5
    edges = np.where(flip[..., None], edges[..., ::-1], edges)
    rows = np.arange(count)[:, None]
    differences = ages[rows, edges[..., 0]] - ages[rows, edges[..., 1]]
    anchor_person = rng.integers(0, PERSONS, size=count)
    question = rng.integers(0, PERSONS, size=count)
    anchor = np.stack([anchor_person, ages[rows[:, 0], anchor_person]], axis=1)
    _, distances = derive_ages(edges, differences, anchor)
    return AgeQuestions(
        pairs=edges,
        differences=differences,
        anchor=anchor,
        question=question,
        answer=ages[rows[:, 0], question],
        distance=distances[rows[:, 0], question],
        lines=np.zeros(count, dtype=np.int64),
    )


def generate(out: Path, *, seed: int, options: AgeOptions) -> dict[str, Any]:
    """Write ``train.csv``, ``val.csv`` and ``test.csv`` under ``out``; returns ``{split: questions}``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pools = tree_pools(options.split_seed, options.test_trees, options.val_trees)
    sizes = options.sizes()
    for index, split in enumerate(SPLIT_FILES):
        # One stream per split, so changing one split's size leaves the others' questions unchanged.
        rng = np.random.default_rng([seed, index])
        write_questions(out / SPLIT_FILES[split], sample_questions(sizes[split], pools[split], rng))
    return sizes


# ---------------------------------------------------------------------------- format
def write_questions(path: Path, questions: AgeQuestions) -> Path:
    """Write the header and one CSV line per question (see the module docstring), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = np.concatenate(
        [
            np.concatenate([questions.pairs, questions.differences[..., None]], axis=2).reshape(len(questions), -1),
            questions.anchor,
            np.stack([questions.question, questions.answer, questions.distance], axis=1),
        ],
        axis=1,
    )
    rows = [",".join(map(str, row)) for row in table.tolist()]
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join([HEADER, *rows]) + "\n")
    temporary.replace(path)
    return path


def split_path(root: Path, split: str) -> Path:
    """The file of ``split`` in a dataset folder, or ``root`` itself when it is a file."""
    root = Path(root)
    if root.is_file():
        return root
    if split not in SPLIT_FILES:
        raise RelnetError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_FILES)}")
    path = root / SPLIT_FILES[split]
    if not path.is_file():
        raise DataFormatError(path, f"missing: no age-arithmetic {split!r} split here")
    return path


def read_questions(path: Path) -> AgeQuestions:
    """Read and validate one split file; a :class:`DataFormatError` names the line of the first problem.

    Every answer and distance is re-derived from the facts and must match the file's.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataFormatError(path, f"cannot read the file ({error})") from None
    if not lines or lines[0].strip().replace(" ", "") != HEADER:
        found = repr(lines[0][:80]) if lines else "an empty file"
        raise DataFormatError(path, f"expected the header {HEADER!r}; found {found}", record="line 1")
    numbers = [number for number, line in enumerate(lines[1:], start=2) if line.strip()]
    if not numbers:
        raise DataFormatError(path, "no questions in this file")
    body = [lines[number - 1] for number in numbers]
    try:
        table = np.loadtxt(body, delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError:
        table = None
    if table is None or table.shape[1] != COLUMNS:
        _raise_first_bad_line(path, body, numbers)
    facts = table[:, : 3 * EDGES].reshape(-1, EDGES, 3)
    questions = AgeQuestions(
        pairs=facts[..., :2],
        differences=facts[..., 2],
        anchor=table[:, 3 * EDGES : 3 * EDGES + 2],
        question=table[:, -3],
        answer=table[:, -2],
        distance=table[:, -1],
        lines=np.asarray(numbers),
    )
    _check_questions(path, questions)
    return questions


def _raise_first_bad_line(path: Path, body: list[str], numbers: list[int]) -> None:
    """Name the first line that is not ``COLUMNS`` comma-separated integers (numpy's parser failed)."""
    for line, number in zip(body, numbers, strict=True):
        values = [value.strip() for value in line.split(",")]
        if len(values) != COLUMNS:
            raise DataFormatError(path, f"expected {COLUMNS} fields, found {len(values)}", record=f"line {number}")
        for column, value in enumerate(values):
            if not value.lstrip("-").isdigit():
                name = HEADER.split(",")[column]
                problem = f"column {name!r} must be an integer, not {value!r}"
                raise DataFormatError(path, problem, record=f"line {number}")
    raise DataFormatError(path, f"not a table of {COLUMNS} integer columns")  # numpy and we disagree: be safe


def _check_questions(path: Path, questions: AgeQuestions) -> None:
    """Ranges, the tree, and the redundant answer and distance against the ones the facts give."""

    def fail(where: np.ndarray, problem: str | Callable[[int], str]) -> None:
        """Raise for the first row where ``where`` holds; ``problem`` may describe that row."""
        bad = np.flatnonzero(where)
        if len(bad):
            row = int(bad[0])
            text = problem(row) if callable(problem) else problem
            raise DataFormatError(path, text, record=f"line {questions.lines[row]}")

    persons = np.concatenate(
        [questions.pairs.reshape(len(questions), -1), questions.anchor[:, :1], questions.question[:, None]], axis=1
    )
    fail(((persons < 0) | (persons >= PERSONS)).any(axis=1), f"persons are numbered 0-{PERSONS - 1}")
    fail((questions.anchor[:, 1] < 0) | (questions.anchor[:, 1] > MAX_AGE), f"the anchor age must be 0-{MAX_AGE}")
    fail((questions.pairs[..., 0] == questions.pairs[..., 1]).any(axis=1), "a fact relates a person to themself")
    ages, distances = derive_ages(questions.pairs, questions.differences, questions.anchor)
    fail((distances < 0).any(axis=1), f"the facts do not link all {PERSONS} persons into one tree")
    fail(((ages < 0) | (ages > MAX_AGE)).any(axis=1), f"the facts give a person an age outside 0-{MAX_AGE}")
    rows = np.arange(len(questions))
    derived, hops = ages[rows, questions.question], distances[rows, questions.question]
    fail(derived != questions.answer, lambda r: f"the answer is {questions.answer[r]} but the facts give {derived[r]}")
    fail(hops != questions.distance, lambda r: f"the distance is {questions.distance[r]} but the tree gives {hops[r]}")
