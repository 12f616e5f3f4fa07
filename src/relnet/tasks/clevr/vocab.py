"""The CLEVR universe: attribute values, colours, relations, answers and the 13 question types."""

from __future__ import annotations

SIZES = ("large", "small")
COLORS = ("gray", "red", "blue", "green", "brown", "purple", "cyan", "yellow")
MATERIALS = ("rubber", "metal")
SHAPES = ("cube", "sphere", "cylinder")

#: Attribute name -> its values, in the order real CLEVR programs apply their filters.
ATTRIBUTES: dict[str, tuple[str, ...]] = {"size": SIZES, "color": COLORS, "material": MATERIALS, "shape": SHAPES}

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

#: CLEVR-CoGenT colour conditions: shape -> allowed colours (spheres take every colour; B swaps A's
#: cube and cylinder colours).
_COGENT_HALVES = (("gray", "blue", "brown", "yellow"), ("red", "green", "purple", "cyan"))
COGENT: dict[str, dict[str, tuple[str, ...]]] = {
    "A": {"cube": _COGENT_HALVES[0], "cylinder": _COGENT_HALVES[1], "sphere": COLORS},
    "B": {"cube": _COGENT_HALVES[1], "cylinder": _COGENT_HALVES[0], "sphere": COLORS},
}

#: The 28 answers: yes/no, 0-10, then the attribute values.
ANSWERS: tuple[str, ...] = ("yes", "no", *(str(n) for n in range(11)), *COLORS, *SHAPES, *MATERIALS, *SIZES)

#: Question type (the program's last function) -> the category of the RN paper's Table 1.
QUESTION_TYPES: dict[str, str] = {
    "exist": "exist",
    "count": "count",
    **dict.fromkeys(("equal_integer", "less_than", "greater_than"), "compare_integer"),
    **{f"query_{attribute}": "query_attribute" for attribute in ATTRIBUTES},
    **{f"equal_{attribute}": "compare_attribute" for attribute in ATTRIBUTES},
}
CATEGORIES = ("exist", "count", "compare_integer", "query_attribute", "compare_attribute")


def answer_text(value: object) -> str:
    """An executor output or a JSON answer as CLEVR writes it: booleans as yes/no, integers as digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# ------------------------------------------------------------------------------ question vocabulary
PAD, UNKNOWN = "<pad>", "<unk>"

#: Attribute value -> the words questions use for it, as in the real generator's ``synonyms.json``
#: (relnet's templates use the same words), and the relation phrases.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "thing": ("thing", "object"),
    "sphere": ("sphere", "ball"),
    "cube": ("cube", "block"),
    "cylinder": ("cylinder",),
    "large": ("large", "big"),
    "small": ("small", "tiny"),
    "metal": ("metallic", "metal", "shiny"),
    "rubber": ("rubber", "matte"),
    "left": ("left of", "to the left of", "on the left side of"),
    "right": ("right of", "to the right of", "on the right side of"),
    "behind": ("behind",),
    "front": ("in front of",),
}

#: The other words of the question templates: relnet's families (``templates.py``) and the 90 real
#: CLEVR v1.0 families, whose sentence forms use the same words plus a few more ("visible",
#: "anything else", "either", "its").
_TEMPLATE_WORDS = """
a an and another any anything are as both color do does either else equal fewer greater has have how
is it its less made many material more number of or other same shape size than that the there visible
what
"""
#: Punctuation marks of the sentence forms ("There is a red cube; what is its size?").
_PUNCTUATION = ("?", ";", ",", ".")


def _question_words() -> list[str]:
    nouns = [word for key in ("thing", *SHAPES) for word in SYNONYMS[key]]
    words = {*_TEMPLATE_WORDS.split(), *nouns, *(noun + "s" for noun in nouns), *COLORS}
    words.update(word for phrases in SYNONYMS.values() for phrase in phrases for word in phrase.split())
    return sorted(words)


#: Question token ids, fixed for every dataset folder (real CLEVR v1.0 or generated), so that weights
#: trained on one folder read another's questions alike: 0 pads, 1 stands for any word not listed.
#: Changing this list renumbers the tokens and invalidates trained weights; a new word should be
#: appended after the sorted ones rather than sorted in.
QUESTION_TOKENS: tuple[str, ...] = (PAD, UNKNOWN, *_PUNCTUATION, *_question_words())
TOKEN_INDEX: dict[str, int] = {token: index for index, token in enumerate(QUESTION_TOKENS)}
