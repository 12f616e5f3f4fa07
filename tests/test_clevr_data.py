"""CLEVR folders: generation in the v1.0 layout, validation errors, the image cache, the CLI, the renderer."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from relnet.cli import main
from relnet.errors import DataFormatError, RelnetError
from relnet.tasks import get_task
from relnet.tasks.clevr.dataset import load_table, tokenize
from relnet.tasks.clevr.format import read_questions, read_scenes, scenes_path, write_scenes
from relnet.tasks.clevr.generate import GenerateConfig, generate
from relnet.tasks.clevr.render import render
from relnet.tasks.clevr.scenes import SceneConfig
from relnet.tasks.clevr.stats import inspect_folder
from relnet.tasks.clevr.vocab import ANSWERS, COLOR_RGB

TINY = GenerateConfig(images=9, questions_per_image=6, image_size=(96, 64), cache_size=(32, 32), supersample=1)


@pytest.fixture(scope="module")
def tiny_clevr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clevr")
    generate(root, seed=3, config=TINY)
    return root


def _copy(root: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(root, target)
    return target


def _digest(root: Path) -> str:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".png"))
    return hashlib.sha256(b"".join(p.relative_to(root).as_posix().encode() + p.read_bytes() for p in files)).hexdigest()


def test_generated_folder_has_the_v1_layout_and_validates(tiny_clevr: Path) -> None:
    for split, count in (("train", 7), ("val", 1), ("test", 1)):
        assert len(list((tiny_clevr / "images" / split).glob(f"CLEVR_{split}_*.png"))) == count
        assert (tiny_clevr / "scenes" / f"CLEVR_{split}_scenes.json").is_file()
        assert (tiny_clevr / "questions" / f"CLEVR_{split}_questions.json").is_file()
    report = inspect_folder(tiny_clevr)
    train = report["splits"]["train"]
    assert train["images"] == 7 and train["questions"] == 42
    assert train["executor"]["agree"] == 42
    assert sum(train["attributes"]["shape"].values()) == train["objects"]
    assert set(train["categories"]) == {"exist", "count", "compare_integer", "query_attribute", "compare_attribute"}


def test_same_seed_same_bytes_whatever_the_workers(tiny_clevr: Path, tmp_path: Path) -> None:
    config = GenerateConfig(**{**TINY.__dict__, "workers": 2})
    generate(tmp_path / "again", seed=3, config=config)
    assert _digest(tmp_path / "again") == _digest(tiny_clevr)


def test_scenes_round_trip(tiny_clevr: Path, tmp_path: Path) -> None:
    scenes = read_scenes(scenes_path(tiny_clevr, "val"))
    write_scenes(tmp_path, "val", scenes.scenes)
    assert read_scenes(scenes_path(tmp_path, "val")).scenes == scenes.scenes


def test_refuses_to_overwrite(tiny_clevr: Path) -> None:
    with pytest.raises(RelnetError, match="already exists"):
        generate(tiny_clevr, seed=3, config=TINY)


def _edit(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("scenes", lambda d: d["scenes"][0]["objects"][1].pop("color"), 'scene 0, object 1: missing field "color"'),
        ("scenes", lambda d: d["scenes"][0].pop("relationships"), 'scene 0: missing field "relationships"'),
        ("scenes", lambda d: d["scenes"][0]["objects"][0].update(shape="cone"), "unknown shape 'cone'"),
        ("scenes", lambda d: d["scenes"][1].update(image_index=5), "does not match image_index 5"),
        ("questions", lambda d: d["questions"][2].pop("question"), 'question 2: missing field "question"'),
        (
            "questions",
            lambda d: d["questions"][4]["program"][0].update(function="teleport"),
            "question 4: program node 0: unknown function 'teleport'",
        ),
        (
            "questions",
            lambda d: d["questions"][1].update(image_index=99, image_filename="CLEVR_train_000099.png"),
            "image_index 99 has no scene",
        ),
        ("questions", lambda d: d["questions"][3].update(answer="maybe"), "question 3: unknown answer 'maybe'"),
    ],
)
def test_bad_files_name_file_and_record(tiny_clevr: Path, tmp_path: Path, file: str, change, message: str) -> None:
    root = _copy(tiny_clevr, tmp_path)
    path = root / file / f"CLEVR_train_{file}.json"
    _edit(path, change)
    with pytest.raises(DataFormatError, match=message) as caught:
        inspect_folder(root)
    assert str(path) in str(caught.value)


def test_wrong_recorded_answer_is_caught(tiny_clevr: Path, tmp_path: Path) -> None:
    root = _copy(tiny_clevr, tmp_path)
    path = root / "questions" / "CLEVR_val_questions.json"
    document = json.loads(path.read_text())
    question = document["questions"][0]
    question["answer"] = next(a for a in ANSWERS if a != question["answer"])
    path.write_text(json.dumps(document))
    with pytest.raises(DataFormatError, match="question 0: recorded answer"):
        inspect_folder(root)


def test_image_not_matching_its_scene_index(tiny_clevr: Path, tmp_path: Path) -> None:
    root = _copy(tiny_clevr, tmp_path)
    folder = root / "images" / "train"
    (folder / "CLEVR_train_000004.png").rename(folder / "CLEVR_train_000044.png")
    with pytest.raises(DataFormatError, match=r"no image file CLEVR_train_000004\.png") as caught:
        inspect_folder(root)
    assert "image_index 4" in str(caught.value)
    (folder / "CLEVR_train_000044.png").rename(folder / "CLEVR_val_000004.png")
    with pytest.raises(DataFormatError, match=r"does not follow CLEVR_train_NNNNNN\.png"):
        inspect_folder(root)


def test_test_split_without_answers_or_scenes(tiny_clevr: Path, tmp_path: Path) -> None:
    root = _copy(tiny_clevr, tmp_path)
    path = root / "questions" / "CLEVR_test_questions.json"
    _edit(path, lambda d: [q.pop(k) for q in d["questions"] for k in ("answer", "program")])
    (root / "scenes" / "CLEVR_test_scenes.json").unlink()
    report = inspect_folder(root)
    assert report["splits"]["test"]["questions"] == 6 and report["splits"]["test"]["image_files"] == 1
    table = load_table(root, "test", image_size=(32, 32))
    assert (table.columns["answer"] == -100).all()


def test_load_table_uses_the_cache(tiny_clevr: Path) -> None:
    table = load_table(tiny_clevr, "train", image_size=(32, 32))
    assert len(table) == 42
    batch = table.__getitems__([0, 5, 41])
    assert batch["image"].shape == (3, 32, 32, 3) and batch["image"].dtype.is_floating_point is False
    assert batch["state"].shape[1:] == (10, 20) and batch["state_mask"].sum() >= 9
    questions = read_questions(tiny_clevr / "questions" / "CLEVR_train_questions.json").questions
    assert ANSWERS[int(batch["answer"][1])] == questions[5]["answer"]
    assert int(batch["question_length"][1]) == len(tokenize(questions[5]["question"]))
    cache = np.load(tiny_clevr / "cache" / "CLEVR_train_32x32.npy")
    assert np.array_equal(cache[questions[41]["image_index"]], batch["image"][2].numpy())


def test_cli_answer_and_errors(tiny_clevr: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    scenes = str(tiny_clevr / "scenes" / "CLEVR_train_scenes.json")
    questions = str(tiny_clevr / "questions" / "CLEVR_train_questions.json")
    assert main(["clevr", "answer", "--scenes", scenes, "--questions", questions, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["questions"] == result["agree"] == 42
    bad = tmp_path / "CLEVR_train_questions.json"
    shutil.copy(questions, bad)
    _edit(
        bad, lambda d: d["questions"][0]["program"].append({"function": "count", "inputs": [0, 1], "value_inputs": []})
    )
    assert main(["clevr", "answer", "--scenes", scenes, "--questions", str(bad)]) == 2
    assert "question 0: program node" in capsys.readouterr().err


def test_cli_stats_show_and_task(tiny_clevr: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["clevr", "stats", str(tiny_clevr)]) == 0
    assert "objects per scene" in capsys.readouterr().out
    out = tmp_path / "show.png"
    assert main(["clevr", "show", str(tiny_clevr), "--split", "val", "--image", "0", "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    with pytest.raises(RelnetError, match="unknown model 'transformer' for clevr"):
        get_task("clevr").build_model("transformer", {})


def test_render_shows_objects_in_their_colours() -> None:
    scene = {
        "objects": [
            {
                "shape": "sphere",
                "size": "large",
                "color": "red",
                "material": "rubber",
                "3d_coords": [0, 0, 0.7],
                "rotation": 0,
            },
            {
                "shape": "cube",
                "size": "large",
                "color": "blue",
                "material": "rubber",
                "3d_coords": [2, -2, 0.7],
                "rotation": 30,
            },
        ]
    }
    from relnet.tasks.clevr.camera import project

    image = render(scene, 240, 160)
    assert image.shape == (160, 240, 3) and image.dtype == np.uint8
    for obj in scene["objects"]:
        u, v, _ = project([obj["3d_coords"]])[0] / 2
        pixel = image[int(v), int(u)].astype(int)
        rgb = np.array(COLOR_RGB[obj["color"]])
        assert np.argmax(pixel) == np.argmax(rgb)
    corner = image[5, 5].astype(int)
    assert corner.max() - corner.min() < 8  # grey floor
    assert np.array_equal(image, render(scene, 240, 160))


def test_scene_config_checks() -> None:
    with pytest.raises(RelnetError):
        SceneConfig(min_objects=4, max_objects=3)


def test_state_rows_keep_every_object_of_an_oversized_scene() -> None:
    from relnet.tasks.clevr.dataset import state_rows
    from relnet.tasks.clevr.format import ATTRIBUTES

    def scene(count: int) -> dict:
        obj = {"3d_coords": [1.0, -1.0, 0.35], "rotation": 90.0}
        obj.update({attribute: values[0] for attribute, values in ATTRIBUTES.items()})
        return {"objects": [dict(obj) for _ in range(count)]}

    rows, mask = state_rows([scene(12), scene(3)])
    assert rows.shape[:2] == (2, 12) and mask.sum(1).tolist() == [12, 3]
    assert np.allclose(rows[0, 11, :5], [1 / 3, -1 / 3, 0.35 / 3, 0.0, 1.0], atol=1e-6)
    rows, mask = state_rows([scene(3)])
    assert rows.shape[1] == 10  # CLEVR's usual slot count when no scene exceeds it
