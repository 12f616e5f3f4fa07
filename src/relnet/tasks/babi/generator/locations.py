"""Tasks about where people are, told in different ways: 9 (negation), 10 (indefinite knowledge),
11 (pronouns), 12 (conjunction), 13 (compound coreference) and 14 (time)."""

from __future__ import annotations

import random

from relnet.tasks.babi.format import Story
from relnet.tasks.babi.generator.story import (
    PEOPLE,
    PLACES,
    PRONOUN,
    THEN,
    StoryBuilder,
    move_text,
    other,
    pick,
)

ROUNDS = 5  # tasks 9-13: five rounds of two statements and a question


def task9(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=True)
    known: dict[str, tuple[bool, str, int]] = {}  # person → (is there, place, line)
    for _ in range(ROUNDS):
        for _ in range(2):
            person = pick(rng, PEOPLE)
            place = other(rng, PLACES, known.get(person, (False, None))[1])
            roll = rng.random()
            if roll < 0.35:
                text, there = move_text(rng, person, place), True
            elif roll < 0.6:
                text, there = f"{person} is in the {place}.", True
            elif roll < 0.8:
                text, there = f"{person} is not in the {place}.", False
            else:
                text, there = f"{person} is no longer in the {place}.", False
            known[person] = (there, place, story.say(text))
        present = [p for p in sorted(known) if known[p][0]]
        if present and rng.random() < 0.5:
            person = pick(rng, present)
            story.ask(f"Is {person} in the {known[person][1]}?", "yes", [known[person][2]])
        else:
            person = pick(rng, sorted(known))
            there, place, line = known[person]
            asked = other(rng, PLACES, place) if there else place
            story.ask(f"Is {person} in the {asked}?", "no", [line])
    return story.story()


TASK10_PEOPLE = ("Fred", "Mary", "Bill", "Julie")
TASK10_PLACES = ("school", "park", "kitchen", "office", "cinema", "bedroom")


def task10(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=True)
    known: dict[str, tuple[tuple[str, ...], int]] = {}  # person → (possible places, line)
    for _ in range(ROUNDS):
        for _ in range(2):
            person = pick(rng, TASK10_PEOPLE)
            roll = rng.random()
            if roll < 0.45:
                first, second = rng.sample(TASK10_PLACES, 2)
                known[person] = ((first, second), story.say(f"{person} is either in the {first} or the {second}."))
            else:
                place = pick(rng, TASK10_PLACES)
                text = f"{person} is in the {place}." if roll < 0.7 else move_text(rng, person, place)
                known[person] = ((place,), story.say(text))
        person = pick(rng, sorted(known))
        places, line = known[person]
        answer = pick(rng, ["yes", "no"] if len(places) == 1 else ["maybe", "no"])
        elsewhere = [p for p in TASK10_PLACES if p not in places]
        asked = pick(rng, elsewhere if answer == "no" else places)
        story.ask(f"Is {person} in the {asked}?", answer, [line])
    return story.story()


def task11(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=True)
    where: dict[str, tuple[str, list[int]]] = {}
    for _ in range(ROUNDS):
        person = pick(rng, PEOPLE)
        first = story.say(move_text(rng, person, other(rng, PLACES, where.get(person, ("",))[0])))
        place = pick(rng, PLACES)
        second = story.say(f"{pick(rng, THEN)} {move_text(rng, PRONOUN[person], place)}")
        where[person] = (place, [first, second])
        asked = pick(rng, sorted(where))
        story.ask(f"Where is {asked}?", where[asked][0], where[asked][1])
    return story.story()


def _pair(rng: random.Random) -> tuple[str, str]:
    first, second = rng.sample(PEOPLE, 2)
    return first, second


def task12(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=True)
    where: dict[str, tuple[str, int]] = {}
    for _ in range(ROUNDS):
        for _ in range(2):
            first, second = _pair(rng)
            place = pick(rng, PLACES)
            line = story.say(move_text(rng, f"{first} and {second}", place))
            where[first] = where[second] = (place, line)
        asked = pick(rng, sorted(where))
        story.ask(f"Where is {asked}?", where[asked][0], [where[asked][1]])
    return story.story()


def task13(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=True)
    where: dict[str, tuple[str, list[int]]] = {}
    for _ in range(ROUNDS):
        first, second = _pair(rng)
        named = story.say(move_text(rng, f"{first} and {second}", pick(rng, PLACES)))
        place = pick(rng, PLACES)
        they = story.say(f"{pick(rng, THEN)} {move_text(rng, 'they', place)}")
        where[first] = where[second] = (place, [named, they])
        asked = pick(rng, sorted(where))
        story.ask(f"Where is {asked}?", where[asked][0], where[asked][1])
    return story.story()


TASK14_PEOPLE = ("Bill", "Julie", "Fred", "Mary")
TASK14_PLACES = ("cinema", "school", "park", "office", "kitchen", "bedroom")
TIMES = ("yesterday", "this morning", "this afternoon", "this evening")


def task14(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=True)
    # Each person's days are told mostly in order; "this morning" may come before "yesterday".
    order = {p: ([1, 0, 2, 3] if rng.random() < 0.4 else [0, 1, 2, 3]) for p in TASK14_PEOPLE}
    told: dict[str, dict[int, tuple[str, int]]] = {p: {} for p in TASK14_PEOPLE}

    def tell() -> bool:
        waiting = [p for p in TASK14_PEOPLE if order[p]]
        if not waiting:
            return False
        person = pick(rng, waiting)
        slot = order[person].pop(0)
        neighbours = [told[person][s][0] for s in (slot - 1, slot + 1) if s in told[person]]
        place = pick(rng, [p for p in TASK14_PLACES if p not in neighbours])
        time = TIMES[slot]
        if rng.random() < 0.5:
            text = f"{move_text(rng, person, place)[:-1]} {time}."
        else:
            text = f"{time[0].upper()}{time[1:]} {move_text(rng, person, place)}"
        told[person][slot] = (place, story.say(text))
        return True

    def askable() -> list[tuple[str, str, list[int]]]:
        found = []
        for person in TASK14_PEOPLE:
            slots = told[person]
            for place in sorted({p for p, _ in slots.values()}):
                latest = max(s for s, (p, _) in slots.items() if p == place)
                if latest - 1 in slots:
                    before, before_line = slots[latest - 1]
                    found.append((f"Where was {person} before the {place}?", before, [slots[latest][1], before_line]))
        return found

    for index in range(5):
        for _ in range(4 if index == 0 else 2):
            tell()
        while not askable() and tell():
            pass
        candidates = askable()
        if not candidates:
            break
        story.ask(*pick(rng, candidates))
    return story.story()
