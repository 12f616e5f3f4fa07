"""Tasks about positions: 4 (two-argument relations), 17 (positional reasoning), 19 (paths)."""

from __future__ import annotations

import random

from relnet.tasks.babi.format import Story
from relnet.tasks.babi.generator.story import PLACES, StoryBuilder, pick

COMPASS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


def task4(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=False)
    middle, first, second = rng.sample(PLACES, 3)
    direction = pick(rng, list(COMPASS))
    other_direction = pick(rng, [d for d in COMPASS if d != direction])
    facts = [(first, direction, middle), (second, other_direction, middle)]
    rng.shuffle(facts)
    lines = [story.say(f"The {a} is {d} of the {b}.") for a, d, b in facts]
    index = rng.randrange(2)
    a, d, b = facts[index]
    if rng.random() < 0.5:
        story.ask(f"What is {d} of the {b}?", a, [lines[index]])
    else:
        story.ask(f"What is the {a} {d} of?", b, [lines[index]])
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
        offset = [0, 0]
        offset[axis] = sign
        position[shape] = (offset[0], offset[1])
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
    """Six rooms on a grid joined by five told adjacencies (a tree); one two-step route question."""
    story = StoryBuilder(space_before_tab=False)
    rooms = list(PLACES)
    rng.shuffle(rooms)
    cell = {rooms[0]: (0, 0)}
    edges: list[tuple[str, str, str]] = []  # (room, direction, neighbour): neighbour lies `direction` of room
    for room in rooms[1:]:
        while True:
            anchor = pick(rng, list(cell))
            direction = pick(rng, list(COMPASS))
            dx, dy = COMPASS[direction]
            spot = (cell[anchor][0] + dx, cell[anchor][1] + dy)
            if spot not in cell.values():
                break
        cell[room] = spot
        edges.append((anchor, direction, room))
    rng.shuffle(edges)
    step: dict[tuple[str, str], tuple[str, int]] = {}  # (from, to) → (direction letter, line)
    for anchor, direction, room in edges:
        if rng.random() < 0.5:
            line = story.say(f"The {room} is {direction} of the {anchor}.")
        else:
            line = story.say(f"The {anchor} is {OPPOSITE[direction]} of the {room}.")
        step[(anchor, room)] = (direction[0], line)
        step[(room, anchor)] = (OPPOSITE[direction][0], line)
    routes = [
        (start, end, middle)
        for start in rooms
        for middle in rooms
        for end in rooms
        if start != end and (start, middle) in step and (middle, end) in step and (start, end) not in step
    ]
    start, end, middle = pick(rng, routes)
    (first, first_line), (second, second_line) = step[(start, middle)], step[(middle, end)]
    story.ask(f"How do you go from the {start} to the {end}?", f"{first},{second}", [first_line, second_line])
    return story.story()
