"""Training-time augmentation by the symmetries of a Sort-of-CLEVR scene (the 8 of the square).

Mirroring a scene left-right or top-bottom, or swapping its axes, gives another valid scene, and every
question about it has a known answer: shapes, counts and distances do not change, so only the
position questions do. Mirroring maps an object centred at pixel ``x`` to ``size - x``; the renderer
draws an object symmetrically about its centre, so the mirrored image is exactly the image of the
mirrored scene, and the centre stays an integer, so "left of the middle" flips without ties. Swapping
the axes turns a left/right question into a top/bottom one, so the question's subtype bits swap too.

The answers to position questions are recomputed from the transformed state rows (an object is
left of the middle when its x < 0 in the rows' [-1, 1] coordinates), not mapped from the old answer.
Every question about one image gets the same transform, so a model that encodes each image once per
batch (``group_size``) still sees one image per group.
"""

from __future__ import annotations

import torch

from relnet.data.tables import Batch
from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, ANSWERS, COLORS, QUESTION_TYPES, SUBTYPES

_SUBTYPE_BITS = len(COLORS) + len(QUESTION_TYPES)  # the 3 subtype bits follow colour and type
_HORIZONTAL_BIT, _VERTICAL_BIT = (
    _SUBTYPE_BITS + SUBTYPES["non_relational"].index(name) for name in ("query_horizontal", "query_vertical")
)
_HORIZONTAL, _VERTICAL = ALL_SUBTYPES.index("query_horizontal"), ALL_SUBTYPES.index("query_vertical")
_LEFT, _RIGHT, _TOP, _BOTTOM = (ANSWERS.index(name) for name in ("left", "right", "top", "bottom"))


def random_symmetries(image_index: torch.Tensor) -> torch.Tensor:
    """One random symmetry (an int in [0, 8): bit 0 mirror x, bit 1 mirror y, bit 2 swap axes) per
    image, repeated for each of its questions: ``(B,)`` image indices → ``(B,)`` codes. Draws from
    torch's global generator, which the training loop seeds per step."""
    per_image = torch.randint(0, 8, (int(image_index.max()) + 1,), device=image_index.device)
    return per_image[image_index]


def apply_symmetries(batch: Batch, codes: torch.Tensor) -> Batch:
    """``batch`` with scene ``k`` transformed by ``codes[k]`` (see :func:`random_symmetries`).

    Transforms ``state`` ``(B, 6, 10)`` (x, y in the last two columns), ``image`` ``(B, H, H, 3)`` when
    present, ``question`` ``(B, 11)``, ``subtype`` ``(B,)`` and ``answer`` ``(B,)``; other keys pass
    through. The axes are swapped first, then x and y are mirrored.
    """
    mirror_x, mirror_y, swap = ((codes >> bit) & 1 == 1 for bit in range(3))
    out = dict(batch)

    state = batch["state"].clone()
    x, y = state[..., -2].clone(), state[..., -1].clone()
    x, y = torch.where(swap[:, None], y, x), torch.where(swap[:, None], x, y)
    state[..., -2] = torch.where(mirror_x[:, None], -x, x)
    state[..., -1] = torch.where(mirror_y[:, None], -y, y)
    out["state"] = state

    if "image" in batch:  # (B, rows = y, columns = x, 3)
        image = batch["image"]
        image = torch.where(swap[:, None, None, None], image.transpose(1, 2), image)
        image = torch.where(mirror_x[:, None, None, None], image.flip(2), image)
        out["image"] = torch.where(mirror_y[:, None, None, None], image.flip(1), image)

    subtype = batch["subtype"]
    swapped = torch.where(subtype == _HORIZONTAL, _VERTICAL, torch.where(subtype == _VERTICAL, _HORIZONTAL, subtype))
    subtype = torch.where(swap, swapped, subtype)
    question = batch["question"].clone()
    positional = (subtype == _HORIZONTAL) | (subtype == _VERTICAL)
    question[positional, _HORIZONTAL_BIT] = (subtype[positional] == _HORIZONTAL).to(question.dtype)
    question[positional, _VERTICAL_BIT] = (subtype[positional] == _VERTICAL).to(question.dtype)
    out["question"], out["subtype"] = question, subtype

    # The asked object: the state row whose colour one-hot matches the question's colour bits.
    asked = (state[..., : len(COLORS)] * question[:, None, : len(COLORS)]).sum(-1)  # (B, 6), one-hot
    position = (asked[..., None] * state[..., -2:]).sum(1)  # (B, 2): its x, y
    horizontal = torch.where(position[:, 0] < 0, _LEFT, _RIGHT)
    vertical = torch.where(position[:, 1] < 0, _TOP, _BOTTOM)
    answer = torch.where(subtype == _HORIZONTAL, horizontal, batch["answer"])
    out["answer"] = torch.where(subtype == _VERTICAL, vertical, answer)
    return out


def augment(batch: Batch) -> Batch:
    """``batch`` with each scene under a random one of its 8 symmetries."""
    return apply_symmetries(batch, random_symmetries(batch["image_index"]))
