"""Run CLEVR functional programs over scenes.

A program is the list of nodes of a CLEVR v1.0 question, ``{"function", "inputs", "value_inputs"}``,
topologically sorted; the last node's output is the answer. Values flowing between nodes have one of
five kinds: a set of objects (a sorted tuple of object indices), one object (an index), an integer, a
boolean, or an attribute value (a string).

:func:`check_program` checks the program alone (known functions, arity, input kinds, literal values);
:func:`execute` runs it on a scene. A well-formed program can still be ill-posed on a scene (``unique``
of a set that does not hold exactly one object): that raises :class:`IllPosedError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from relnet.tasks.clevr.vocab import ATTRIBUTES, RELATIONS, answer_text

OBJECTS, OBJECT, INTEGER, BOOL, VALUE = "objects", "object", "integer", "bool", "value"


class ProgramError(ValueError):
    """A malformed program: unknown function, wrong inputs, a literal outside the vocabulary."""


class IllPosedError(ValueError):
    """A program that a scene cannot answer: ``unique`` of zero or several objects."""


@dataclass(frozen=True)
class Signature:
    """Input kinds, output kind, and the allowed literal values (``None``: takes no literal)."""

    inputs: tuple[str, ...]
    output: str
    values: tuple[str, ...] | None = None


def _signatures() -> dict[str, Signature]:
    table = {
        "scene": Signature((), OBJECTS),
        "unique": Signature((OBJECTS,), OBJECT),
        "relate": Signature((OBJECT,), OBJECTS, RELATIONS),
        "union": Signature((OBJECTS, OBJECTS), OBJECTS),
        "intersect": Signature((OBJECTS, OBJECTS), OBJECTS),
        "count": Signature((OBJECTS,), INTEGER),
        "exist": Signature((OBJECTS,), BOOL),
        "equal_integer": Signature((INTEGER, INTEGER), BOOL),
        "less_than": Signature((INTEGER, INTEGER), BOOL),
        "greater_than": Signature((INTEGER, INTEGER), BOOL),
        "equal_object": Signature((OBJECT, OBJECT), BOOL),
    }
    for attribute, values in ATTRIBUTES.items():
        table[f"filter_{attribute}"] = Signature((OBJECTS,), OBJECTS, values)
        table[f"query_{attribute}"] = Signature((OBJECT,), VALUE)
        table[f"equal_{attribute}"] = Signature((VALUE, VALUE), BOOL)
        table[f"same_{attribute}"] = Signature((OBJECT,), OBJECTS)
    return table


SIGNATURES: dict[str, Signature] = _signatures()
FUNCTIONS: tuple[str, ...] = tuple(sorted(SIGNATURES))


def check_program(program: Any) -> list[str]:
    """Check a program's structure; returns each node's output kind, raises :class:`ProgramError`."""
    if not isinstance(program, list) or not program:
        raise ProgramError("the program must be a non-empty list of nodes")
    kinds: list[str] = []
    for index, node in enumerate(program):
        where = f"program node {index}"
        if not isinstance(node, dict):
            raise ProgramError(f"{where}: expected an object with function, inputs and value_inputs")
        function = node.get("function")
        if function is None and "type" in node:  # the generator templates' spelling
            function = node["type"]
        if not isinstance(function, str):
            raise ProgramError(f'{where}: missing field "function"')
        signature = SIGNATURES.get(function)
        if signature is None:
            raise ProgramError(f"{where}: unknown function {function!r}")
        inputs = node.get("inputs", [])
        values = node.get("value_inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in inputs):
            raise ProgramError(f"{where} ({function}): inputs must be a list of node indices, got {inputs!r}")
        if len(inputs) != len(signature.inputs):
            raise ProgramError(f"{where} ({function}): takes {len(signature.inputs)} inputs, got {len(inputs)}")
        for position, source in enumerate(inputs):
            if not 0 <= source < index:
                raise ProgramError(f"{where} ({function}): input {source} is not an earlier node")
            if kinds[source] != signature.inputs[position]:
                raise ProgramError(
                    f"{where} ({function}): input {position} must be {signature.inputs[position]}, "
                    f"but node {source} gives {kinds[source]}"
                )
        expected_values = 0 if signature.values is None else 1
        if not isinstance(values, list) or len(values) != expected_values:
            raise ProgramError(f"{where} ({function}): takes {expected_values} value_inputs, got {values!r}")
        if signature.values is not None and values[0] not in signature.values:
            raise ProgramError(f"{where} ({function}): value {values[0]!r} is not one of {', '.join(signature.values)}")
        kinds.append(signature.output)
    return kinds


def function_name(node: dict[str, Any]) -> str:
    """A node's function (``function`` in the released files, ``type`` in the generator's templates)."""
    return node["function"] if "function" in node else node["type"]


def _filter(attribute: str) -> Callable[[dict, list, list], Any]:
    def run(scene: dict, args: list, values: list) -> tuple[int, ...]:
        objects = scene["objects"]
        return tuple(i for i in args[0] if objects[i][attribute] == values[0])

    return run


def _query(attribute: str) -> Callable[[dict, list, list], Any]:
    return lambda scene, args, values: scene["objects"][args[0]][attribute]


def _same(attribute: str) -> Callable[[dict, list, list], Any]:
    def run(scene: dict, args: list, values: list) -> tuple[int, ...]:
        objects, me = scene["objects"], args[0]
        return tuple(i for i, obj in enumerate(objects) if i != me and obj[attribute] == objects[me][attribute])

    return run


def _unique(scene: dict, args: list, values: list) -> int:
    if len(args[0]) != 1:
        raise IllPosedError(f"unique of {len(args[0])} objects {list(args[0])}")
    return args[0][0]


def _relate(scene: dict, args: list, values: list) -> tuple[int, ...]:
    return tuple(sorted(scene["relationships"][values[0]][args[0]]))


_RUN: dict[str, Callable[[dict, list, list], Any]] = {
    "scene": lambda scene, args, values: tuple(range(len(scene["objects"]))),
    "unique": _unique,
    "relate": _relate,
    "union": lambda scene, args, values: tuple(sorted(set(args[0]) | set(args[1]))),
    "intersect": lambda scene, args, values: tuple(sorted(set(args[0]) & set(args[1]))),
    "count": lambda scene, args, values: len(args[0]),
    "exist": lambda scene, args, values: len(args[0]) > 0,
    "equal_integer": lambda scene, args, values: args[0] == args[1],
    "less_than": lambda scene, args, values: args[0] < args[1],
    "greater_than": lambda scene, args, values: args[0] > args[1],
    "equal_object": lambda scene, args, values: args[0] == args[1],
}
for _attribute in ATTRIBUTES:
    _RUN[f"filter_{_attribute}"] = _filter(_attribute)
    _RUN[f"query_{_attribute}"] = _query(_attribute)
    _RUN[f"equal_{_attribute}"] = lambda scene, args, values: args[0] == args[1]
    _RUN[f"same_{_attribute}"] = _same(_attribute)


def execute(program: Sequence[dict[str, Any]], scene: dict[str, Any], *, checked: bool = False) -> list[Any]:
    """Every node's output on ``scene`` (a scene record); raises :class:`IllPosedError` or :class:`ProgramError`."""
    if not checked:
        check_program(list(program))
    outputs: list[Any] = []
    for node in program:
        args = [outputs[source] for source in node.get("inputs", [])]
        outputs.append(_RUN[function_name(node)](scene, args, node.get("value_inputs", [])))
    return outputs


def answer(program: Sequence[dict[str, Any]], scene: dict[str, Any], *, checked: bool = False) -> str:
    """The program's answer on ``scene`` as CLEVR writes it (``"yes"``, ``"3"``, ``"cube"``, ...)."""
    return answer_text(execute(program, scene, checked=checked)[-1])


def referred_objects(program: Sequence[dict[str, Any]], scene: dict[str, Any], *, checked: bool = False) -> list[int]:
    """The objects of ``scene`` a question's program refers to, sorted: every ``unique`` node's object
    (the objects the question picks out by description); for a program without ``unique`` nodes (a count
    or an existence test over filtered sets), the objects of every set a ``count`` or ``exist`` node takes.

    "What color is the cube left of the sphere?" -> the sphere and the cube (not the other objects left
    of the sphere); "How many red things are there?" -> the red objects. Raises like :func:`execute`.
    """
    outputs = execute(program, scene, checked=checked)
    names = [function_name(node) for node in program]
    if "unique" in names:
        found = {outputs[k] for k, name in enumerate(names) if name == "unique"}
    else:
        found = {
            obj
            for node, name in zip(program, names, strict=True)
            if name in ("count", "exist")
            for obj in outputs[node["inputs"][0]]
        }
    return sorted(found)
