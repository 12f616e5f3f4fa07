"""Tasks about positions: 4 (two-argument relations), 17 (positional reasoning), 19 (paths)."""

from __future__ import annotations

import random

from relnet.tasks.babi.format import Story
from relnet.tasks.babi.generator.story import PLACES, StoryBuilder, pick

COMPASS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


AXES = (("north", "south"), ("east", "west"))


def task4(rng: random.Random) -> Story:
    """Three places in a row on one axis, told as two facts; the question links the middle place and one end.

    ``first`` lies ``toward`` of ``middle``, which lies ``toward`` of ``last``. The two facts come in either
    order and each is told from either end ("The A is north of the B." or "The B is south of the A."); the
    question asks one of four forms of a relation between the middle place and one end, so its answer is
    the middle place half the time and a literal match of a fact half the time (official IsDir task).
    """
    story = StoryBuilder(space_before_tab=False)
    first, middle, last = rng.sample(PLACES, 3)
    toward, away = pick(rng, AXES)
    facts = [(first, middle), (middle, last)]  # (a, b): a lies `toward` of b
    order = [0, 1]
    rng.shuffle(order)
    line_of: dict[int, int] = {}
    for index in order:
        a, b = facts[index]
        told = f"The {a} is {toward} of the {b}." if rng.random() < 0.5 else f"The {b} is {away} of the {a}."
        line_of[index] = story.say(told)
    # The asked relation: the middle place lies `direction` of `end`.
    direction, end, fact = (toward, last, 1) if rng.random() < 0.5 else (away, first, 0)
    opposite = away if direction == toward else toward
    question, answer = pick(
        rng,
        [
            (f"What is {direction} of the {end}?", middle),
            (f"What is {opposite} of the {middle}?", end),
            (f"What is the {middle} {direction} of?", end),
            (f"What is the {end} {opposite} of?", middle),
        ],
    )
    story.ask(question, answer, [line_of[fact]])
    return story.story()


SHAPES17 = ("triangle", "red square", "blue square", "yellow square", "pink rectangle", "red sphere")
RELATIONS17 = {"above": (1, 1), "below": (1, -1), "to the right of": (0, 1), "to the left of": (0, -1)}


def task17(rng: random.Random) -> Story:
    """Two statements place two shapes relative to a third; eight yes/no questions about the two."""
    story = StoryBuilder(space_before_tab=False)
    anchor, first, second = rng.sample(SHAPES17, 3)
    position = {anchor: (0, 0)}
    line_of: dict[str, int] = {}
    used: list[str] = []
    for shape in (first, second):
        relation = pick(rng, [r for r in RELATIONS17 if r not in used])  # the two shapes never coincide
        used.append(relation)
        axis, sign = RELATIONS17[relation]
        position[shape] = (sign, 0) if axis == 0 else (0, sign)
        if rng.random() < 0.5:
            line_of[shape] = story.say(f"The {shape} is {relation} the {anchor}.")
        else:  # the same fact told from the anchor's side
            inverse = next(r for r, (a, s) in RELATIONS17.items() if a == axis and s == -sign)
            line_of[shape] = story.say(f"The {anchor} is {inverse} the {shape}.")
    askable = [r for r, (axis, _) in RELATIONS17.items() if position[first][axis] != position[second][axis]]
    for _ in range(8):
        x, y = (first, second) if rng.random() < 0.5 else (second, first)
        relation = pick(rng, askable)
        axis, sign = RELATIONS17[relation]
        holds = (position[x][axis] - position[y][axis]) * sign > 0
        story.ask(f"Is the {x} {relation} the {y}?", "yes" if holds else "no", [line_of[x], line_of[y]])
    return story.story()


def task19(rng: random.Random) -> Story:
    """A two-step route between two of six rooms on a grid, and three more rooms off it; five facts.

    As in the official PathFinding task: the route ``start`` → ``middle`` → ``end`` is laid first (the
    second step never turns back), then three decoy rooms, each next to a room already placed (the
    first decoy next to the start or the middle, the last one possibly next to another decoy) on a free
    grid cell. The five facts come in a random order, each told from either end; the question asks for
    the route.
    """
    story = StoryBuilder(space_before_tab=False)
    rooms = list(PLACES)
    rng.shuffle(rooms)
    start, middle, end, *decoys = rooms
    first = pick(rng, list(COMPASS))
    second = pick(rng, [d for d in COMPASS if d != OPPOSITE[first]])
    cell = {start: (0, 0)}
    edges: list[tuple[str, str, str]] = []  # (room, direction, neighbour): neighbour lies `direction` of room
    placed = [start]
    for room, anchor, direction in ((middle, start, first), (end, middle, second)):
        cell[room] = _step(cell[anchor], direction)
        edges.append((anchor, direction, room))
        placed.append(room)
    for room in decoys:
        options = [
            (anchor, direction)
            for anchor in placed[: len(placed) - 1]  # not next to the room placed last (official order)
            for direction in COMPASS
            if _step(cell[anchor], direction) not in cell.values()
        ]
        anchor, direction = pick(rng, options)
        cell[room] = _step(cell[anchor], direction)
        edges.append((anchor, direction, room))
        placed.append(room)
    rng.shuffle(edges)
    line_of: dict[tuple[str, str], int] = {}
    for anchor, direction, room in edges:
        if rng.random() < 0.5:
            line = story.say(f"The {room} is {direction} of the {anchor}.")
        else:
            line = story.say(f"The {anchor} is {OPPOSITE[direction]} of the {room}.")
        line_of[(anchor, room)] = line
    story.ask(
        f"How do you go from the {start} to the {end}?",
        f"{first[0]},{second[0]}",
        [line_of[(start, middle)], line_of[(middle, end)]],
    )
    return story.story()


def _step(position: tuple[int, int], direction: str) -> tuple[int, int]:
    dx, dy = COMPASS[direction]
    return position[0] + dx, position[1] + dy
