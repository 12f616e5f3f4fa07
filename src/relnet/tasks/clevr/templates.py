"""relnet's CLEVR question families: one program structure and a few sentence forms each.

The structures are those of the real families (zero-, one-, two- and three-hop, single and/or,
same-attribute relations, attribute comparisons and integer comparisons); the final function gives the
question type (13 types in 5 categories). Each family's :func:`build` samples a question on a scene:
its program in the CLEVR v1.0 node format, its text and its answer, computed here from plain set
operations (the executor re-derives every answer independently). Ill-posed or degenerate attempts raise
:class:`RejectError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from relnet.tasks.clevr.describe import (
    Description,
    RejectError,
    article,
    matching,
    noun,
    ordered,
    set_description,
    unique_description,
)
from relnet.tasks.clevr.vocab import ATTRIBUTES, RELATIONS, answer_text

RELATION_WORDS = {"left": "left of", "right": "right of", "front": "in front of", "behind": "behind"}
ATTRIBUTE_QUESTION = {
    "size": ("What size is the {x}?", "How big is the {x}?", "What is the size of the {x}?"),
    "color": ("What color is the {x}?", "What is the color of the {x}?", "The {x} has what color?"),
    "material": ("What material is the {x}?", "What is the {x} made of?", "What is the material of the {x}?"),
    "shape": ("What shape is the {x}?", "What is the shape of the {x}?", "The {x} has what shape?"),
}


@dataclass
class Context:
    """One attempt at a question: the scene, the random stream and the program built so far."""

    rng: np.random.Generator
    scene: dict
    nodes: list[dict] = field(default_factory=list)

    @property
    def objects(self) -> list[dict]:
        return self.scene["objects"]

    def add(self, function: str, inputs: tuple[int, ...] = (), value: str | None = None) -> int:
        self.nodes.append(
            {"inputs": list(inputs), "function": function, "value_inputs": [] if value is None else [value]}
        )
        return len(self.nodes) - 1

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[self.rng.integers(len(options))]

    def filters(self, node: int, description: Description) -> int:
        for attribute, value in ordered(description):
            node = self.add(f"filter_{attribute}", (node,), value)
        return node

    def related(self, obj: int, relation: str) -> tuple[int, ...]:
        return tuple(sorted(self.scene["relationships"][relation][obj]))


@dataclass
class Target:
    """The end of a structure: a program node giving a set (or one object), and how to say it."""

    node: int
    members: tuple[int, ...]
    description: Description
    clause: str  # e.g. "left of the red cube"; "" for a zero-hop set
    used: tuple[int, ...] = ()  # objects already named (a one-object target must differ from them)


def _reference(ctx: Context, exclude: tuple[str, ...] = (), avoid: tuple[int, ...] = ()) -> tuple[int, int, str]:
    """A zero-hop unique object: (node, object, 'the large red cube')."""
    obj, description = unique_description(ctx.rng, ctx.objects, range(len(ctx.objects)), exclude)
    if obj in avoid:
        raise RejectError("the same object twice")
    node = ctx.add("unique", (ctx.filters(ctx.add("scene"), description),))
    return node, obj, "the " + noun(ctx.rng, description)


def _finish(ctx: Context, node: int, candidates: tuple[int, ...], unique: bool, exclude: tuple[str, ...]) -> tuple:
    """Filters ending a structure: a set description, or a minimal one for a single object."""
    if unique:
        obj, description = unique_description(ctx.rng, ctx.objects, candidates, exclude)
        return ctx.add("unique", (ctx.filters(node, description),)), (obj,), description
    description = set_description(ctx.rng, ctx.objects, candidates, exclude)
    return ctx.filters(node, description), matching(ctx.objects, candidates, description), description


def chain(ctx: Context, hops: int, unique: bool, exclude: tuple[str, ...] = ()) -> Target:
    """scene → filters (→ unique → relate → filters)×hops: 'cubes left of the sphere that is behind the X'."""
    if hops == 0:
        node, members, description = _finish(ctx, ctx.add("scene"), tuple(range(len(ctx.objects))), unique, exclude)
        return Target(node, members, description, "")
    node, obj, phrase = _reference(ctx)
    used = [obj]
    for hop in range(hops):
        relation = ctx.pick(RELATIONS)
        words = RELATION_WORDS[relation]
        candidates = ctx.related(obj, relation)
        node = ctx.add("relate", (node,), relation)
        if hop == hops - 1:
            node, members, description = _finish(ctx, node, candidates, unique, exclude)
            if unique and members[0] in used:
                raise RejectError("the chain comes back to an object it named")
            return Target(node, members, description, f"{words} {phrase}", tuple(used))
        obj, description = unique_description(ctx.rng, ctx.objects, candidates)
        if obj in used:
            raise RejectError("the chain comes back to an object it named")
        used.append(obj)
        node = ctx.add("unique", (ctx.filters(node, description),))
        phrase = f"the {noun(ctx.rng, description)} that is {words} {phrase}"
    raise AssertionError("unreachable")


def both(ctx: Context, unique: bool, exclude: tuple[str, ...] = ()) -> Target:
    """Objects related to two references at once: 'both left of the X and behind the Y'."""
    first, first_obj, first_phrase = _reference(ctx)
    second, second_obj, second_phrase = _reference(ctx, avoid=(first_obj,))
    r1, r2 = ctx.pick(RELATIONS), ctx.pick(RELATIONS)
    set1, set2 = set(ctx.related(first_obj, r1)), set(ctx.related(second_obj, r2))
    together = tuple(sorted(set1 & set2))
    if set(together) in (set1, set2):
        raise RejectError("one condition already implies the other")
    node = ctx.add("intersect", (ctx.add("relate", (first,), r1), ctx.add("relate", (second,), r2)))
    node, members, description = _finish(ctx, node, together, unique, exclude)
    if unique and members[0] in (first_obj, second_obj):
        raise RejectError("the answer is a reference object")
    clause = f"both {RELATION_WORDS[r1]} {first_phrase} and {RELATION_WORDS[r2]} {second_phrase}"
    return Target(node, members, description, clause, (first_obj, second_obj))


def same(ctx: Context, attribute: str, unique: bool, exclude: tuple[str, ...] = ()) -> Target:
    """Objects sharing an attribute with a reference: 'the same color as the large cube'."""
    ref, obj, phrase = _reference(ctx, exclude=(attribute,))
    value = ctx.objects[obj][attribute]
    candidates = tuple(i for i, o in enumerate(ctx.objects) if i != obj and o[attribute] == value)
    node = ctx.add(f"same_{attribute}", (ref,))
    node, members, description = _finish(ctx, node, candidates, unique, (attribute, *exclude))
    return Target(node, members, description, f"the same {attribute} as {phrase}", (obj,))


# ----------------------------------------------------------------------------------------- sentences
def _heads(ctx: Context, target: Target) -> str:
    return noun(ctx.rng, target.description, plural=True)


def count_text(ctx: Context, target: Target, kind: str) -> str:
    heads = _heads(ctx, target)
    things = f"other {heads} have {target.clause}" if kind == "same" else f"{heads} are {target.clause or 'there'}"
    return ctx.pick((f"How many {things}?", f"What number of {things}?"))


def exist_text(ctx: Context, target: Target, kind: str) -> str:
    heads, head, clause = _heads(ctx, target), noun(ctx.rng, target.description), target.clause
    if kind == "same":
        return ctx.pick(
            (f"Are there any other {heads} that have {clause}?", f"Is there another {head} that has {clause}?")
        )
    if not clause:
        return ctx.pick((f"Are there any {heads}?", f"Is there {article(head)}?"))
    return ctx.pick((f"Are there any {heads} that are {clause}?", f"Is there {article(head)} that is {clause}?"))


def object_phrase(ctx: Context, target: Target, kind: str) -> str:
    """'large cube that is left of the sphere' (without the article)."""
    head = noun(ctx.rng, target.description)
    if kind == "same":
        return f"other {head} that has {target.clause}"
    return f"{head} that is {target.clause}" if target.clause else head


# ----------------------------------------------------------------------------------------- families
Builder = Callable[[Context], tuple[str, str]]


@dataclass(frozen=True)
class Family:
    """A question family: its structure name, question type and builder (text, answer)."""

    structure: str
    question_type: str
    build: Builder


def _structure(ctx: Context, kind: str, unique: bool, exclude: tuple[str, ...], same_attribute: str | None) -> Target:
    if kind == "and":
        return both(ctx, unique, exclude)
    if kind == "same":
        return same(ctx, same_attribute or "color", unique, exclude)
    return chain(ctx, {"zero_hop": 0, "one_hop": 1, "two_hop": 2, "three_hop": 3}[kind], unique, exclude)


def _set_question(function: str, kind: str, same_attribute: str | None = None) -> Builder:
    """A ``count`` or ``exist`` question about a set."""

    def build(ctx: Context) -> tuple[str, str]:
        target = _structure(ctx, kind, False, (), same_attribute)
        ctx.add(function, (target.node,))
        if function == "count":
            return count_text(ctx, target, kind), str(len(target.members))
        return exist_text(ctx, target, kind), answer_text(bool(target.members))

    return build


def _querying(kind: str, attribute: str, same_attribute: str | None = None) -> Builder:
    def build(ctx: Context) -> tuple[str, str]:
        target = _structure(ctx, kind, True, (attribute,), same_attribute)
        ctx.add(f"query_{attribute}", (target.node,))
        text = ctx.pick(ATTRIBUTE_QUESTION[attribute]).format(x=object_phrase(ctx, target, kind))
        return text, ctx.objects[target.members[0]][attribute]

    return build


def _compare_attribute(attribute: str, hops: int) -> Builder:
    def build(ctx: Context) -> tuple[str, str]:
        first = chain(ctx, hops, True, (attribute,))
        first_query = ctx.add(f"query_{attribute}", (first.node,))
        second = chain(ctx, 0, True, (attribute,))
        if second.members[0] in (*first.members, *first.used):
            raise RejectError("comparing an object with itself")
        second_query = ctx.add(f"query_{attribute}", (second.node,))
        ctx.add(f"equal_{attribute}", (first_query, second_query))
        x, y = object_phrase(ctx, first, "chain"), object_phrase(ctx, second, "chain")
        forms = [f"Is the {x} the same {attribute} as the {y}?", f"Does the {x} have the same {attribute} as the {y}?"]
        if attribute == "material":
            forms.append(f"Is the {x} made of the same material as the {y}?")
        answer = ctx.objects[first.members[0]][attribute] == ctx.objects[second.members[0]][attribute]
        return ctx.pick(forms), answer_text(answer)

    return build


_INTEGER_WORDS = {
    "equal_integer": ("the same as", "Are there the same number of {a} and {b}?"),
    "less_than": ("less than", "Are there fewer {a} than {b}?"),
    "greater_than": ("greater than", "Are there more {a} than {b}?"),
}


def _compare_integer(function: str, hops: int) -> Builder:
    def build(ctx: Context) -> tuple[str, str]:
        first = chain(ctx, hops, False)
        first_count = ctx.add("count", (first.node,))
        second = chain(ctx, 0, False)
        if hops == 0 and first.description == second.description:
            raise RejectError("comparing a set with itself")
        if not first.members and not second.members:
            raise RejectError("two empty sets")
        ctx.add(function, (first_count, ctx.add("count", (second.node,))))
        a = _heads(ctx, first) + (f" {first.clause}" if first.clause else "")
        b = _heads(ctx, second)
        words, short = _INTEGER_WORDS[function]
        forms = [f"Is the number of {a} {words} the number of {b}?"]
        if hops == 0:
            forms.append(short.format(a=a, b=b))
        x, y = len(first.members), len(second.members)
        answer = {"equal_integer": x == y, "less_than": x < y, "greater_than": x > y}[function]
        return ctx.pick(forms), answer_text(answer)

    return build


def _union_count(ctx: Context) -> tuple[str, str]:
    everything = tuple(range(len(ctx.objects)))
    first = set_description(ctx.rng, ctx.objects, everything)
    second = set_description(ctx.rng, ctx.objects, everything)
    set1, set2 = set(matching(ctx.objects, everything, first)), set(matching(ctx.objects, everything, second))
    if not first or not second or not set1 or not set2 or set1 <= set2 or set2 <= set1:
        raise RejectError("one side of the 'or' is empty or holds the other")
    left = ctx.filters(ctx.add("scene"), first)
    right = ctx.filters(ctx.add("scene"), second)
    ctx.add("count", (ctx.add("union", (left, right)),))
    a, b = noun(ctx.rng, first, plural=True), noun(ctx.rng, second, plural=True)
    text = ctx.pick((f"How many things are {a} or {b}?", f"What number of objects are either {a} or {b}?"))
    return text, str(len(set1 | set2))


def _union_exist(ctx: Context) -> tuple[str, str]:
    """Are there any <filtered> things among the objects that are left of X or behind Y?"""
    first, first_obj, first_phrase = _reference(ctx)
    second, second_obj, second_phrase = _reference(ctx, avoid=(first_obj,))
    r1, r2 = ctx.pick(RELATIONS), ctx.pick(RELATIONS)
    set1, set2 = set(ctx.related(first_obj, r1)), set(ctx.related(second_obj, r2))
    if set1 <= set2 or set2 <= set1:
        raise RejectError("one side of the 'or' holds the other")
    node = ctx.add("union", (ctx.add("relate", (first,), r1), ctx.add("relate", (second,), r2)))
    candidates = tuple(sorted(set1 | set2))
    description = set_description(ctx.rng, ctx.objects, candidates)
    ctx.add("exist", (ctx.filters(node, description),))
    heads = noun(ctx.rng, description, plural=True)
    text = (
        f"Are there any {heads} that are {RELATION_WORDS[r1]} {first_phrase} or {RELATION_WORDS[r2]} {second_phrase}?"
    )
    return text, answer_text(bool(matching(ctx.objects, candidates, description)))


def _families() -> list[Family]:
    families: list[Family] = []
    for kind in ("zero_hop", "one_hop", "two_hop", "three_hop", "and"):
        structure = "single_and" if kind == "and" else kind
        families += [Family(structure, function, _set_question(function, kind)) for function in ("count", "exist")]
        families.extend(Family(structure, f"query_{a}", _querying(kind, a)) for a in ATTRIBUTES)
    families.append(Family("single_or", "count", _union_count))
    families.append(Family("single_or", "exist", _union_exist))
    for attribute in ATTRIBUTES:
        families += [Family("same_relate", f, _set_question(f, "same", attribute)) for f in ("count", "exist")]
        families.extend(
            Family("same_relate", f"query_{other}", _querying("same", other, attribute))
            for other in ATTRIBUTES
            if other != attribute
        )
    families += [Family("comparison", f"equal_{a}", _compare_attribute(a, hops)) for hops in (0, 1) for a in ATTRIBUTES]
    integers = ("equal_integer", "less_than", "greater_than")
    families += [Family("compare_integer", f, _compare_integer(f, hops)) for hops in (0, 1) for f in integers]
    return families


#: relnet's families, indexed by ``question_family_index`` (not the official 90 templates' numbering).
FAMILIES: tuple[Family, ...] = tuple(_families())
