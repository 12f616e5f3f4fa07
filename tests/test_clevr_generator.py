"""CLEVR scenes and questions: placement rules, CoGenT, the 13 types, executor agreement, no degenerate questions."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from relnet.tasks.clevr.camera import REFERENCE_PROJECTION, ground_directions, project
from relnet.tasks.clevr.executor import execute, function_name
from relnet.tasks.clevr.questions import AnswerBalancer, questions_for_scene
from relnet.tasks.clevr.scenes import SceneConfig, generate_scene, scene_rng
from relnet.tasks.clevr.templates import FAMILIES
from relnet.tasks.clevr.vocab import COGENT, QUESTION_TYPES, SIZE_SCALE

FAST = SceneConfig(min_pixels=0)  # skip the visibility render where a test does not need it


@pytest.fixture(scope="module")
def scenes() -> list[dict]:
    return [generate_scene(scene_rng(5, "val", i), "val", i, FAST) for i in range(60)]


@pytest.fixture(scope="module")
def questions(scenes: list[dict]) -> list[dict]:
    rng, balancer, found = np.random.default_rng(0), AnswerBalancer(), []
    for scene in scenes:
        found += questions_for_scene(rng, scene, 10, balancer, len(found))
    return found


def test_scenes_follow_the_placement_rules(scenes: list[dict]) -> None:
    directions = ground_directions()
    axes = [np.array(directions[name][:2]) for name in ("right", "behind")]
    counts = Counter(len(s["objects"]) for s in scenes)
    assert min(counts) >= 3 and max(counts) <= 10 and len(counts) >= 6
    for scene in scenes:
        objects = scene["objects"]
        for i, a in enumerate(objects):
            x, y, z = a["3d_coords"]
            assert -3 <= x <= 3 and -3 <= y <= 3 and z == SIZE_SCALE[a["size"]]
            for b in objects[i + 1 :]:
                offset = np.array(b["3d_coords"][:2]) - np.array(a["3d_coords"][:2])
                gap = np.hypot(*offset) - SIZE_SCALE[a["size"]] - SIZE_SCALE[b["size"]]
                assert gap >= 0.25 - 1e-3
                for axis in axes:
                    assert not 1e-3 < abs(offset @ axis) < 0.4 - 1e-3


def test_relationships_come_from_the_camera_directions(scenes: list[dict]) -> None:
    for scene in scenes:
        coords = np.array([o["3d_coords"] for o in scene["objects"]])
        for relation in ("left", "right", "front", "behind"):
            direction = np.array(scene["directions"][relation])
            for i in range(len(coords)):
                expected = [j for j in range(len(coords)) if (coords[j] - coords[i]) @ direction > 0.2]
                assert scene["relationships"][relation][i] == expected
        # With the margin rule, every pair is ordered both ways.
        n = len(coords)
        for i in range(n):
            assert sorted(scene["relationships"]["left"][i] + scene["relationships"]["right"][i]) == [
                j for j in range(n) if j != i
            ]


def test_pixel_coords_and_camera_match_the_reference_projection(scenes: list[dict]) -> None:
    points = np.array([o["3d_coords"] for s in scenes for o in s["objects"]])
    homogeneous = np.c_[points, np.ones(len(points))] @ REFERENCE_PROJECTION.T
    reference = homogeneous[:, :2] / homogeneous[:, 2:]
    ours = project(points)[:, :2]
    assert np.median(np.linalg.norm(ours - reference, axis=1)) < 3.0
    assert np.max(np.linalg.norm(ours - reference, axis=1)) < 10.0
    assert np.allclose(ground_directions()["right"][:2], [0.656, 0.754], atol=0.01)
    assert np.allclose(ground_directions()["behind"][:2], [-0.754, 0.656], atol=0.01)


@pytest.mark.parametrize("condition", ["A", "B"])
def test_cogent_conditions(condition: str) -> None:
    config = SceneConfig(min_pixels=0, cogent=condition)
    for index in range(25):
        for obj in generate_scene(scene_rng(1, "trainA", index), "trainA", index, config)["objects"]:
            assert obj["color"] in COGENT[condition][obj["shape"]]


def test_visible_scenes_are_deterministic() -> None:
    first = generate_scene(scene_rng(2, "val", 7), "val", 7, SceneConfig())
    assert first == generate_scene(scene_rng(2, "val", 7), "val", 7, SceneConfig())
    assert first != generate_scene(scene_rng(2, "val", 8), "val", 8, SceneConfig())


def test_every_generated_answer_agrees_with_the_executor(scenes: list[dict], questions: list[dict]) -> None:
    assert len(questions) == 10 * len(scenes)
    for question in questions:
        outputs = execute(question["program"], scenes[question["image_index"]])
        answer = outputs[-1]
        assert question["answer"] == ("yes" if answer is True else "no" if answer is False else str(answer))


def test_all_13_types_and_every_family_appear(questions: list[dict]) -> None:
    types = Counter(function_name(q["program"][-1]) for q in questions)
    assert set(types) == set(QUESTION_TYPES)
    families = Counter(q["question_family_index"] for q in questions)
    assert set(families) == set(range(len(FAMILIES)))
    structures = {FAMILIES[f].structure for f in families}
    assert structures == {
        "zero_hop", "one_hop", "two_hop", "three_hop", "single_and", "single_or",
        "same_relate", "comparison", "compare_integer",
    }  # fmt: skip


def test_programs_use_the_real_node_format(questions: list[dict]) -> None:
    for question in questions:
        assert set(question) == {
            "split", "image_index", "image_filename", "question_index", "question", "answer",
            "question_family_index", "program",
        }  # fmt: skip
        for node in question["program"]:
            assert set(node) == {"inputs", "function", "value_inputs"}
        assert question["question"].endswith("?") and question["question"][0].isupper()


def test_no_ill_posed_or_degenerate_question(scenes: list[dict], questions: list[dict]) -> None:
    for question in questions:
        program = question["program"]
        outputs = execute(program, scenes[question["image_index"]])  # raises if a unique is ill-posed
        for index, node in enumerate(program):
            function = function_name(node)
            if function.startswith("filter_"):
                source = outputs[node["inputs"][0]]
                assert source and len(outputs[index]) < len(source), (question["question"], index)
            if function.startswith(("query_", "equal_")) and function != "equal_integer":
                # the attribute asked about is never part of the description it is asked of
                attribute = function.split("_", 1)[1]
                for source in node["inputs"]:
                    walk = source if function.startswith("query_") else program[source]["inputs"][0]
                    walk = program[walk]["inputs"][0]  # below the unique
                    while function_name(program[walk]).startswith("filter_"):
                        assert function_name(program[walk]) != f"filter_{attribute}", question["question"]
                        walk = program[walk]["inputs"][0]
        if function_name(program[-1]).startswith("equal_") and function_name(program[-1]) != "equal_integer":
            first, second = (program[program[-1]["inputs"][k]]["inputs"][0] for k in (0, 1))
            assert outputs[first] != outputs[second]  # never an object compared with itself


def test_answers_are_balanced_per_family(questions: list[dict]) -> None:
    answers = Counter(q["answer"] for q in questions if function_name(q["program"][-1]) == "exist")
    assert 0.3 < answers["yes"] / sum(answers.values()) < 0.7
    counts = Counter(q["answer"] for q in questions if function_name(q["program"][-1]) == "count")
    assert len(counts) >= 4 and max(counts.values()) < 0.45 * sum(counts.values())


def test_question_generation_is_deterministic(scenes: list[dict]) -> None:
    def run() -> list[dict]:
        rng, balancer = np.random.default_rng(11), AnswerBalancer()
        return [q for s in scenes[:10] for q in questions_for_scene(rng, s, 5, balancer)]

    assert run() == run()


def test_camera_field_of_view_is_blenders_default() -> None:
    from relnet.tasks.clevr.camera import FOCAL

    assert math.degrees(2 * math.atan(240 / FOCAL)) == pytest.approx(49.7, abs=0.3)
