"""Sudoku files and generator: formats round-trip, every bad input names its line, puzzles are unique."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from relnet.errors import DataFormatError
from relnet.tasks.sudoku.format import grid_string, read_puzzles, write_csv
from relnet.tasks.sudoku.generator import GeneratorConfig, generate, minimal_puzzles, parse_givens
from relnet.tasks.sudoku.solver import solve

QUIZ = "000000010400000000020000000000050407008000300001090000300400200050100000000806000"
SOLUTION = "693784512487512936125963874932651487568247391741398625319475268856129743274836159"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sudoku")
    generate(root, seed=2, config=GeneratorConfig(count=130, val_count=13, test_count=26, pool=24), note=lambda m: None)
    return root


def test_the_three_formats_read_alike(tmp_path: Path) -> None:
    palm = tmp_path / "palm.csv"
    palm.write_text(f"{QUIZ},{SOLUTION}\n")
    header = tmp_path / "kaggle.csv"
    header.write_text(f"quizzes,solutions\n{QUIZ},{SOLUTION}\n")
    plain = tmp_path / "plain.txt"
    plain.write_text(f"# a comment\n\n{QUIZ.replace('0', '.')}\n")
    files = [read_puzzles(path) for path in (palm, header, plain)]
    for puzzles in files:
        assert [grid_string(q) for q in puzzles.quizzes] == [QUIZ]
        assert [grid_string(s) for s in puzzles.solutions] == [SOLUTION]
    assert files[2].solved_here and not files[0].solved_here
    assert files[1].lines.tolist() == [2] and files[2].lines.tolist() == [3]


def test_write_read_round_trip(generated: Path, tmp_path: Path) -> None:
    puzzles = read_puzzles(generated / "train.csv")
    copy = write_csv(tmp_path / "copy.csv", puzzles.quizzes, puzzles.solutions)
    assert copy.read_bytes() == (generated / "train.csv").read_bytes()


BAD_LINES = [
    (f"{QUIZ[:-1]},{SOLUTION}", "line 2: quiz has 80 characters, expected 81"),
    (f"{QUIZ[:-1]}x,{SOLUTION}", "line 2: quiz has bad character(s) 'x'"),
    (f"{QUIZ},{SOLUTION[:-1]}0", "line 2: solution has bad character(s) '0'; expected digits 1-9 (no blanks)"),
    (f"{QUIZ},{SOLUTION},{SOLUTION}", "line 2: expected 2 field(s) like the lines before, found 3"),
    ("11" + QUIZ[2:] + f",{SOLUTION}", "line 2: contradictory givens: digit 1 appears twice in row 1"),
    (f"{QUIZ},{SOLUTION[1:2]}{SOLUTION[0]}{SOLUTION[2:]}", "line 2: the solution is not a valid grid"),
    (f"{QUIZ},{SOLUTION[:7]}{SOLUTION[8]}{SOLUTION[7]}{SOLUTION[9:]}", "line 2: the solution is not a valid grid"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_bad_csv_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"{QUIZ},{SOLUTION}\n{line}\n")
    with pytest.raises(DataFormatError, match="bad.csv, " + message.replace("(", r"\(").replace(")", r"\)")):
        read_puzzles(path)


def test_solution_disagreeing_with_its_quiz(tmp_path: Path) -> None:
    other = SOLUTION.translate(str.maketrans("123456789", "234567891"))  # a valid grid, other digits
    path = tmp_path / "bad.csv"
    path.write_text(f"{QUIZ},{other}\n")
    with pytest.raises(DataFormatError, match="line 1: the solution disagrees with the quiz at row 1, column 8"):
        read_puzzles(path)


def test_plain_files_unsolvable_or_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text(QUIZ + "\n" + "123456780" + "000000009" + "0" * 63 + "\n")
    with pytest.raises(DataFormatError, match=r"plain\.txt, line 2: the puzzle has no solution"):
        read_puzzles(path)
    path.write_text(QUIZ + "\n" + "0" * 81 + "\n")
    with pytest.raises(DataFormatError, match="line 2: the puzzle has several solutions"):
        read_puzzles(path)
    assert len(read_puzzles(path, require_unique=False)) == 2
    (tmp_path / "empty.csv").write_text("quizzes,solutions\n")
    with pytest.raises(DataFormatError, match="no puzzles in this file"):
        read_puzzles(tmp_path / "empty.csv")
    with pytest.raises(DataFormatError, match="missing"):
        read_puzzles(tmp_path / "none.csv")


def test_generated_puzzles_are_unique_and_spread_evenly(generated: Path) -> None:
    for name in ("train.csv", "valid.csv", "test.csv"):
        puzzles = read_puzzles(generated / name)
        found = solve(puzzles.quizzes)
        assert found.unique.all()
        assert (found.solutions == puzzles.solutions).all()
        counts = np.bincount(puzzles.givens)[puzzles.givens.min() :]
        assert counts.max() - counts.min() <= 1  # even over the levels
        assert puzzles.givens.max() == 34


def test_generator_is_deterministic(tmp_path: Path) -> None:
    config = GeneratorConfig(count=20, val_count=2, test_count=2, pool=4)
    for folder in ("a", "b"):
        generate(tmp_path / folder, seed=7, config=config, note=print)
    for name in ("train.csv", "valid.csv", "test.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_minimal_puzzles_are_minimal() -> None:
    quizzes, _ = minimal_puzzles(4, np.random.default_rng(0))
    assert solve(quizzes).unique.all()
    for quiz in quizzes:
        givens = np.flatnonzero(quiz)
        trials = np.repeat(quiz[None], len(givens), axis=0)
        trials[np.arange(len(givens)), givens] = 0
        assert (solve(trials).counts == 2).all()  # every given is needed


def test_source_list_gives_the_requested_range(tmp_path: Path) -> None:
    quizzes, solutions = minimal_puzzles(30, np.random.default_rng(3))
    source = write_csv(tmp_path / "minimal.csv", quizzes, solutions)
    low = int((quizzes > 0).sum(axis=1).max())  # every pool puzzle fits at this level
    config = GeneratorConfig(count=40, val_count=8, test_count=8, givens=(low, low + 3), source=str(source))
    summary = generate(tmp_path / "out", seed=0, config=config, note=print)
    assert summary["givens"] == f"{low}-{low + 3}"
    train = read_puzzles(tmp_path / "out" / "train.csv")
    assert set(train.givens.tolist()) == set(range(low, low + 4))


def test_parse_givens() -> None:
    assert parse_givens("17-34") == (17, 34)
    assert parse_givens("25") == (25, 25)
    for bad in ("16-30", "30-20", "a-b", "1-2-3"):
        with pytest.raises(Exception, match="--givens"):
            parse_givens(bad)


def canonical_solutions(solutions: np.ndarray) -> set[bytes]:
    """Each ``(81,)`` solution with its digits renamed in order of first appearance: two grids that
    differ only by a relabelling of the digits get the same key."""
    keys = set()
    for solution in solutions:
        _, first = np.unique(solution, return_index=True)
        order = solution[np.sort(first)]  # digits in order of first appearance
        rename = np.zeros(10, dtype=np.int64)
        rename[order] = np.arange(1, 10)
        keys.add(rename[solution].astype(np.int8).tobytes())
    return keys


def test_splits_from_a_source_list_share_no_puzzle_up_to_relabelling(tmp_path: Path) -> None:
    """Palm's scheme: train, validation and test draw from disjoint pools of the source list, so no
    source puzzle (whatever digits it was relabelled with) is in two splits."""
    quizzes, solutions = minimal_puzzles(40, np.random.default_rng(5))
    source = write_csv(tmp_path / "minimal.csv", quizzes, solutions)
    low = int((quizzes > 0).sum(axis=1).max())
    config = GeneratorConfig(count=120, val_count=40, test_count=40, givens=(low, low + 1), source=str(source))
    generate(tmp_path / "out", seed=0, config=config, note=print)
    splits = {name: read_puzzles(tmp_path / "out" / name) for name in ("train.csv", "valid.csv", "test.csv")}
    keys = {name: canonical_solutions(puzzles.solutions) for name, puzzles in splits.items()}
    assert len(keys["train.csv"]) > 1 and len(keys["test.csv"]) > 1  # several source puzzles in each
    assert not keys["train.csv"] & keys["valid.csv"]
    assert not keys["train.csv"] & keys["test.csv"]
    assert not keys["valid.csv"] & keys["test.csv"]
    for puzzles in splits.values():  # and every written puzzle has exactly one solution, the written one
        found = solve(puzzles.quizzes)
        assert found.unique.all() and (found.solutions == puzzles.solutions).all()
