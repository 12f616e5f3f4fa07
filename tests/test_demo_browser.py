"""``relnet demo`` in a real headless browser (Chromium from the system's packages, skipped without one):
each page loads, answers a question from a link that presets its fields, and shows the bad-input message.

One Chromium run per link (``--dump-dom`` after the answer), against the server in a thread over the committed
weights and a tiny generated CLEVR folder. The screenshots in docs/images come from the same links:
``python -m relnet.demo.screenshots --out docs/images``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from relnet.demo.browser import Element, dump_dom, elements, find_chromium, link, serving
from relnet.tasks.clevr.generate import GenerateConfig, generate
from relnet.tasks.clevr.vocab import answer_text
from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, answer_question, sample_scene_objects
from tests.test_demo import PUZZLE, RESULTS, SOLUTION, STORY

#: 4 scenes, all in val, 4 questions each; small PNGs, cached at the committed models' 128×128.
CLEVR = GenerateConfig(
    images=4, questions_per_image=4, splits=("val",), image_size=(96, 64), cache_size=(128, 128), supersample=1
)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium: apt-get install chromium")
    return path


@pytest.fixture(scope="module")
def clevr_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser") / "clevr-tiny"
    generate(folder, seed=5, config=CLEVR)
    return folder


@pytest.fixture(scope="module")
def base(chromium: str, clevr_folder: Path):
    with serving(RESULTS, clevr_folder) as url:
        yield url


def open_link(chromium: str, base: str, page: str | None = None, **fields: object) -> dict[str, Element]:
    """The page's elements by id once the link to ``page`` (if any) has been opened and answered."""
    return elements(dump_dom(chromium, base + "/" if page is None else link(base, page, **fields)))


def first_question(folder: Path) -> dict:
    questions = json.loads((folder / "questions" / "CLEVR_val_questions.json").read_text())["questions"]
    return next(q for q in questions if q["image_index"] == min(q["image_index"] for q in questions))


def test_page_loads_and_fills_its_choices(chromium, base) -> None:
    page = open_link(chromium, base)
    assert [page[f"tab-{name}"].text for name in ("sudoku", "clevr", "babi", "clevr3d")] == [
        "Sudoku (RRN)",
        "Sort-of-CLEVR (RN)",
        "bAbI (RN)",
        "CLEVR (RN)",
    ]
    assert page["sudoku"].attrs["class"] == "on"
    assert len(page["color"].children) == 6 and len(page["subtype"].children) == 6  # /api/info answered
    assert [option.text for option in page["clevr3d-data"].children] == ["clevr-tiny"]
    assert page["clevr3d-range"].text == "(0 to 3, val split)"
    assert all(not page[f"{name}-error"].text for name in ("sudoku", "clevr", "babi", "clevr3d"))


def test_sudoku_answers(chromium, base) -> None:
    page = open_link(chromium, base, "sudoku", puzzle=PUZZLE.replace("0", "."), steps=16)
    assert page["tab-sudoku"].attrs["class"] == "on" and not page["sudoku-result"].hidden
    assert page["sudoku-verdict"].text == "RRN after 16 steps: solved: the answer matches the exact solution."
    assert page["step-label"].text == "16 of 16, 81/81 cells right"
    assert page["sudoku-grid"].text == SOLUTION  # the 81 cells, row by row


def test_sort_of_clevr_answers(chromium, base) -> None:
    page = open_link(chromium, base, "sort-of-clevr", seed=3, color="red", subtype="closest_to")
    config = GeneratorConfig()
    truth = answer_question(
        sample_scene_objects(np.random.default_rng(3), config), "red", "closest_to", config.image_size
    )
    assert page["tab-clevr"].attrs["class"] == "on" and not page["clevr-result"].hidden
    assert page["clevr-question"].text == "What is the shape of the object closest to the red object?"
    assert page["clevr-truth"].text == truth
    models = page["clevr-models"].children
    assert [model.children[0].text.split(":")[0] for model in models] == ["state RN", "pixel RN"]
    assert models[0].children[0].text == f"state RN: {truth} (right)"
    assert all(model.children[1].attrs["src"].startswith("data:image/png;base64,") for model in models)
    assert all(len(model.children[2].children) == 5 for model in models)  # the five pairs listed


def test_babi_answers(chromium, base) -> None:
    page = open_link(chromium, base, "babi", story=STORY, question="Where is the football?")
    assert page["tab-babi"].attrs["class"] == "on" and not page["babi-result"].hidden
    assert page["babi-answer"].text == "garden"
    pairs = page["babi-pairs"].children
    assert len(pairs) == 5
    assert '"John picked up the football."' in pairs[0].text and '"John went to the garden."' in pairs[0].text


def test_clevr_answers(chromium, base, clevr_folder) -> None:
    asked = first_question(clevr_folder)
    page = open_link(chromium, base, "clevr", data="clevr-tiny", scene=0, question=asked["question"])
    assert page["tab-clevr3d"].attrs["class"] == "on" and not page["clevr3d-result"].hidden
    assert page["clevr3d-asked"].text == asked["question"]
    assert page["clevr3d-truth"].text == answer_text(asked["answer"])
    assert page["clevr3d-image"].attrs["src"].startswith("data:image/png;base64,")
    titles = [model.children[0].text for model in page["clevr3d-models"].children]
    labels = ["pixel RN", "state RN", "CNN+LSTM+SA", "CNN+LSTM", "LSTM (question only)"]
    assert [title.split(": ")[0] for title in titles] == labels
    assert all(title.endswith(("(right)", "(wrong)", "network)")) for title in titles)
    assert asked["question"] in [item.text for item in page["clevr3d-examples"].children]


@pytest.mark.parametrize(
    ("page", "fields", "name", "message"),
    [
        ("sudoku", {"puzzle": "123", "steps": 8}, "sudoku", "a puzzle has 81 cells, this one has 3 characters"),
        ("sort-of-clevr", {"seed": -1, "color": "red", "subtype": "count"}, "clevr", '"seed"'),
        ("babi", {"story": STORY, "question": "Where is Bob?"}, "babi", "unknown word 'bob'"),
        ("clevr", {"scene": 99, "question": "How many cubes?"}, "clevr3d", "there is no scene 99 in clevr-tiny"),
        ("chess", {}, "sudoku", 'the link names no page "chess"'),
    ],
)
def test_bad_input_shows_the_message(chromium, base, page: str, fields: dict, name: str, message: str) -> None:
    shown = open_link(chromium, base, page, **fields)
    assert message in shown[f"{name}-error"].text
    assert shown[f"{name}-result"].hidden
