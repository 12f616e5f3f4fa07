"""The CLEVR program executor on hand-made scenes: every function, empty sets, ties, uniqueness failures."""

from __future__ import annotations

import pytest

from relnet.tasks.clevr.executor import FUNCTIONS, IllPosedError, ProgramError, answer, check_program, execute


def _obj(size: str, color: str, material: str, shape: str, x: float, y: float) -> dict:
    z = 0.7 if size == "large" else 0.35
    return {
        "size": size,
        "color": color,
        "material": material,
        "shape": shape,
        "3d_coords": [x, y, z],
        "pixel_coords": [0, 0, 0.0],
        "rotation": 0.0,
    }


def _scene(objects: list[dict]) -> dict:
    """Relations from plain axes: right = larger x, behind = larger y (a top-down test camera)."""
    coords = [o["3d_coords"] for o in objects]
    n = range(len(objects))
    return {
        "image_index": 0,
        "image_filename": "CLEVR_val_000000.png",
        "objects": objects,
        "relationships": {
            "right": [[j for j in n if coords[j][0] > coords[i][0]] for i in n],
            "left": [[j for j in n if coords[j][0] < coords[i][0]] for i in n],
            "behind": [[j for j in n if coords[j][1] > coords[i][1]] for i in n],
            "front": [[j for j in n if coords[j][1] < coords[i][1]] for i in n],
        },
    }


# 0: large red metal cube at the left front; 1: small red rubber sphere in the middle;
# 2: large blue rubber cylinder at the right back; 3: small gray metal cube, right front.
SCENE = _scene(
    [
        _obj("large", "red", "metal", "cube", -2.0, -2.0),
        _obj("small", "red", "rubber", "sphere", 0.0, 0.5),
        _obj("large", "blue", "rubber", "cylinder", 2.0, 2.0),
        _obj("small", "gray", "metal", "cube", 1.0, -1.0),
    ]
)


def node(function: str, inputs: list[int] | None = None, value: str | None = None) -> dict:
    return {"function": function, "inputs": inputs or [], "value_inputs": [] if value is None else [value]}


def unique_of(*filters: tuple[str, str], start: int = 0) -> list[dict]:
    """scene -> filter_* ... -> unique, with node indices starting at ``start``."""
    program = [node("scene")]
    for attribute, value in filters:
        program.append(node(f"filter_{attribute}", [start + len(program) - 1], value))
    program.append(node("unique", [start + len(program) - 1]))
    return program


def last(program: list[dict]) -> object:
    return execute(program, SCENE)[-1]


def test_scene_returns_every_object() -> None:
    assert last([node("scene")]) == (0, 1, 2, 3)


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("size", "large", (0, 2)),
        ("size", "small", (1, 3)),
        ("color", "red", (0, 1)),
        ("color", "yellow", ()),
        ("material", "metal", (0, 3)),
        ("material", "rubber", (1, 2)),
        ("shape", "cube", (0, 3)),
        ("shape", "cylinder", (2,)),
    ],
)
def test_filters(attribute: str, value: str, expected: tuple[int, ...]) -> None:
    assert last([node("scene"), node(f"filter_{attribute}", [0], value)]) == expected


def test_filters_chain_down_to_an_empty_set() -> None:
    program = [node("scene"), node("filter_color", [0], "red"), node("filter_shape", [1], "cylinder")]
    assert last(program) == ()
    assert answer([*program, node("count", [2])], SCENE) == "0"
    assert answer([*program, node("exist", [2])], SCENE) == "no"


def test_unique_needs_exactly_one_object() -> None:
    assert last(unique_of(("color", "blue"))) == 2
    with pytest.raises(IllPosedError, match="unique of 2 objects"):
        execute(unique_of(("color", "red")), SCENE)
    with pytest.raises(IllPosedError, match="unique of 0 objects"):
        execute(unique_of(("color", "yellow")), SCENE)


@pytest.mark.parametrize(
    ("relation", "expected"), [("left", (0,)), ("right", (2, 3)), ("front", (0, 3)), ("behind", (2,))]
)
def test_relate_from_the_sphere(relation: str, expected: tuple[int, ...]) -> None:
    program = [*unique_of(("shape", "sphere")), node("relate", [2], relation)]
    assert last(program) == expected


def test_relate_from_an_extreme_object_is_empty() -> None:
    program = [*unique_of(("color", "blue")), node("relate", [2], "right"), node("count", [3])]
    assert answer(program, SCENE) == "0"


def test_union_and_intersect() -> None:
    red = [node("scene"), node("filter_color", [0], "red")]
    cubes = [node("scene"), node("filter_shape", [2], "cube")]
    assert last([*red, *cubes, node("union", [1, 3])]) == (0, 1, 3)
    assert last([*red, *cubes, node("intersect", [1, 3])]) == (0,)
    yellow = [node("scene"), node("filter_color", [0], "yellow")]
    assert last([*yellow, *cubes, node("intersect", [1, 3])]) == ()
    assert last([*yellow, *cubes, node("union", [1, 3])]) == (0, 3)


def test_count_and_exist() -> None:
    assert answer([node("scene"), node("count", [0])], SCENE) == "4"
    assert answer([node("scene"), node("filter_material", [0], "metal"), node("exist", [1])], SCENE) == "yes"


@pytest.mark.parametrize(
    ("attribute", "expected"), [("size", "large"), ("color", "blue"), ("material", "rubber"), ("shape", "cylinder")]
)
def test_queries(attribute: str, expected: str) -> None:
    program = [*unique_of(("shape", "cylinder")), node(f"query_{attribute}", [2])]
    assert answer(program, SCENE) == expected


def _compare(attribute: str, first: tuple[str, str], second: tuple[str, str]) -> list[dict]:
    a = unique_of(first)
    b = unique_of(second, start=len(a))
    return [
        *a,
        *b,
        node(f"query_{attribute}", [len(a) - 1]),
        node(f"query_{attribute}", [len(a) + len(b) - 1]),
        node(f"equal_{attribute}", [len(a) + len(b), len(a) + len(b) + 1]),
    ]


@pytest.mark.parametrize(
    ("attribute", "first", "second", "expected"),
    [
        ("color", ("shape", "sphere"), ("size", "large"), None),  # "the large thing" is not unique
        ("color", ("shape", "sphere"), ("material", "metal"), None),
        ("color", ("shape", "sphere"), ("shape", "cylinder"), "no"),
        ("size", ("shape", "sphere"), ("color", "gray"), "yes"),
        ("material", ("shape", "sphere"), ("color", "blue"), "yes"),
        ("shape", ("color", "gray"), ("shape", "sphere"), "no"),
    ],
)
def test_equal_attribute(attribute: str, first: tuple, second: tuple, expected: str | None) -> None:
    program = _compare(attribute, first, second)
    if expected is None:
        with pytest.raises(IllPosedError):
            answer(program, SCENE)
    else:
        assert answer(program, SCENE) == expected


@pytest.mark.parametrize(
    ("attribute", "of", "expected"),
    [
        ("color", ("shape", "sphere"), (0,)),  # the other red object, never the sphere itself
        ("color", ("shape", "cylinder"), ()),  # nothing else is blue
        ("size", ("color", "blue"), (0,)),
        ("material", ("color", "gray"), (0,)),
        ("shape", ("color", "gray"), (0,)),
        ("shape", ("shape", "sphere"), ()),
    ],
)
def test_same_attribute_excludes_the_object_itself(attribute: str, of: tuple, expected: tuple) -> None:
    program = [*unique_of(of), node(f"same_{attribute}", [2])]
    assert last(program) == expected


def _integers(function: str, first: tuple[str, str], second: tuple[str, str]) -> list[dict]:
    return [
        node("scene"),
        node(f"filter_{first[0]}", [0], first[1]),
        node("count", [1]),
        node("scene"),
        node(f"filter_{second[0]}", [3], second[1]),
        node("count", [4]),
        node(function, [2, 5]),
    ]


@pytest.mark.parametrize(
    ("function", "first", "second", "expected"),
    [
        ("equal_integer", ("color", "red"), ("shape", "cube"), "yes"),  # a tie: 2 and 2
        ("less_than", ("color", "red"), ("shape", "cube"), "no"),
        ("greater_than", ("color", "red"), ("shape", "cube"), "no"),
        ("less_than", ("color", "yellow"), ("shape", "sphere"), "yes"),  # 0 < 1
        ("greater_than", ("size", "large"), ("color", "yellow"), "yes"),
        ("equal_integer", ("color", "yellow"), ("color", "green"), "yes"),  # 0 == 0
        ("equal_integer", ("color", "blue"), ("color", "red"), "no"),
    ],
)
def test_integer_comparisons(function: str, first: tuple, second: tuple, expected: str) -> None:
    assert answer(_integers(function, first, second), SCENE) == expected


def test_equal_object() -> None:
    a = unique_of(("shape", "cylinder"))
    b = unique_of(("color", "blue"), start=3)
    c = unique_of(("color", "gray"), start=6)
    assert answer([*a, *b, node("equal_object", [2, 5])], SCENE) == "yes"
    assert answer([*a, *b, *c, node("equal_object", [2, 8])], SCENE) == "no"


def test_every_function_is_covered_by_these_tests() -> None:
    assert len(FUNCTIONS) == 27
    assert {"scene", "unique", "relate", "union", "intersect", "count", "exist", "equal_object"} <= set(FUNCTIONS)


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ([], "non-empty list"),
        ([node("scene"), node("filter_colour", [0], "red")], "unknown function 'filter_colour'"),
        ([node("scene"), node("count", [0, 0])], "takes 1 inputs"),
        ([node("scene"), node("query_color", [0])], "must be object, but node 0 gives objects"),
        ([node("scene"), node("filter_color", [0], "pink")], "value 'pink' is not one of"),
        ([node("scene"), node("filter_color", [0])], "takes 1 value_inputs"),
        ([node("count", [1]), node("scene")], "not an earlier node"),
        ([{"inputs": [], "value_inputs": []}], 'missing field "function"'),
    ],
)
def test_malformed_programs_are_named(program: list, message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        check_program(program)


def test_template_spelling_type_is_accepted() -> None:
    program = [{"type": "scene", "inputs": [], "value_inputs": []}, {"type": "count", "inputs": [0]}]
    assert answer(program, SCENE) == "4"
