"""relnet's bAbI generator: all 20 tasks from a small simulated world, written in the v1.2 layout.

``generate(out, seed=0, size="10k")`` writes, like the real archive::

    out/en-10k/qaN_<name>_{train,test}.txt        10,000 training questions per task, 1,000 test
    out/en-valid-10k/qaN_{train,valid,test}.txt   the same train file split 90/10 by stories

(``size="1k"``: ``en/`` and ``en-valid/`` with 1,000 training questions). Every (task, split) draws
from its own random stream seeded by ``(seed, task, split)``, so the test files are the same for both
sizes and the 1k training file is the first 1,000 questions of the 10k one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from relnet.tasks.babi.format import Story, split_valid, task_file_name, write_task_file
from relnet.tasks.babi.generator import actors, locations, logic, spatial

STORY_MAKERS: dict[int, Callable[[random.Random], Story]] = {
    1: actors.task1,
    2: actors.task2,
    3: actors.task3,
    4: spatial.task4,
    5: actors.task5,
    6: actors.task6,
    7: actors.task7,
    8: actors.task8,
    9: locations.task9,
    10: locations.task10,
    11: locations.task11,
    12: locations.task12,
    13: locations.task13,
    14: locations.task14,
    15: logic.task15,
    16: logic.task16,
    17: spatial.task17,
    18: logic.task18,
    19: spatial.task19,
    20: logic.task20,
}
SIZES = {"1k": 1_000, "10k": 10_000}
TEST_QUESTIONS = 1_000
LAYOUT_NAMES = {"1k": ("en", "en-valid"), "10k": ("en-10k", "en-valid-10k")}


def make_stories(task: int, questions: int, rng: random.Random) -> list[Story]:
    """Stories of ``task`` with exactly ``questions`` questions (the last story is cut after the last one)."""
    stories: list[Story] = []
    count = 0
    while count < questions:
        story = STORY_MAKERS[task](rng)
        asked = sum(line.is_question for line in story)
        if count + asked > questions:
            keep, seen = 0, 0
            for keep, line in enumerate(story, start=1):  # noqa: B007 - keep is used after the loop
                seen += line.is_question
                if count + seen == questions:
                    break
            story, asked = story[:keep], questions - count
        stories.append(story)
        count += asked
    return stories


def stream(seed: int, task: int, split: str) -> random.Random:
    """The random stream of one (task, split); string seeds hash the same in every process."""
    return random.Random(f"relnet-babi/{seed}/{task}/{split}")


def generate(out: Path, *, seed: int = 0, size: str = "10k", tasks: tuple[int, ...] | None = None) -> dict[str, int]:
    """Write both layouts of ``size`` under ``out``; returns question counts per split."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    plain, valid = (Path(out) / name for name in LAYOUT_NAMES[size])
    counts = {"train": 0, "val": 0, "test": 0}
    for task in tasks or tuple(STORY_MAKERS):
        train = make_stories(task, SIZES[size], stream(seed, task, "train"))
        test = make_stories(task, TEST_QUESTIONS, stream(seed, task, "test"))
        kept, held_out = split_valid(train)
        write_task_file(plain / task_file_name(task, "train", with_name=True), train)
        write_task_file(plain / task_file_name(task, "test", with_name=True), test)
        write_task_file(valid / task_file_name(task, "train", with_name=False), kept)
        write_task_file(valid / task_file_name(task, "valid", with_name=False), held_out)
        write_task_file(valid / task_file_name(task, "test", with_name=False), test)
        for split, stories in (("train", kept), ("val", held_out), ("test", test)):
            counts[split] += sum(line.is_question for story in stories for line in story)
    return counts
