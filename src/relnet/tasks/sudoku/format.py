"""Sudoku puzzle files: Palm's CSV, the common CSV with a header, and plain one-puzzle-per-line files.

Accepted, one puzzle per line, 81 characters in row-major order:

- Palm et al.'s ``sudoku-hard`` CSV (``train.csv``, ``valid.csv``, ``test.csv``): ``quiz,solution``
  without a header, ``0`` for blanks. relnet writes exactly this.
- The same with a header line such as ``quizzes,solutions`` (the Kaggle "1 million Sudoku" files). Only a
  first line of column names (letters, at most 2) counts as a header: a damaged first puzzle is an error,
  never silently dropped.
- Plain files: just the quiz, ``0`` or ``.`` for blanks (the solver supplies the solution).

Blank lines and lines starting with ``#`` are skipped. Every problem (wrong length, bad characters,
contradictory givens, a solution that is not a valid grid or disagrees with its quiz, an unsolvable
or, where a target is needed, ambiguous puzzle) raises a :class:`DataFormatError` naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relnet.errors import DataFormatError, RelnetError
from relnet.tasks.sudoku.grid import CELLS, UNITS
from relnet.tasks.sudoku.solver import solve

#: File names of the splits inside a dataset folder, first match wins (Palm calls val "valid").
SPLIT_FILES = {"train": ("train.csv",), "val": ("valid.csv", "val.csv"), "test": ("test.csv",)}
#: A header's column name: a word of letters (``quizzes``, ``solutions``, ``puzzle``, ``solution_1``).
_COLUMN_NAME = re.compile(r"[A-Za-z][A-Za-z_ ]{0,31}[0-9]?")


@dataclass
class PuzzleFile:
    """Puzzles read from one file: ``quizzes`` and ``solutions`` ``(N, 81)`` uint8 (0 = blank),
    ``lines`` ``(N,)`` the 1-based line number of each puzzle, ``solved_here`` True when the file
    had no solutions and the solver supplied them."""

    path: Path
    quizzes: np.ndarray
    solutions: np.ndarray
    lines: np.ndarray
    solved_here: bool

    def __len__(self) -> int:
        return len(self.quizzes)

    @property
    def givens(self) -> np.ndarray:
        """``(N,)`` number of given cells per puzzle."""
        return (self.quizzes > 0).sum(axis=1)


def parse_grid(text: str, *, what: str = "puzzle") -> np.ndarray:
    """One 81-character grid (``0`` or ``.`` for blanks, whitespace ignored) → ``(81,)`` uint8."""
    compact = "".join(text.split())
    problem = _grid_problem(compact, blanks_allowed=True)
    if problem:
        raise RelnetError(f"{what} {problem}")
    grid = _to_digits([compact])[0]
    conflict = _first_conflict(grid[None])
    if conflict is not None:
        raise RelnetError(f"{what}: contradictory givens: {conflict[1]}")
    return grid


def grid_string(grid: np.ndarray) -> str:
    """``(81,)`` digits → the 81-character string with ``0`` for blanks."""
    return "".join(str(int(d)) for d in np.asarray(grid).reshape(CELLS))


def read_puzzles(path: Path, *, require_unique: bool = True) -> PuzzleFile:
    """Read and validate a puzzle file in any of the accepted formats.

    Files without solutions are solved (all puzzles at once); ``require_unique`` then also rejects a
    puzzle with several solutions, which would have no single target.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, "missing: no such puzzle file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFormatError(path, f"not a text file ({error})") from None
    quizzes, solutions, lines = _split_lines(path, text)
    if not quizzes:
        raise DataFormatError(path, "no puzzles in this file")
    quiz_digits = _to_digits(quizzes)
    conflict = _first_conflict(quiz_digits)
    if conflict is not None:
        row, problem = conflict
        raise DataFormatError(path, f"contradictory givens: {problem}", record=f"line {lines[row]}")
    line_numbers = np.asarray(lines)
    if solutions is None:
        found = solve(quiz_digits, limit=2)
        bad = np.flatnonzero(found.counts == 0)
        if len(bad):
            raise DataFormatError(path, "the puzzle has no solution", record=f"line {lines[bad[0]]}")
        several = np.flatnonzero(found.counts > 1)
        if require_unique and len(several):
            raise DataFormatError(
                path, "the puzzle has several solutions, so it has no single answer", record=f"line {lines[several[0]]}"
            )
        return PuzzleFile(path, quiz_digits, found.solutions, line_numbers, True)
    solution_digits = _to_digits(solutions)
    _check_solutions(path, quiz_digits, solution_digits, lines)
    return PuzzleFile(path, quiz_digits, solution_digits, line_numbers, False)


def split_path(root: Path, split: str) -> Path:
    """The file of ``split`` in a dataset folder, or ``root`` itself when it is a file."""
    root = Path(root)
    if root.is_file():
        return root
    if split not in SPLIT_FILES:
        raise DataFormatError(root, f"unknown split {split!r}; choose one of {', '.join(SPLIT_FILES)}")
    for name in SPLIT_FILES[split]:
        if (root / name).is_file():
            return root / name
    names = " or ".join(SPLIT_FILES[split])
    raise DataFormatError(root / SPLIT_FILES[split][0], f"missing: no Sudoku {split!r} split here ({names})")


def duplicates(quizzes: np.ndarray) -> tuple[int, tuple[int, int] | None]:
    """How many puzzles repeat an earlier one (the same 81 cells), and the first such pair ``(earlier,
    later)`` as row indices (None without repeats)."""
    _, first, inverse = np.unique(quizzes, axis=0, return_index=True, return_inverse=True)
    earlier = first[inverse.reshape(-1)]
    repeats = np.flatnonzero(earlier != np.arange(len(quizzes)))
    if not len(repeats):
        return 0, None
    return len(repeats), (int(earlier[repeats[0]]), int(repeats[0]))


def write_csv(path: Path, quizzes: np.ndarray, solutions: np.ndarray) -> Path:
    """Write Palm's format: one ``quiz,solution`` line per puzzle, no header, ``0`` for blanks."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    digits = np.concatenate([quizzes, np.full((len(quizzes), 1), ord(",") - ord("0")), solutions], axis=1)
    rows = (digits.astype(np.uint8) + ord("0")).tobytes()
    width = 2 * CELLS + 1
    text = b"\n".join(rows[k : k + width] for k in range(0, len(rows), width))
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(text + b"\n")
    temporary.replace(path)
    return path


# ---------------------------------------------------------------------------- internals
def _split_lines(path: Path, text: str) -> tuple[list[str], list[str] | None, list[int]]:
    """Raw quiz (and solution) strings with their line numbers, checked for length and characters."""
    quizzes: list[str] = []
    solutions: list[str] = []
    lines: list[int] = []
    columns: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [field.strip() for field in line.split(",")]
        if columns is None and len(fields) <= 2 and all(_COLUMN_NAME.fullmatch(field) for field in fields):
            columns = len(fields)  # a header such as "quizzes,solutions"
            continue
        if columns is None:
            columns = len(fields)
            if columns > 2:
                problem = f"expected 'quiz,solution' or one puzzle per line, found {columns} fields"
                raise DataFormatError(path, problem, record=f"line {number}")
        if len(fields) != columns:
            raise DataFormatError(
                path, f"expected {columns} field(s) like the lines before, found {len(fields)}", record=f"line {number}"
            )
        problem = _grid_problem(fields[0], blanks_allowed=True)
        if problem:
            raise DataFormatError(path, f"quiz {problem}", record=f"line {number}")
        if columns == 2:
            problem = _grid_problem(fields[1], blanks_allowed=False)
            if problem:
                raise DataFormatError(path, f"solution {problem}", record=f"line {number}")
            solutions.append(fields[1])
        quizzes.append(fields[0])
        lines.append(number)
    return quizzes, (solutions if columns == 2 else None), lines


_QUIZ_CHARACTERS = frozenset("0123456789.")
_SOLUTION_CHARACTERS = frozenset("123456789")


def _grid_problem(field: str, *, blanks_allowed: bool) -> str | None:
    """Why ``field`` is not an 81-character grid, or None."""
    if len(field) != CELLS:
        return f"has {len(field)} characters, expected {CELLS}"
    allowed = _QUIZ_CHARACTERS if blanks_allowed else _SOLUTION_CHARACTERS
    bad = sorted(set(field) - allowed)
    if bad:
        expected = "digits 0-9 or '.' for blanks" if blanks_allowed else "digits 1-9 (no blanks)"
        return f"has bad character(s) {''.join(bad)!r}; expected {expected}"
    return None


def _to_digits(fields: list[str]) -> np.ndarray:
    """Validated 81-character strings → ``(N, 81)`` uint8 digits."""
    raw = np.frombuffer("".join(fields).replace(".", "0").encode("ascii"), dtype=np.uint8)
    return (raw - ord("0")).reshape(len(fields), CELLS)


def _first_conflict(grids: np.ndarray) -> tuple[int, str] | None:
    """The first grid (row index) with a digit twice in one row, column or box, and a description."""
    ordered = np.sort(grids[:, UNITS], axis=2)  # (N, 27, 9): a repeat sits next to its twin
    repeat = (ordered[:, :, 1:] == ordered[:, :, :-1]) & (ordered[:, :, 1:] > 0)  # (N, 27, 8)
    bad_rows = np.flatnonzero(repeat.any(axis=(1, 2)))
    if not len(bad_rows):
        return None
    row = int(bad_rows[0])
    unit, position = (int(k[0]) for k in np.nonzero(repeat[row]))
    digit = int(ordered[row, unit, position + 1])
    kind, index = ("row", "column", "box")[unit // 9], unit % 9 + 1
    return row, f"digit {digit} appears twice in {kind} {index}"


def _check_solutions(path: Path, quizzes: np.ndarray, solutions: np.ndarray, lines: list[int]) -> None:
    """Each solution must be a valid complete grid that keeps every given of its quiz."""
    conflict = _first_conflict(solutions)
    if conflict is not None:
        row, problem = conflict
        raise DataFormatError(path, f"the solution is not a valid grid: {problem}", record=f"line {lines[row]}")
    disagrees = ((quizzes > 0) & (quizzes != solutions)).any(axis=1)
    if disagrees.any():
        row = int(np.flatnonzero(disagrees)[0])
        cell = int(np.flatnonzero((quizzes[row] > 0) & (quizzes[row] != solutions[row]))[0])
        raise DataFormatError(
            path,
            f"the solution disagrees with the quiz at row {cell // 9 + 1}, column {cell % 9 + 1} "
            f"({solutions[row, cell]} instead of the given {quizzes[row, cell]})",
            record=f"line {lines[row]}",
        )
