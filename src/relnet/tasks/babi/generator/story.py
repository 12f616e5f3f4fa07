"""Building one story line by line, and the phrasings the bAbI tasks share."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from relnet.tasks.babi.format import Line, Story

T = TypeVar("T")

PEOPLE = ("Mary", "John", "Daniel", "Sandra")
PLACES = ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office")
ITEMS = ("football", "milk", "apple")
PRONOUN = {"Mary": "she", "Sandra": "she", "John": "he", "Daniel": "he"}
MOVE_VERBS = ("moved", "went", "journeyed", "travelled", "went back")
GET_VERBS = ("got", "took", "picked up", "grabbed")
DROP_VERBS = ("dropped", "left", "discarded", "put down")
GIVE_VERBS = ("gave", "handed", "passed")
THEN = ("Then", "After that", "Afterwards", "Following that")
NUMBERS = ("none", "one", "two", "three", "four", "five")


class StoryBuilder:
    """Appends statements and questions with consecutive IDs.

    ``space_before_tab`` reproduces the tasks whose question text ends in ``"? "`` (1-3, 5-14).
    """

    def __init__(self, space_before_tab: bool) -> None:
        self.lines: list[Line] = []
        self.questions = 0
        self._suffix = " " if space_before_tab else ""

    def say(self, text: str) -> int:
        """Add a statement; returns its line ID."""
        line = Line(len(self.lines) + 1, text)
        self.lines.append(line)
        return line.id

    def ask(self, question: str, answer: str, supports: Sequence[int]) -> None:
        """Add ``question`` (without the trailing space) with its answer and supporting line IDs."""
        if not all(1 <= s <= len(self.lines) and not self.lines[s - 1].is_question for s in supports):
            raise AssertionError(f"bad supports {supports} for {question!r}")
        self.lines.append(Line(len(self.lines) + 1, question + self._suffix, answer, tuple(supports)))
        self.questions += 1

    @property
    def statements(self) -> int:
        return len(self.lines) - self.questions

    def story(self) -> Story:
        return tuple(self.lines)


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """One element of a sequence (never of a set: set order varies between runs)."""
    return options[rng.randrange(len(options))]


def other(rng: random.Random, options: Sequence[T], not_this: T | None) -> T:
    """An element of ``options`` different from ``not_this``."""
    return pick(rng, [option for option in options if option != not_this])


def move_text(rng: random.Random, who: str, place: str) -> str:
    return f"{who} {pick(rng, MOVE_VERBS)} to the {place}."
