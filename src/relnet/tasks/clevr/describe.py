"""Object descriptions for generated questions: which filters to apply, and how to say them.

A description maps some attributes to values (``{"color": "red", "shape": "cube"}``): "the red cube".
Programs apply its filters in CLEVR's order (size, color, material, shape). Descriptions are chosen so
that no filter is redundant: each one strictly shrinks a non-empty set (a question whose filter changes
nothing is degenerate), and a description of one object is minimal (dropping any attribute would make
it ambiguous).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from relnet.tasks.clevr.vocab import ATTRIBUTES

Description = dict[str, str]

_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "size": {"large": ("large", "big"), "small": ("small", "tiny")},
    "material": {"metal": ("metal", "metallic", "shiny"), "rubber": ("rubber", "matte")},
    "shape": {"cube": ("cube", "block"), "sphere": ("sphere", "ball"), "cylinder": ("cylinder",)},
}
_THING = ("thing", "object")


class RejectError(Exception):
    """This attempt at a question is ill-posed or degenerate; the generator tries again."""


def matching(objects: Sequence[dict], candidates: Sequence[int], description: Description) -> tuple[int, ...]:
    """The candidates that fit every attribute of ``description``."""
    return tuple(i for i in candidates if all(objects[i][a] == v for a, v in description.items()))


def ordered(description: Description) -> list[tuple[str, str]]:
    """The description's filters in program order."""
    return [(attribute, description[attribute]) for attribute in ATTRIBUTES if attribute in description]


def redundant(objects: Sequence[dict], candidates: Sequence[int], description: Description) -> bool:
    """Whether some filter, applied in program order, fails to shrink a non-empty set."""
    current = tuple(candidates)
    for attribute, value in ordered(description):
        narrowed = tuple(i for i in current if objects[i][attribute] == value)
        if not current or len(narrowed) == len(current):
            return True
        current = narrowed
    return False


def unique_description(
    rng: np.random.Generator,
    objects: Sequence[dict],
    candidates: Sequence[int],
    exclude: Sequence[str] = (),
    target: int | None = None,
) -> tuple[int, Description]:
    """A random minimal description of one candidate (``target`` or a random one) without ``exclude``."""
    if not candidates:
        raise RejectError("no object to describe")
    if target is None:
        target = int(candidates[rng.integers(len(candidates))])
    attributes = [a for a in ATTRIBUTES if a not in exclude]
    rng.shuffle(attributes)
    description: Description = {}
    current = tuple(candidates)
    for attribute in attributes:
        if len(current) == 1:
            break
        description[attribute] = objects[target][attribute]
        current = matching(objects, current, {attribute: description[attribute]})
    if len(current) != 1:
        raise RejectError("the object cannot be told apart")
    for attribute in [a for a in attributes if a in description]:
        trial = {a: v for a, v in description.items() if a != attribute}
        if len(matching(objects, candidates, trial)) == 1:
            description = trial
    return target, description


def set_description(
    rng: np.random.Generator, objects: Sequence[dict], candidates: Sequence[int], exclude: Sequence[str] = ()
) -> Description:
    """A random description (0 to 3 attributes) of a subset of ``candidates`` in which no filter is redundant."""
    attributes = [a for a in ATTRIBUTES if a not in exclude]
    if not candidates:
        return {}
    count = min(len(attributes), int(rng.choice([0, 1, 1, 2, 2, 2, 3])))
    chosen = [attributes[i] for i in rng.permutation(len(attributes))[:count]]
    if rng.random() < 0.7:  # usually describe an object that is there, so answers are not mostly 0/"no"
        source = objects[int(candidates[rng.integers(len(candidates))])]
        description = {a: source[a] for a in chosen}
    else:
        description = {a: ATTRIBUTES[a][rng.integers(len(ATTRIBUTES[a]))] for a in chosen}
    if redundant(objects, candidates, description):
        raise RejectError("a filter changes nothing")
    return description


def _pick(rng: np.random.Generator, words: Sequence[str]) -> str:
    return words[rng.integers(len(words))] if len(words) > 1 else words[0]


def noun(rng: np.random.Generator, description: Description, *, plural: bool = False) -> str:
    """'large red metal cube', 'big shiny balls', 'thing', ..."""
    words = []
    for attribute in ("size", "color", "material"):
        if attribute in description:
            value = description[attribute]
            words.append(_pick(rng, _WORDS[attribute][value]) if attribute in _WORDS else value)
    head = _pick(rng, _WORDS["shape"][description["shape"]]) if "shape" in description else _pick(rng, _THING)
    words.append(head + "s" if plural else head)
    return " ".join(words)


def article(phrase: str) -> str:
    """'a red cube' / 'an object'."""
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase
