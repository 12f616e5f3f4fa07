"""`relnet explain` on CLEVR: the objects a question's program refers to, as the model's slots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from relnet.cli import main
from relnet.explain.views import ClevrView
from relnet.tasks import get_task
from relnet.tasks.clevr.dataset import load_table
from relnet.tasks.clevr.executor import IllPosedError, referred_objects
from relnet.tasks.clevr.format import write_questions, write_scenes
from relnet.tasks.clevr.generate import GenerateConfig, generate
from relnet.tasks.clevr.models import MODELS
from relnet.tasks.clevr.vocab import ATTRIBUTES, RELATIONS
from relnet.training.weights import save_weights

TINY = {"g_widths": (16, 16), "f_widths": (16,), "question_dim": 16, "embed_dim": 8}

# Four objects left to right: a small red cube, a large blue sphere, a small red cylinder, a large gray
# cube. Pixel coordinates (480×320 frame) put the first in the top-left corner and the sphere in the
# bottom-right one.
_OBJECTS = [
    ("small", "red", "rubber", "cube", [15, 10]),
    ("large", "blue", "metal", "sphere", [465, 310]),
    ("small", "red", "metal", "cylinder", [250, 120]),
    ("large", "gray", "rubber", "cube", [330, 200]),
]


def _node(function: str, inputs: list[int], value: str | None = None) -> dict:
    return {"function": function, "inputs": inputs, "value_inputs": [] if value is None else [value]}


def _scene() -> dict:
    objects = [
        {"size": size, "color": color, "material": material, "shape": shape, "rotation": 0.0,
         "3d_coords": [float(k) - 1.5, float(k) - 1.5, 0.35], "pixel_coords": [*pixels, 10.0]}
        for k, (size, color, material, shape, pixels) in enumerate(_OBJECTS)
    ]  # fmt: skip
    n = len(objects)
    before = [[j for j in range(n) if j < i] for i in range(n)]  # smaller x: left; smaller y: behind
    after = [[j for j in range(n) if j > i] for i in range(n)]
    relationships = dict(zip(RELATIONS, (before, after, after, before), strict=True))
    return {"image_index": 0, "image_filename": "CLEVR_val_000000.png", "split": "val", "objects": objects,
            "relationships": relationships}  # fmt: skip


#: question -> (program, the objects it refers to; None: ill-posed on the scene)
PROGRAMS: dict[str, tuple[list[dict], list[int] | None]] = {
    "What color is the cube left of the sphere?": (
        [_node("scene", []), _node("filter_shape", [0], "sphere"), _node("unique", [1]), _node("relate", [2], "left"),
         _node("filter_shape", [3], "cube"), _node("unique", [4]), _node("query_color", [5])],
        [0, 1],
    ),
    "How many red things are there?": (
        [_node("scene", []), _node("filter_color", [0], "red"), _node("count", [1])],
        [0, 2],
    ),
    "Are there more red things than cubes?": (
        [_node("scene", []), _node("filter_color", [0], "red"), _node("count", [1]), _node("scene", []),
         _node("filter_shape", [3], "cube"), _node("count", [4]), _node("greater_than", [2, 5])],
        [0, 2, 3],
    ),
    "Is there anything left of the sphere?": (
        [_node("scene", []), _node("filter_shape", [0], "sphere"), _node("unique", [1]), _node("relate", [2], "left"),
         _node("exist", [3])],
        [1],
    ),
    "Are there any green things?": ([_node("scene", []), _node("filter_color", [0], "green"), _node("exist", [1])], []),
    "What color is the cube?": (
        [_node("scene", []), _node("filter_shape", [0], "cube"), _node("unique", [1]), _node("query_color", [2])],
        None,
    ),
}  # fmt: skip


def test_the_referred_objects_are_the_unique_nodes_or_the_counted_sets() -> None:
    scene = _scene()
    for question, (program, expected) in PROGRAMS.items():
        if expected is None:
            with pytest.raises(IllPosedError):
                referred_objects(program, scene)
        else:
            assert referred_objects(program, scene) == expected, question


@pytest.fixture()
def hand_made(tmp_path: Path) -> Path:
    """A val split of the one scene above and the questions of :data:`PROGRAMS`, in file order."""
    write_scenes(tmp_path, "val", [_scene()])
    questions = [
        {"image_index": 0, "image_filename": "CLEVR_val_000000.png", "question_index": number, "question": text,
         "program": program}
        for number, (text, (program, _)) in enumerate(PROGRAMS.items())
    ]  # fmt: skip
    write_questions(tmp_path, "val", questions)
    return tmp_path


def _relevant(view: ClevrView, index: int, n: int) -> list[int] | None:
    found = view.relevant_objects(index, n)
    return None if found is None else found.nonzero().squeeze(1).tolist()


def test_state_slots_are_the_scene_objects_and_pixel_slots_the_nearest_cells(hand_made: Path) -> None:
    task = get_task("clevr")
    state = ClevrView(task, MODELS["rn-state"](**TINY), hand_made, "val")
    expected = [found if found else None for _, found in PROGRAMS.values()]  # none referred: no "rel" objects
    assert [_relevant(state, index, 10) for index in range(len(PROGRAMS))] == expected
    assert state.object_labels(0, 10)[:2] == ["small red rubber cube", "large blue metal sphere"]

    # 4 stride-2 convolutions take 128×128 to 8×8 cells; the cube in the top-left corner is nearest cell
    # 0, the sphere in the bottom-right one cell 63, the red cylinder at (250, 120) → (66.2, 47.5) in
    # 128×128 pixels cell (row 3, column 4) = 28 (cell centres lie 127 / 7 = 18.1 pixels apart).
    pixel = ClevrView(task, MODELS["rn"](channels=(4,) * 4, **TINY), hand_made, "val")
    assert _relevant(pixel, 0, 64) == [0, 63]
    assert _relevant(pixel, 1, 64) == [0, 28]
    assert _relevant(pixel, 0, 16) is None  # a model that saw other images: its cells are not these
    assert pixel.object_labels(0, 64)[63] == "cell 7,7 #1"

    lstm = ClevrView(task, MODELS["lstm"](widths=(8,), question_dim=8, embed_dim=8), hand_made, "val")
    assert lstm.relevant_objects(0, 10) is None  # its objects are not known


@pytest.fixture(scope="module")
def tiny_states(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 scenes × 5 questions without images (--no-render), about 20 of them in the val split."""
    root = tmp_path_factory.mktemp("clevr-explain")
    generate(root, seed=3, config=GenerateConfig(images=30, questions_per_image=5, render=False))
    return root


def test_explain_fills_the_relevance_columns_for_the_state_rn(capsys, tmp_path: Path, tiny_states: Path) -> None:
    torch.manual_seed(0)
    model = MODELS["rn-state"](**TINY)
    weights = save_weights(tmp_path / "rn-state.safetensors", "clevr", "rn-state", TINY, model)
    argv = ["explain", "--weights", str(weights), "--data", str(tiny_states), "--split", "val"]
    assert main([*argv, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["relevant"] == ClevrView.relevant
    everything = payload["groups"]["all"]
    for column in ("top_touches_relevant", "top_inside_relevant", "chance_touching", "chance_inside"):
        assert 0 <= everything[column] <= 1, column
    assert everything["chance_touching"] > 0
    assert any("top_touches_relevant" in question for question in payload["questions"])

    # The relevant slots hold the referred objects: the state rows the model reads are the scene's objects.
    view = ClevrView(get_task("clevr"), model, tiny_states, "val")
    table = load_table(tiny_states, "val")
    for index in range(len(table)):
        row = table.__getitems__([index])
        relevant = view.relevant_objects(index, row["state"].shape[1])
        if relevant is None:
            continue
        scene = view._scene(index)
        slots = relevant.nonzero().squeeze(1).tolist()
        assert slots == referred_objects(view.questions[index]["program"], scene)
        assert row["state_mask"][0, slots].all()
        for slot in slots:
            onehot, offset = row["state"][0, slot], 5
            for attribute, values in ATTRIBUTES.items():
                assert values[int(onehot[offset : offset + len(values)].argmax())] == scene["objects"][slot][attribute]
                offset += len(values)

    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[1].split()
    last = next(line for line in lines if line.startswith("all ")).split()
    top = last[header.index("top∋rel")]
    assert top.endswith("%") and 0 <= float(top[:-1]) <= 100
