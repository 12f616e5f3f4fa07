"""bAbI's fixed word and answer vocabularies, shared by real and generated data.

The vocabularies are fixed (not built from a dataset), so a model trained on relnet's generated
bAbI evaluates on the real files and vice versa. They cover the words and answers of the English
v1.2 tasks; a word outside them reads as ``<unk>``. An answer outside them is refused by the reader
(``format.py``); class 0, the ``<unk>`` answer, is never counted correct.
"""

from __future__ import annotations

import itertools
import re

PAD, UNK = "<pad>", "<unk>"

_WORDS = """
a above afraid after afterwards and antoine apple are back bathroom bedroom before below bernhard
bigger bill blue bored box brian carrying cat cats chest chocolate chocolates cinema color container
daniel did discarded do does down dropped east either emily evening fit fits following football
fred frog from gave get gertrude give go got grabbed gray green greg handed he hallway how hungry in
inside is jason jeff jessica john journeyed julie julius kitchen left lily lion longer many mary
milk morning mouse moved no north not objects of office or pajamas park passed picked pink put
received rectangle red rhino right sandra school sheep she south sphere square suitcase sumit swan
that the then there they thirsty this tired to took travelled triangle up was went west what where
white who why will winona wolf wolves yann yellow yesterday you afternoon mice garden than
"""
#: Token 0 pads, token 1 stands for unknown words.
WORDS: tuple[str, ...] = (PAD, UNK, *sorted(set(_WORDS.split())))
WORD_INDEX = {word: index for index, word in enumerate(WORDS)}

LOCATIONS = ("bathroom", "bedroom", "cinema", "garden", "hallway", "kitchen", "office", "park", "school")
ITEMS = ("apple", "football", "milk", "pajamas")
PEOPLE_ANSWERS = ("bill", "fred", "jeff", "mary")
COUNTS = ("none", "one", "two", "three", "four", "five")
ANIMALS = ("cat", "mouse", "sheep", "wolf")
COLORS = ("gray", "green", "white", "yellow")
MOTIVES = ("bored", "hungry", "thirsty", "tired")
DIRECTIONS = ("n", "s", "e", "w")
_LIST_ITEMS = ("apple", "football", "milk")
#: Task 8: the items carried, in the order they were picked up.
LISTS = tuple(",".join(combo) for size in (2, 3) for combo in itertools.permutations(_LIST_ITEMS, size))
PATHS = tuple(",".join(pair) for pair in itertools.product(DIRECTIONS, repeat=2))  # task 19

#: Answer classes; answers are matched lower-case (task 5 answers "Bill", task 15 "wolf").
_ANSWER_GROUPS = (LOCATIONS, ITEMS, PEOPLE_ANSWERS, COUNTS, ANIMALS, COLORS, MOTIVES, LISTS, PATHS)
ANSWERS: tuple[str, ...] = (UNK, "yes", "no", "maybe", "nothing", *itertools.chain(*_ANSWER_GROUPS))
ANSWER_INDEX = {answer: index for index, answer in enumerate(ANSWERS)}

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case words without punctuation: ``"Where is Mary? "`` → ``["where", "is", "mary"]``."""
    return _TOKEN.findall(text.lower())


def word_ids(text: str) -> list[int]:
    """Token ids of ``text`` (unknown words → 1)."""
    return [WORD_INDEX.get(word, 1) for word in tokenize(text)]


def answer_id(answer: str) -> int:
    """The answer's class (0, the ``<unk>`` answer, if it is not in :data:`ANSWERS`)."""
    return ANSWER_INDEX.get(answer.lower(), 0)
