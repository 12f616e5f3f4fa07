"""Pretty-CLEVR: the generator, every answer re-derived independently, the format and its errors, the
greedy jumps on a hand-made scene, the models' shapes and a tiny RRN that learns."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from relnet.data import TensorTable
from relnet.errors import DataFormatError
from relnet.tasks import get_task
from relnet.tasks.pretty_clevr.generator import (
    COLOURS,
    MARKERS,
    PrettyOptions,
    Scenes,
    greedy_paths,
    read_split,
    sample_scenes,
    scene_questions,
    write_split,
)
from relnet.tasks.pretty_clevr.models import augment
from relnet.tasks.pretty_clevr.task import read_arrays, scene_table

SMALL = PrettyOptions(train_scenes=12, val_scenes=3, test_scenes=4)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pretty")
    get_task("pretty-clevr").generate(root, seed=5, options=SMALL)
    return root


def copy_split(dataset: Path, tmp_path: Path) -> Path:
    """A writable copy of the small dataset's test split, without images."""
    folder = tmp_path / "test"
    shutil.copytree(dataset / "test", folder, ignore=shutil.ignore_patterns("images", "cache"))
    return folder


# ---------------------------------------------------------------------------- generator
def test_the_generator_is_deterministic_and_seeded(dataset: Path, tmp_path: Path) -> None:
    task = get_task("pretty-clevr")
    again, other = tmp_path / "again", tmp_path / "other"
    task.generate(again, seed=5, options=SMALL)
    task.generate(other, seed=6, options=SMALL)
    for name in ("train/questions.csv", "dev/states/00002.json", "test/images/00003.png", "test/dict.json"):
        assert (dataset / name).read_bytes() == (again / name).read_bytes(), name
    assert (dataset / "train/questions.csv").read_bytes() != (other / "train/questions.csv").read_bytes()
    assert sorted(p.name for p in dataset.iterdir()) == ["dev", "test", "train"]


def greedy_walk(points: list[list[float]], start: int, jumps: int) -> int:
    """The object reached after ``jumps`` jumps to the nearest not-yet-visited object (plain Python)."""
    visited, current = {start}, start
    for _ in range(jumps):
        current = min(
            (o for o in range(len(points)) if o not in visited), key=lambda o: math.dist(points[current], points[o])
        )
        visited.add(current)
    return current


def test_every_answer_is_rederived_from_its_state_file(dataset: Path) -> None:
    """Read the files as the authors' loader does (``line.strip().split(", ")``, bare file names in
    ``images/`` and ``states/``) and json only, walk the jumps in plain Python, compare every target."""
    for split, scenes in (("train", 12), ("dev", 3), ("test", 4)):
        folder = dataset / split
        rows = [line.strip().split(", ") for line in (folder / "questions.csv").read_text().splitlines()]
        assert len(rows) == scenes * 128 and all(len(row) == 5 for row in rows)
        per_scene: dict[str, list[tuple[str, int]]] = {}
        for png, name, anchor, jumps, target in rows:
            state = json.loads((folder / "states" / name).read_text())
            points = [obj["p"] for obj in state]
            assert sorted(o["c"] for o in state) == sorted(COLOURS)
            assert [o["m"] for o in state] == list(MARKERS)  # the authors' object order: object k has marker k
            assert min(math.dist(a, b) for i, a in enumerate(points) for b in points[i + 1 :]) > 0.1
            by_colour = anchor in COLOURS
            start = next(i for i, o in enumerate(state) if o["c" if by_colour else "m"] == anchor)
            end = state[greedy_walk(points, start, int(jumps))]
            assert target == (end["m"] if by_colour else end["c"]), (png, name, anchor, jumps, target)
            assert png == name.replace(".json", ".png")
            per_scene.setdefault(name, []).append((anchor, int(jumps)))
        # The authors' order: start object, then jumps 0-7, then the colour anchor before the marker anchor.
        for questions in per_scene.values():
            assert len(set(questions)) == 128 and [j for _, j in questions[:16]] == [k // 2 for k in range(16)]
            assert [a in COLOURS for a, _ in questions[:4]] == [True, False, True, False]
        with Image.open(folder / "images" / rows[0][0]) as image:
            assert image.size == (128, 128) and image.mode == "RGB"


def test_greedy_jumps_on_a_hand_made_scene() -> None:
    """Objects on a line; from object 0 the walk goes 0 → 2 → 4 → 6 → 1 → 3 → 5 → 7: after two jumps
    it is at object 4, not at object 1 (the second nearest to the start)."""
    xs = [0.42, 0.55, 0.30, 0.70, 0.15, 0.85, 0.0, 1.0]
    positions = np.array([[[x, 0.5] for x in xs]])
    paths = greedy_paths(positions)
    assert paths[0, 0].tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    assert paths[0, 7].tolist() == [7, 5, 3, 1, 0, 2, 4, 6]
    scenes = Scenes(positions, np.arange(8)[None], np.arange(8)[::-1].copy()[None])
    questions = scene_questions(scenes)
    asked = {
        (int(a), int(j)): int(t) for a, j, t in zip(questions.anchor, questions.jumps, questions.answer, strict=True)
    }
    # The blue object (colour 0) is object 0; two jumps reach object 4, whose marker is MARKERS[7 - 4].
    assert asked[(0, 2)] == 8 + MARKERS.index("<")
    # The marker "X" (marker 7) is object 0 as well; seven jumps reach object 7: colour 7, gray.
    assert asked[(8 + 7, 7)] == COLOURS.index("gray")


def test_sampled_scenes_keep_their_distance() -> None:
    scenes = sample_scenes(200, np.random.default_rng(0), min_distance=0.15)
    gaps = np.linalg.norm(scenes.positions[:, :, None] - scenes.positions[:, None], axis=-1)
    gaps[:, np.arange(8), np.arange(8)] = np.inf
    assert gaps.min() > 0.15 and (np.sort(scenes.colours, axis=1) == np.arange(8)).all()


# ---------------------------------------------------------------------------- format
def test_the_format_round_trips(tmp_path: Path) -> None:
    scenes = sample_scenes(5, np.random.default_rng(1))
    write_split(tmp_path / "split", scenes, render=False)
    split = read_split(tmp_path / "split")
    assert np.array_equal(split.scenes.positions, scenes.positions)  # bit for bit through JSON
    assert np.array_equal(split.scenes.colours, scenes.colours) and np.array_equal(split.scenes.markers, scenes.markers)
    expected = scene_questions(scenes)
    for name in ("scene", "anchor", "jumps", "answer"):
        assert np.array_equal(getattr(split.questions, name), getattr(expected, name)), name
    assert split.states[3] == "states/00003.json" and split.images[3] == "images/00003.png"


def test_the_reader_takes_relnets_older_layout_too(dataset: Path, tmp_path: Path) -> None:
    """Before generator version 2 relnet wrote a header and paths relative to the split folder."""
    folder = copy_split(dataset, tmp_path)
    rows = [
        [field.strip() for field in line.split(",")] for line in (folder / "questions.csv").read_text().splitlines()
    ]
    old = [f"images/{png},states/{state},{anchor},{jumps},{target}" for png, state, anchor, jumps, target in rows]
    new = read_split(folder)
    (folder / "questions.csv").write_text("\n".join(["png,json,anchor,n_jumps,target", *old]) + "\n")
    again = read_split(folder)
    assert again.states == new.states and again.images == new.images == [f"images/{i:05d}.png" for i in range(4)]
    for name in ("scene", "anchor", "jumps", "answer"):
        assert np.array_equal(getattr(again.questions, name), getattr(new.questions, name)), name
    assert again.questions.lines[0] == 2 and new.questions.lines[0] == 1  # line numbers count the header


def test_the_reader_accepts_dictionary_numbers_and_caches_arrays(dataset: Path, tmp_path: Path) -> None:
    folder = copy_split(dataset, tmp_path)
    dictionary = json.loads((folder / "dict.json").read_text())
    text = (folder / "questions.csv").read_text().splitlines()
    png, state, anchor, jumps, target = (field.strip() for field in text[1].split(","))
    text[1] = ",".join([png, state, str(dictionary[anchor]), jumps, str(dictionary[target])])
    (folder / "questions.csv").write_text("\n".join(text) + "\n")
    first = read_arrays(folder)
    assert (folder / "cache" / "questions.npz").is_file()
    cached = read_arrays(folder)
    assert np.array_equal(first[1].answer, cached[1].answer) and np.array_equal(first[0].positions, cached[0].positions)
    table = get_task("pretty-clevr").load(folder, "test")
    assert len(table) == 4 * 128 and table[0]["positions"].shape == (8, 2)


def rewrite(path: Path, line: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("line", "text", "message"),
    [
        (1, "png,json,anchor,jumps,target", "questions.csv, line 1: expected the header"),
        (5, "images/00000.png,states/00000.json,red,3", "line 5: expected 5 fields"),
        (6, "images/00000.png,states/00000.json,red,8,o", "line 6: n_jumps must be an integer 0-7, not '8'"),
        (7, "images/00000.png,states/00000.json,purple,1,o", "line 7: anchor must be a colour, a marker"),
        (8, "images/00000.png,states/00000.json,red,1,blue", "line 8: anchor 'red' asks for a marker"),
        (9, "images/00000.png,states/00042.json,red,1,o", "states/00042.json: missing"),
        (10, "images/00001.png,states/00000.json,red,1,o", "line 10: states/00000.json is drawn in images/00000.png"),
    ],
)
def test_bad_question_lines_are_named(dataset: Path, tmp_path: Path, line: int, text: str, message: str) -> None:
    folder = copy_split(dataset, tmp_path)
    rewrite(folder / "questions.csv", line, text)
    with pytest.raises(DataFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_split(folder)


def test_a_wrong_target_is_named_with_the_answer_the_state_gives(dataset: Path, tmp_path: Path) -> None:
    folder = copy_split(dataset, tmp_path)
    lines = (folder / "questions.csv").read_text().splitlines()
    png, state, anchor, jumps, target = (field.strip() for field in lines[3].split(","))  # line 4
    wrong = next(m for m in MARKERS if m != target) if anchor in COLOURS else next(c for c in COLOURS if c != target)
    rewrite(folder / "questions.csv", 4, ",".join([png, state, anchor, jumps, wrong]))
    with pytest.raises(
        DataFormatError, match=rf"line 4: the target is '{re_escape(wrong)}' but states/{state} gives '"
    ):
        read_split(folder)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s[:7], "states/00001.json: expected a list of 8 objects"),
        (lambda s: [*s[:2], {**s[2], "c": s[3]["c"]}, *s[3:]], "each colour must be used once"),
        (lambda s: [{**s[0], "m": "*"}, *s[1:]], r"states/00001.json, object 0: \"m\" must be one of"),
        (lambda s: [{**s[0], "p": [0.1]}, *s[1:]], r"object 0: \"p\" must be two finite numbers"),
    ],
)
def test_bad_state_files_are_named(dataset: Path, tmp_path: Path, edit, message: str) -> None:
    folder = copy_split(dataset, tmp_path)
    path = folder / "states" / "00001.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(DataFormatError, match=message):
        read_split(folder)


def test_a_bad_dictionary_and_a_missing_split_are_named(dataset: Path, tmp_path: Path) -> None:
    folder = copy_split(dataset, tmp_path)
    (folder / "dict.json").write_text(json.dumps({"blue": 0}))
    with pytest.raises(DataFormatError, match=r"dict\.json: expected the 16 names"):
        read_split(folder)
    with pytest.raises(DataFormatError, match=r"dev/questions\.csv: missing: no Pretty-CLEVR 'val' split"):
        get_task("pretty-clevr").load(tmp_path, "val")


def test_inspect_rederives_every_answer_and_checks_the_images(dataset: Path, tmp_path: Path) -> None:
    """What ``relnet inspect pretty-clevr DIR`` prints (the CLI only formats it)."""
    report = get_task("pretty-clevr").inspect(dataset)
    assert report["splits"]["val"]["answers_rederived"] == 3 * 128 and report["splits"]["test"]["images"] == 4
    assert report["splits"]["train"]["jumps"] == {str(k): 12 * 16 for k in range(8)}
    assert report["splits"]["test"]["scenes_in_marker_order"] == 4  # as in the authors' data
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    Image.new("RGB", (64, 64)).save(broken / "dev" / "images" / "00000.png")
    with pytest.raises(DataFormatError, match=r"dev/images/00000\.png: expected 128x128 pixels, found 64x64"):
        get_task("pretty-clevr").inspect(broken)
    (broken / "dev" / "images" / "00001.png").unlink()
    with pytest.raises(DataFormatError, match=r"00001\.png: missing, though other scenes"):
        get_task("pretty-clevr").inspect(broken)


# ---------------------------------------------------------------------------- models
def small_batch(dataset: Path, size: int = 32) -> dict[str, torch.Tensor]:
    table = get_task("pretty-clevr").load(dataset, "train")
    return table.__getitems__(torch.randperm(len(table), generator=torch.Generator().manual_seed(0))[:size].tolist())


@pytest.mark.parametrize("hints", [False, True])
def test_every_model_answers_16_classes_and_the_rrn_answers_at_every_step(dataset: Path, hints: bool) -> None:
    task = get_task("pretty-clevr")
    batch = small_batch(dataset)
    for name in task.models:
        config = task.fit_config(name, {"hints": hints}, dataset, "train")
        output = task.build_model(name, config)(batch)
        steps = int(name.removeprefix("rrn-")) if name.startswith("rrn-") else None
        assert output.shape == ((32, steps, 16) if steps else (32, 16)), name
        assert torch.isfinite(task.loss(output, batch))
        metrics = task.summarize(task.records(output, batch))
        assert set(metrics) >= {"accuracy", *(f"jumps_{k}" for k in range(8))}
        # accuracy after every step (for rrn-1 that is the accuracy itself)
        assert ("step_1" in metrics) == (steps is not None and steps > 1)


def test_augmentation_turns_and_scales_scenes_without_changing_any_answer(dataset: Path) -> None:
    batch = small_batch(dataset, 64)
    torch.manual_seed(0)
    turned = augment(batch)
    assert not torch.allclose(turned["positions"], batch["positions"])
    before = greedy_paths(batch["positions"].double().numpy())
    after = greedy_paths(turned["positions"].double().numpy())
    assert np.array_equal(before, after)


def test_a_tiny_rrn_learns_zero_and_one_jump_questions_above_chance(tmp_path: Path) -> None:
    """Trained for a few seconds on the 0- and 1-jump questions of 300 scenes, an RRN with 1 step
    answers held-out ones far above chance (1/8). In seconds it learns to find the anchor and read out
    its attribute (0 jumps); the 1-jump questions take minutes (docs/pretty-clevr.md)."""
    torch.manual_seed(0)
    scenes = sample_scenes(360, np.random.default_rng(2))
    questions = scene_questions(scenes)
    table = scene_table(scenes, questions)
    easy = torch.from_numpy(np.flatnonzero(questions.jumps <= 1))
    train_rows = easy[questions.scene[easy.numpy()] < 300]
    test_rows = easy[questions.scene[easy.numpy()] >= 300]
    train = TensorTable({k: v[train_rows] for k, v in table.columns.items()}, table.lookups)
    held_out = table.__getitems__(test_rows.tolist())
    task = get_task("pretty-clevr")
    config = {"hidden_dim": 48, "mlp_widths": (48,), "readout_widths": (48,), "dropout": 0.0, "hints": True}
    model = task.build_model("rrn-1", task.fit_config("rrn-1", config, tmp_path, "train"))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(8):  # about 300 steps; the plateau at chance ends after about 200
        for rows in torch.randperm(len(train)).split(256):
            batch = train.__getitems__(rows.tolist())
            loss = task.loss(model(batch), batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        metrics = task.summarize(task.records(model(held_out), held_out))
    assert metrics["jumps_0"] > 0.8 and metrics["accuracy"] > 0.4, metrics
