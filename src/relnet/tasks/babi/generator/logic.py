"""Tasks of rules and properties: 15 (deduction), 16 (induction), 18 (sizes) and 20 (motivations)."""

from __future__ import annotations

import random
from collections import deque

from relnet.tasks.babi.format import Story
from relnet.tasks.babi.generator.story import MOVE_VERBS, StoryBuilder, pick

SPECIES = {"mouse": "Mice", "cat": "Cats", "sheep": "Sheep", "wolf": "Wolves"}  # singular → plural
TASK15_NAMES = ("Gertrude", "Winona", "Emily", "Jessica")


def task15(rng: random.Random) -> Story:
    story = StoryBuilder(space_before_tab=False)
    kinds = list(SPECIES)
    fears = {kind: pick(rng, [k for k in kinds if k != kind]) for kind in kinds}
    kind_of = {name: pick(rng, kinds) for name in TASK15_NAMES}
    statements = [("fear", kind) for kind in kinds] + [("is", name) for name in TASK15_NAMES]
    rng.shuffle(statements)
    fear_line: dict[str, int] = {}
    is_line: dict[str, int] = {}
    for what, key in statements:
        if what == "fear":
            fear_line[key] = story.say(f"{SPECIES[key]} are afraid of {SPECIES[fears[key]].lower()}.")
        else:
            is_line[key] = story.say(f"{key} is a {kind_of[key]}.")
    for _ in range(4):
        name = pick(rng, TASK15_NAMES)
        kind = kind_of[name]
        story.ask(f"What is {name.lower()} afraid of?", fears[kind], [is_line[name], fear_line[kind]])
    return story.story()


TASK16_NAMES = ("Lily", "Bernhard", "Brian", "Julius", "Greg")
ANIMALS16 = ("frog", "lion", "swan", "rhino")
COLORS16 = ("green", "white", "yellow", "gray")


#: How often the asked person's statement is the last one (3 of the 5 real stories quoted in docs/babi.md).
TASK16_ASKED_LAST = 0.6


def task16(rng: random.Random) -> Story:
    """Five people of three animals, four of them with a colour; what colour is the fifth?

    As in the real stories: the asked person shares an animal with exactly one witness, two others share a
    second animal and one has a third; colours are per animal (one of four each, repeats allowed). The
    eight statements of the four coloured people come in a random order, each person's animal before
    their colour; the asked person's animal is told last or, less often, anywhere before.
    """
    story = StoryBuilder(space_before_tab=False)
    names = list(TASK16_NAMES)
    rng.shuffle(names)
    asked, witness, pair_a, pair_b, single = names
    asked_animal, pair_animal, single_animal = rng.sample(ANIMALS16, 3)
    color_of = {animal: pick(rng, COLORS16) for animal in ANIMALS16}
    animal_of = {asked: asked_animal, witness: asked_animal, pair_a: pair_animal, pair_b: pair_animal}
    animal_of[single] = single_animal
    order = [name for name in (witness, pair_a, pair_b, single) for _ in range(2)]
    rng.shuffle(order)  # a person's first place is their animal, the second their colour
    position = len(order) if rng.random() < TASK16_ASKED_LAST else rng.randrange(len(order))
    order.insert(position, asked)
    type_line: dict[str, int] = {}
    color_line: dict[str, int] = {}
    for name in order:
        if name in type_line:
            color_line[name] = story.say(f"{name} is {color_of[animal_of[name]]}.")
        else:
            type_line[name] = story.say(f"{name} is a {animal_of[name]}.")
    answer = color_of[asked_animal]
    story.ask(f"What color is {asked}?", answer, [type_line[asked], type_line[witness], color_line[witness]])
    return story.story()


TASK18_THINGS = ("box", "box of chocolates", "chest", "chocolate", "container", "suitcase")
#: Always the smallest things, in this order (the official world: the chocolate 0.5, the box of
#: chocolates 1, every other thing between 1 and 2; no real story says otherwise).
TASK18_SMALLEST = ("chocolate", "box of chocolates")


def task18(rng: random.Random) -> Story:
    """Five size facts, five yes/no questions about sizes that follow from two of them."""
    story = StoryBuilder(space_before_tab=False)
    things = rng.sample(TASK18_THINGS, rng.randint(4, 6))
    things.sort(key=lambda thing: TASK18_SMALLEST.index(thing) if thing in TASK18_SMALLEST else 2)  # stable
    size = {thing: rank for rank, thing in enumerate(things)}  # the rest in a random order of sizes
    pairs = [(a, b) for a in things for b in things if size[a] < size[b]]  # (smaller, bigger)
    for _ in range(50):  # five facts from which some size follows in two steps, never stated itself
        chosen = rng.sample(pairs, 5)
        two_steps = [
            (small, big, (first + 1, second + 1))  # the facts are lines 1-5
            for first, (small, middle) in enumerate(chosen)
            for second, (middle_again, big) in enumerate(chosen)
            if middle == middle_again and (small, big) not in chosen
        ]
        if two_steps:
            break
    stated: dict[tuple[str, str], int] = {}
    for smaller, bigger in chosen:
        fits = rng.random() < 0.5
        stated[(smaller, bigger)] = story.say(
            f"The {smaller} fits inside the {bigger}." if fits else f"The {bigger} is bigger than the {smaller}."
        )
    direct = [(small, big, (line,)) for (small, big), line in stated.items()]
    candidates = two_steps or direct
    for _ in range(5):
        small, big, lines = pick(rng, candidates)
        small_first = rng.random() < 0.5
        if rng.random() < 0.5:
            # "Does x fit in y?" is true when x is the smaller one.
            x, y = (small, big) if small_first else (big, small)
            question, answer = f"Does the {x} fit in the {y}?", "yes" if small_first else "no"
        else:
            x, y = (big, small) if small_first else (small, big)
            question, answer = f"Is the {x} bigger than the {y}?", "yes" if small_first else "no"
        supports = list(lines) if answer == "no" else list(reversed(lines))
        story.ask(question, answer, supports)
    return story.story()


MOTIVES = {"hungry": ("kitchen", "apple"), "thirsty": ("kitchen", "milk"), "tired": ("bedroom", "pajamas"),
           "bored": ("garden", "football")}  # fmt: skip
TASK20_NAMES = ("Sumit", "Yann", "Jason", "Antoine")
TASK20_GET = ("got", "grabbed", "took")


def task20(rng: random.Random) -> Story:
    """Each person feels something, goes where that leads and gets the thing there; every statement is
    followed by a question about it (where will they go, why did they go there, why did they get it)."""
    story = StoryBuilder(space_before_tab=False)
    names = list(TASK20_NAMES)
    rng.shuffle(names)
    stage = {name: 0 for name in names}
    motive: dict[str, tuple[str, int]] = {}
    active: deque[str] = deque()
    waiting = deque(names)
    statements = rng.randint(8, 12)
    while story.statements < statements and (active or waiting):
        if waiting and (not active or rng.random() < 0.35):
            active.append(waiting.popleft())
        name = active[rng.randrange(len(active))]
        low = name.lower()
        if stage[name] == 0:
            feeling = pick(rng, list(MOTIVES))
            motive[name] = (feeling, story.say(f"{name} is {feeling}."))
            story.ask(f"Where will {low} go?", MOTIVES[feeling][0], [motive[name][1]])
        else:
            feeling, line = motive[name]
            place, item = MOTIVES[feeling]
            if stage[name] == 1:
                story.say(f"{name} {pick(rng, MOVE_VERBS)} to the {place}.")
                story.ask(f"Why did {low} go to the {place}?", feeling, [line])
            else:
                story.say(f"{name} {pick(rng, TASK20_GET)} the {item} there.")
                story.ask(f"Why did {low} get the {item}?", feeling, [line])
                active.remove(name)
        stage[name] += 1
    return story.story()
