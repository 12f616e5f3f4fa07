"""relnet's bAbI generator: same seed → same bytes, every file reads back, answers re-derived from the text."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from relnet.tasks.babi.format import Story, read_split, read_task_file, task_file_name
from relnet.tasks.babi.generator import generate
from relnet.tasks.babi.stats import task_stats
from relnet.tasks.babi.vocab import ANSWER_INDEX, WORD_INDEX, tokenize


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("babi")
    generate(root, seed=5, size="1k")
    return root


@pytest.fixture(scope="session")
def generated_splits(generated: Path) -> dict[str, dict[int, list[Story]]]:
    """The en-valid layout's three splits, read once."""
    return {split: read_split(generated / "en-valid", split) for split in ("train", "val", "test")}


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.txt")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_bytes(generated: Path, tmp_path: Path) -> None:
    tasks = (3, 14, 20)
    generate(tmp_path / "a", seed=5, size="1k", tasks=tasks)
    generate(tmp_path / "b", seed=6, size="1k", tasks=tasks)
    for task in tasks:
        name = task_file_name(task, "train", with_name=True)
        assert (tmp_path / "a" / "en" / name).read_bytes() == (generated / "en" / name).read_bytes()
        assert (tmp_path / "b" / "en" / name).read_bytes() != (generated / "en" / name).read_bytes()
    assert _digest(tmp_path / "a" / "en-valid") != _digest(tmp_path / "b" / "en-valid")


def test_every_file_reads_back_with_the_real_sizes(generated: Path, generated_splits: dict) -> None:
    test, train, val = (generated_splits[split] for split in ("test", "train", "val"))
    assert sorted(test) == list(range(1, 21))
    for task in range(1, 21):
        assert _questions(test[task]) == 1000
        assert _questions(train[task]) + _questions(val[task]) == 1000
        assert 0.05 < _questions(val[task]) / 1000 < 0.15
    for task in range(1, 21):  # the en/ layout's files all parse too
        read_task_file(generated / "en" / task_file_name(task, "train", with_name=True))
    # en-valid's train and valid files are en's train file split by stories.
    plain = read_task_file(generated / "en" / task_file_name(7, "train", with_name=True))
    parts = read_task_file(generated / "en-valid" / "qa7_train.txt") + read_task_file(
        generated / "en-valid" / "qa7_valid.txt"
    )
    assert plain == parts


def test_vocabulary_answers_and_supports_are_well_formed(generated_splits: dict) -> None:
    for task, stories in generated_splits["train"].items():
        for story in stories:
            for line in story:
                assert all(word in WORD_INDEX for word in tokenize(line.text)), (task, line.text)
                if line.is_question:
                    assert line.answer.lower() in ANSWER_INDEX, (task, line.answer)
                    assert line.supports and all(not story[s - 1].is_question for s in line.supports)


def _questions(stories: list[Story]) -> int:
    return sum(line.is_question for story in stories for line in story)


_MOVE = re.compile(r"^(\w+) (?:moved|went|journeyed|travelled|went back) to the (\w+)\.$")


def test_where_and_yes_no_answers_follow_from_the_moves(generated_splits: dict) -> None:
    """Tasks 1 and 6 re-derived by replaying the moves, independently of the generator's world."""
    stories = generated_splits["test"]
    for task in (1, 6):
        for story in stories[task]:
            place: dict[str, tuple[str, int]] = {}
            for line in story:
                move = _MOVE.match(line.text)
                if move:
                    place[move.group(1)] = (move.group(2), line.id)
                elif task == 1 and line.is_question:
                    who = re.match(r"Where is (\w+)\?", line.text).group(1)
                    assert (line.answer, line.supports) == (place[who][0], (place[who][1],))
                elif line.is_question:
                    who, where = re.match(r"Is (\w+) in the (\w+)\?", line.text).groups()
                    assert line.answer == ("yes" if place[who][0] == where else "no")


def test_paths_follow_from_the_compass_facts(generated_splits: dict) -> None:
    step = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
    letter = {(0, 1): "n", (0, -1): "s", (1, 0): "e", (-1, 0): "w"}
    for story in generated_splits["test"][19][:200]:
        offset: dict[tuple[str, str], tuple[int, int]] = {}
        for line in story[:-1]:
            a, direction, b = re.match(r"The (\w+) is (\w+) of the (\w+)\.", line.text).groups()
            dx, dy = step[direction]
            offset[(b, a)], offset[(a, b)] = (dx, dy), (-dx, -dy)  # going from b to a moves by (dx, dy)
        start, end = re.match(r"How do you go from the (\w+) to the (\w+)\?", story[-1].text).groups()
        first, second = story[-1].answer.split(",")
        middles = [m for (s, m), d in offset.items() if s == start and letter[d] == first and (m, end) in offset]
        assert any(letter[offset[(m, end)]] == second for m in middles)


def test_statistics_cover_every_task(generated_splits: dict) -> None:
    train = {str(task): task_stats(stories) for task, stories in generated_splits["train"].items()}
    assert sorted(map(int, train)) == list(range(1, 21))
    assert train["17"]["answers"].keys() == {"yes", "no"}
    assert train["4"]["statements_per_story"] == {"min": 2, "mean": 2.0, "max": 2}
    assert all(not stats["unknown_words"] and not stats["unknown_answers"] for stats in train.values())
