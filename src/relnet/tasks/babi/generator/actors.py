"""Tasks about people carrying items around: 1, 2, 3 (where things are or were), 5 (giving), 6
(yes/no), 7 (counting) and 8 (lists)."""

from __future__ import annotations

import random
from collections.abc import Callable

from relnet.tasks.babi.format import Story
from relnet.tasks.babi.generator.story import ITEMS, NUMBERS, PEOPLE, PLACES, StoryBuilder, other, pick
from relnet.tasks.babi.generator.world import ActorWorld

Question = tuple[str, str, list[int]]  # text, answer, supports
Asker = Callable[[ActorWorld], list[Question]]


def _run(
    rng: random.Random,
    people: tuple[str, ...],
    asker: Asker,
    gaps: Callable[[int], int],
    *,
    questions: int = 5,
    get: float = 0.0,
    drop: float = 0.0,
    give: float = 0.0,
    max_carry: int = 3,
) -> Story:
    """Random actions, a question after each gap (``gaps(k)`` statements before question k); when no
    question is askable yet the story goes on until one is."""
    story = StoryBuilder(space_before_tab=True)
    world = ActorWorld(rng, story, people, PLACES, ITEMS, max_carry=max_carry)
    for index in range(questions):
        for _ in range(gaps(index)):
            world.step(get=get, drop=drop, give=give)
        candidates = asker(world)
        while not candidates:
            world.step(get=get, drop=drop, give=give)
            candidates = asker(world)
        story.ask(*pick(rng, candidates))
    return story.story()


def where_is_person(world: ActorWorld) -> list[Question]:
    return [(f"Where is {p}?", world.place[p], [world.moved_at[p]]) for p in world.people if p in world.moved_at]


def task1(rng: random.Random) -> Story:
    return _run(rng, PEOPLE, where_is_person, lambda k: 2)


def task2(rng: random.Random) -> Story:
    def ask(world: ActorWorld) -> list[Question]:
        found = []
        for item in world.items:
            if item in world.holder:
                holder = world.holder[item]
                place, last_move = world.place[holder], world.moved_at[holder]
            elif item in world.lies_at:
                place, last_move = world.lies_at[item], world.dropped_after_move[item]
            else:
                continue
            found.append((f"Where is the {item}?", place, [world.handled_at[item], last_move]))
        return found

    return _run(rng, PEOPLE, ask, lambda k: rng.randint(2, 9 if k == 0 else 7), get=0.35, drop=0.2)


def task3(rng: random.Random) -> Story:
    def ask(world: ActorWorld) -> list[Question]:
        found = []
        for item in world.items:
            trail = world.trail.get(item, [])
            if len(trail) >= 2 and item in world.handled_at:
                (before, before_line), (now, now_line) = trail[-2], trail[-1]
                found.append(
                    (f"Where was the {item} before the {now}?", before, [world.handled_at[item], now_line, before_line])
                )
        return found

    return _run(rng, PEOPLE, ask, lambda k: rng.randint(12, 30) if k == 0 else rng.randint(1, 14), get=0.3, drop=0.15)


def task5(rng: random.Random) -> Story:
    def ask(world: ActorWorld) -> list[Question]:
        found: list[Question] = []
        if not world.gives:
            return found
        last = world.gives[-1]
        latest_of_item = {give.item: give for give in world.gives}
        for give in [last, *(g for g in latest_of_item.values() if g is not last)][:2]:
            a, b, item, line = give.giver, give.receiver, give.item, [give.line]
            found += [
                (f"Who received the {item}?", b, line),
                (f"Who gave the {item}?", a, line),
                (f"Who did {a} give the {item} to?", b, line),
                (f"Who gave the {item} to {b}?", a, line),
            ]
            latest_between = [g for g in world.gives if (g.giver, g.receiver) == (a, b)][-1]
            if latest_between is give:
                found.append((f"What did {a} give to {b}?", item, line))
        return found

    people = ("Bill", "Fred", "Jeff", "Mary")
    return _run(rng, people, ask, lambda k: rng.randint(1, 6), get=0.4, drop=0.1, give=0.5)


def task6(rng: random.Random) -> Story:
    def ask(world: ActorWorld) -> list[Question]:
        found = []
        for person in world.people:
            if person in world.moved_at:
                here, line = world.place[person], [world.moved_at[person]]
                found.append((f"Is {person} in the {here}?", "yes", line))
                found.append((f"Is {person} in the {other(world.rng, world.places, here)}?", "no", line))
        return found

    return _run(rng, PEOPLE, ask, lambda k: 2, get=0.15, drop=0.1)


def _counting(rng: random.Random, asker: Asker) -> Story:
    """Tasks 7 and 8: five questions about people who handled something themselves.

    As in the official Counting task (and the two real stories quoted in docs/babi.md): the first question
    comes once someone has picked something up (at once or one statement later), then one every two
    statements (now and then four).
    """
    story = StoryBuilder(space_before_tab=True)
    world = ActorWorld(rng, story, PEOPLE, PLACES, ITEMS)

    def step() -> None:
        world.step(get=0.45, drop=0.25, give=0.1)

    while story.statements < 2 or not world.agents:
        step()
    if rng.random() < 0.5:
        step()
    for index in range(5):
        for _ in range(0 if index == 0 else 4 if rng.random() < 1 / 8 else 2):
            step()
        story.ask(*pick(rng, asker(world)))
    return story.story()


def task7(rng: random.Random) -> Story:
    def ask(world: ActorWorld) -> list[Question]:
        return [
            (f"How many objects is {p} carrying?", NUMBERS[len(world.carrying.get(p, []))], list(world.handling[p]))
            for p in world.agents
        ]

    return _counting(rng, ask)


def task8(rng: random.Random) -> Story:
    def ask(world: ActorWorld) -> list[Question]:
        return [
            (f"What is {p} carrying?", ",".join(world.carrying.get(p, [])) or "nothing", list(world.handling[p]))
            for p in world.agents
        ]

    return _counting(rng, ask)
