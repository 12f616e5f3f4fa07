"""The CLEVR universe: attribute values, colours, relations, answers and the 13 question types."""

from __future__ import annotations

SIZES = ("large", "small")
COLORS = ("gray", "red", "blue", "green", "brown", "purple", "cyan", "yellow")
MATERIALS = ("rubber", "metal")
SHAPES = ("cube", "sphere", "cylinder")

#: Attribute name -> its values, in the order real CLEVR programs apply their filters.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "size": SIZES,
    "color": COLORS,
    "material": MATERIALS,
    "shape": SHAPES,
}

#: sRGB values of the 8 colours, as in the official generator's properties.
COLOR_RGB: dict[str, tuple[int, int, int]] = {
    "gray": (87, 87, 87),
    "red": (173, 35, 35),
    "blue": (42, 75, 215),
    "green": (29, 105, 20),
    "brown": (129, 74, 25),
    "purple": (129, 38, 192),
    "cyan": (41, 208, 208),
    "yellow": (255, 238, 51),
}

#: Size name -> scale in scene units (a sphere's radius; a cylinder's radius and half-height).
SIZE_SCALE = {"large": 0.7, "small": 0.35}

RELATIONS = ("left", "right", "front", "behind")

#: CLEVR-CoGenT colour conditions: shape -> allowed colours (spheres take every colour).
COGENT: dict[str, dict[str, tuple[str, ...]]] = {
    "A": {
        "cube": ("gray", "blue", "brown", "yellow"),
        "cylinder": ("red", "green", "purple", "cyan"),
        "sphere": COLORS,
    },
    "B": {
        "cube": ("red", "green", "purple", "cyan"),
        "cylinder": ("gray", "blue", "brown", "yellow"),
        "sphere": COLORS,
    },
}

#: The 28 answers: yes/no, 0-10, then the attribute values.
ANSWERS: tuple[str, ...] = ("yes", "no", *(str(n) for n in range(11)), *COLORS, *SHAPES, *MATERIALS, *SIZES)

#: Question type (the program's last function) -> the category of the RN paper's Table 1.
QUESTION_TYPES: dict[str, str] = {
    "exist": "exist",
    "count": "count",
    "equal_integer": "compare_integer",
    "less_than": "compare_integer",
    "greater_than": "compare_integer",
    "query_size": "query_attribute",
    "query_color": "query_attribute",
    "query_material": "query_attribute",
    "query_shape": "query_attribute",
    "equal_size": "compare_attribute",
    "equal_color": "compare_attribute",
    "equal_material": "compare_attribute",
    "equal_shape": "compare_attribute",
}
CATEGORIES = ("exist", "count", "compare_integer", "query_attribute", "compare_attribute")


def answer_text(value: object) -> str:
    """An executor output or a JSON answer as CLEVR writes it: booleans as yes/no, integers as digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
