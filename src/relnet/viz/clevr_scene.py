"""Draw a CLEVR image with its objects numbered and its questions, answers and programs listed."""

from __future__ import annotations

import textwrap
from pathlib import Path

from relnet.tasks.clevr.cache import decode
from relnet.tasks.clevr.camera import BASE_HEIGHT, BASE_WIDTH
from relnet.tasks.clevr.format import image_path
from relnet.tasks.clevr.stats import question_type


def draw_scene(root: Path, split: str, scene: dict, questions: list[dict], out: Path) -> Path:
    """Write a figure: the image (objects labelled by index) beside its questions; returns ``out``."""
    from relnet.viz.files import pyplot, save_figure

    plt = pyplot()
    path = image_path(root, split, scene["image_index"])
    from PIL import Image

    with Image.open(path) as opened:
        width, height = opened.size
    pixels = decode(path, width, height)
    figure, (picture, listing) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [1.25, 1]})
    picture.imshow(pixels)
    picture.set_axis_off()
    picture.set_title(f"{path.name}: {len(scene['objects'])} objects", fontsize=10)
    for number, obj in enumerate(scene["objects"]):
        u, v = obj["pixel_coords"][0] * width / BASE_WIDTH, obj["pixel_coords"][1] * height / BASE_HEIGHT
        picture.annotate(
            str(number),
            (u, v),
            color="white",
            fontsize=9,
            ha="center",
            va="center",
            bbox={"boxstyle": "circle,pad=0.2", "fc": "black", "alpha": 0.6, "lw": 0},
        )
    rows = [f"{n}: {o['size']} {o['color']} {o['material']} {o['shape']}" for n, o in enumerate(scene["objects"])]
    lines = [";  ".join(rows[i : i + 3]) for i in range(0, len(rows), 3)] + [""]
    for question in questions:
        kind = question_type(question) or "?"
        text = textwrap.fill(question["question"], 78, subsequent_indent="    ")
        lines.append(
            f"{text}\n    -> {question.get('answer', '?')}   [{kind}, {len(question.get('program', []))} steps]"
        )
    listing.text(
        0, 1, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=7.2, transform=listing.transAxes
    )
    listing.set_axis_off()
    figure.tight_layout()
    return save_figure(figure, out, dpi=110)
