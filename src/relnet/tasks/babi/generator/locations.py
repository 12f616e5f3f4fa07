"""Tasks about where people are, told in different ways: 9 (negation), 10 (indefinite knowledge),
11 (pronouns), 12 (conjunction), 13 (compound coreference) and 14 (time)."""

from __future__ import annotations

import random

from relnet.tasks.babi.format import Story
from relnet.tasks.babi.generator.story import PEOPLE, PLACES, PRONOUN, THEN, StoryBuilder, move_text, other, pick

ROUNDS = 5  # tasks 9-13: five rounds of two statements and a question


def task9(rng: random.Random) -> Story:
    """Moves, "X is in the P." and negations; each question asks whether someone is in some place.

    As in the official Negation task: half the statements are moves, a quarter "X is in the P." and a
    quarter negations ("X is not in the P." or "X is no longer in the P."). A negation names where the
    person was (their last affirmed place, or where they were before the story mentioned them) and sends
    them somewhere the story does not tell. The question picks someone already mentioned; about an
    affirmative latest fact it asks that place ("yes") or, half the time, another one ("no"); about a
    negation it asks the negated place ("no"). So "yes" answers 3/8 of the questions.
    """
    story = StoryBuilder(space_before_tab=True)
    where = {person: pick(rng, PLACES) for person in PEOPLE}  # the true places, unknown to the reader
    latest: dict[str, tuple[bool, str, int]] = {}  # person → (affirmative, place, line) of the latest fact
    mentioned: list[str] = []
    for _ in range(ROUNDS):
        for _ in range(2):
            person = pick(rng, PEOPLE)
            roll = rng.random()
            if roll < 0.75:
                place = other(rng, PLACES, where[person])
                text = move_text(rng, person, place) if roll < 0.5 else f"{person} is in the {place}."
                where[person] = place
            else:
                place = where[person]
                text = f"{person} is {pick(rng, ('not', 'no longer'))} in the {place}."
                where[person] = other(rng, PLACES, place)
            latest[person] = (roll < 0.75, place, story.say(text))
            if person not in mentioned:
                mentioned.append(person)
        person = pick(rng, mentioned)
        affirmative, place, line = latest[person]
        if affirmative and rng.random() < 0.5:
            story.ask(f"Is {person} in the {other(rng, PLACES, place)}?", "no", [line])
        else:
            story.ask(f"Is {person} in the {place}?", "yes" if affirmative else "no", [line])
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
        start = other(rng, PLACES, where.get(person, ("",))[0])
        first = story.say(move_text(rng, person, start))
        place = other(rng, PLACES, start)  # a move to where one already is is no action
        second = story.say(f"{pick(rng, THEN)} {move_text(rng, PRONOUN[person], place)}")
        where[person] = (place, [first, second])
        asked = pick(rng, sorted(where))
        story.ask(f"Where is {asked}?", where[asked][0], where[asked][1])
    return story.story()


def _pair(rng: random.Random) -> tuple[str, str]:
    first, second = rng.sample(PEOPLE, 2)
    return first, second


def task12(rng: random.Random) -> Story:
    """Two pairs move to two different places each round; the question asks about one of the four movers."""
    story = StoryBuilder(space_before_tab=True)
    where: dict[str, tuple[str, int]] = {}
    for _ in range(ROUNDS):
        movers: list[str] = []
        for place in rng.sample(PLACES, 2):
            pair = _pair(rng)
            line = story.say(move_text(rng, f"{pair[0]} and {pair[1]}", place))
            for person in pair:
                where[person] = (place, line)
            movers.extend(pair)
        asked = pick(rng, movers)
        story.ask(f"Where is {asked}?", where[asked][0], [where[asked][1]])
    return story.story()


def task13(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=True)
    where: dict[str, tuple[str, list[int]]] = {}
    for _ in range(ROUNDS):
        first, second = _pair(rng)
        start, place = rng.sample(PLACES, 2)
        named = story.say(move_text(rng, f"{first} and {second}", start))
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
