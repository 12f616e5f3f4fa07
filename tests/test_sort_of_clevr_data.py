"""Sort-of-CLEVR generator and format: answers re-derived from scenes, determinism, round trip, errors."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from relnet.errors import DataFormatError
from relnet.tasks.sort_of_clevr.dataset import load_table
from relnet.tasks.sort_of_clevr.format import COLOR_RGB, COLORS, read_split, write_split
from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, generate

from .conftest import TINY


def _expected_answer(objects: list[dict], color: str, subtype: str, size: int) -> str:
    """Written independently of the generator: plain loops over the JSON records."""
    me = next(o for o in objects if o["color"] == color)
    x, y = me["center"]
    if subtype == "query_shape":
        return me["shape"]
    if subtype == "query_horizontal":
        return "left" if 2 * x < size else "right"
    if subtype == "query_vertical":
        return "top" if 2 * y < size else "bottom"
    if subtype == "count":
        return str(len([o for o in objects if o["shape"] == me["shape"]]))
    ranked = sorted(((o["center"][0] - x) ** 2 + (o["center"][1] - y) ** 2, o["shape"]) for o in objects if o is not me)
    return ranked[0][1] if subtype == "closest_to" else ranked[-1][1]


def test_every_answer_follows_from_its_scene(tiny_sort_of_clevr: Path) -> None:
    for split in ("train", "val", "test"):
        document = json.loads((tiny_sort_of_clevr / f"{split}.json").read_text())
        for scene in document["scenes"]:
            objects = scene["objects"]
            assert sorted(o["color"] for o in objects) == sorted(COLORS)
            assert len(scene["questions"]) == 20
            assert sum(q["type"] == "relational" for q in scene["questions"]) == 10
            for question in scene["questions"]:
                expected = _expected_answer(objects, question["color"], question["subtype"], document["image_size"])
                assert question["answer"] == expected


def test_images_show_their_scene(tiny_sort_of_clevr: Path) -> None:
    document = json.loads((tiny_sort_of_clevr / "val.json").read_text())
    for scene in document["scenes"]:
        pixels = np.asarray(Image.open(tiny_sort_of_clevr / scene["image"]).convert("RGB"))
        assert pixels.shape == (75, 75, 3)
        for obj in scene["objects"]:
            x, y = obj["center"]
            assert tuple(pixels[int(y), int(x)]) == COLOR_RGB[obj["color"]]
        # Squares fill their corner pixels, circles do not.
        for obj in scene["objects"]:
            x, y = obj["center"]
            corner = tuple(pixels[int(y) - 5, int(x) - 5])
            assert (corner == COLOR_RGB[obj["color"]]) == (obj["shape"] == "square")


def test_nearest_and_furthest_are_never_tied(tiny_sort_of_clevr: Path) -> None:
    for scene in json.loads((tiny_sort_of_clevr / "train.json").read_text())["scenes"]:
        centers = np.array([o["center"] for o in scene["objects"]], dtype=float)
        distances = ((centers[:, None] - centers[None]) ** 2).sum(-1)
        assert distances[~np.eye(6, dtype=bool)].min() >= 100  # 10 px apart: shapes never overlap
        for row in range(6):
            others = np.delete(distances[row], row)
            assert (others == others.min()).sum() == 1
            assert (others == others.max()).sum() == 1


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    config = GeneratorConfig(train_images=5, val_images=2, test_images=2)
    generate(tmp_path / "a", seed=7, config=config)
    generate(tmp_path / "b", seed=7, config=config)
    generate(tmp_path / "c", seed=8, config=config)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_format_round_trip(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    original = read_split(tiny_sort_of_clevr, "val")
    write_split(tmp_path, "val", original.image_size, list(original.scenes))
    again = read_split(tmp_path, "val")
    assert again.scenes == original.scenes
    assert again.image_size == original.image_size


def test_table_matches_the_files(tiny_sort_of_clevr: Path) -> None:
    table = load_table(tiny_sort_of_clevr, "test")
    assert len(table) == TINY.test_images * 20
    batch = table.__getitems__([0, 21])
    assert batch["image"].shape == (2, 75, 75, 3)
    assert batch["question"].shape == (2, 11)
    assert batch["state"].shape == (2, 6, 10)
    assert batch["image_index"].tolist() == [0, 1]
    assert batch["question"].sum(dim=1).tolist() == [3.0, 3.0]  # colour + type + subtype bits


# ------------------------------------------------------------------------- bad input
@pytest.fixture
def broken_copy(tiny_sort_of_clevr: Path, tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(tiny_sort_of_clevr, root, ignore=shutil.ignore_patterns("cache"))
    return root


def _edit_json(root: Path, split: str, edit) -> None:
    path = root / f"{split}.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def test_missing_split_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"train\.json: missing"):
        read_split(tmp_path, "train")


def test_corrupt_json_is_named(broken_copy: Path) -> None:
    (broken_copy / "val.json").write_text('{"format": "relnet-sort-of-clevr", ')
    with pytest.raises(DataFormatError, match=r"val\.json: not valid JSON"):
        read_split(broken_copy, "val")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["scenes"][2]["objects"][1].update(color="purple"), r"scene 2, object 1: unknown colour 'purple'"),
        (lambda d: d["scenes"][0]["objects"][0].update(center=[80, 3]), r"scene 0, object 0: \"center\" must be"),
        (lambda d: d["scenes"][1]["questions"][4].update(answer="maybe"), r"scene 1, question 4: unknown answer"),
        (lambda d: d["scenes"][1]["questions"][0].update(encoding=[0] * 11), r"scene 1, question 0: encoding"),
        (lambda d: d["scenes"][3].pop("objects"), r"scene 3: missing field \"objects\""),
        (lambda d: d.update(format="something-else"), r"expected a JSON object with \"format\""),
    ],
)
def test_bad_records_are_named(broken_copy: Path, edit, message: str) -> None:
    _edit_json(broken_copy, "val", edit)
    with pytest.raises(DataFormatError, match=message):
        read_split(broken_copy, "val")


def test_wrong_image_size_is_named(broken_copy: Path) -> None:
    Image.new("RGB", (64, 64), "white").save(broken_copy / "images/val/000001.png")
    with pytest.raises(DataFormatError, match=r"000001\.png: image is 64×64 pixels, expected 75×75"):
        load_table(broken_copy, "val")


def test_missing_and_corrupt_images_are_named(broken_copy: Path) -> None:
    (broken_copy / "images/val/000002.png").write_bytes(b"not a png")
    with pytest.raises(DataFormatError, match=r"000002\.png: not a readable image"):
        load_table(broken_copy, "val")
    (broken_copy / "images/val/000002.png").unlink()
    with pytest.raises(DataFormatError, match=r"scene 2: image file .*000002\.png is missing"):
        load_table(broken_copy, "val")


def test_inspect_rederives_every_answer(broken_copy: Path) -> None:
    from relnet.tasks import get_task

    report = get_task("sort-of-clevr").inspect(broken_copy)
    assert report["splits"]["val"]["questions"] == 120

    def flip(document: dict) -> None:
        question = document["scenes"][4]["questions"][2]
        question["answer"] = {
            "square": "circle",
            "circle": "square",
            "left": "right",
            "right": "left",
            "top": "bottom",
            "bottom": "top",
        }.get(question["answer"], "6" if question["answer"] != "6" else "5")

    _edit_json(broken_copy, "val", flip)
    with pytest.raises(DataFormatError, match=r"val\.json, scene 4, question 2: answer .* disagrees with the scene"):
        get_task("sort-of-clevr").inspect(broken_copy)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["scenes"][0].update(objects=5), r"scene 0: \"objects\" must be a list, got int"),
        (lambda d: d["scenes"][0].update(questions=None), r"scene 0: \"questions\" must be a list"),
        (lambda d: d["scenes"][0]["objects"].pop(), r"scene 0: expected 6 objects \(one per colour\), got 5"),
        (lambda d: d["scenes"][0]["objects"][2].update(center=[True, 3]), r"scene 0, object 2: \"center\" must be"),
        (lambda d: d["scenes"][0]["questions"][0].update(type="relational"), r"question 0: type 'relational' does"),
        (lambda d: d.update(split="train"), r"holds split 'train', expected 'val'"),
    ],
)
def test_more_bad_records(broken_copy: Path, edit, message: str) -> None:
    _edit_json(broken_copy, "val", edit)
    with pytest.raises(DataFormatError, match=message):
        read_split(broken_copy, "val")
