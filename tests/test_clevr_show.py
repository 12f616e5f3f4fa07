"""``relnet show`` for CLEVR models and the demo's CLEVR page, on tiny generated folders and tiny weights."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import torch

from relnet.cli import main
from relnet.demo import make_server
from relnet.demo.clevr import MAX_CHARACTERS, MAX_WORDS
from relnet.tasks.clevr.generate import GenerateConfig, generate
from relnet.tasks.clevr.models import MODELS
from relnet.tasks.clevr.vocab import answer_text
from relnet.training.weights import save_weights
from tests.test_clevr_models import SMALL
from tests.test_demo import FAKE_DOM, request

#: 12 scenes (8 train, 2 val, 2 test), 4 questions each; 48×32 PNGs, cached at the models' 128×128.
TINY = GenerateConfig(images=12, questions_per_image=4, image_size=(48, 32), cache_size=(128, 128), supersample=1)
#: Baselines read 128×128 images here (the committed models' size), so the CNN+LSTM's MLP is sized for it.
CONFIGS = SMALL | {"cnn-lstm": SMALL["cnn-lstm"] | {"image_size": 128}}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``data/clevr-tiny`` (with images), ``data/clevr-states`` (the same scenes, no images) and
    ``results/clevr/quick/<model>.safetensors`` of every CLEVR model, untrained, under one folder."""
    base = tmp_path_factory.mktemp("clevr-show")
    generate(base / "data" / "clevr-tiny", seed=5, config=TINY)
    generate(
        base / "data" / "clevr-states", seed=5, config=GenerateConfig(images=12, questions_per_image=4, render=False)
    )
    for name, config in CONFIGS.items():
        torch.manual_seed(0)
        model = MODELS[name](**config)
        save_weights(base / "results" / "clevr" / "quick" / f"{name}.safetensors", "clevr", name, config, model)
    return {
        "base": base,
        "images": base / "data" / "clevr-tiny",
        "states": base / "data" / "clevr-states",
        "results": base / "results",
    }


def _weights(folders: dict[str, Path], name: str) -> str:
    return str(folders["results"] / "clevr" / "quick" / f"{name}.safetensors")


# ------------------------------------------------------------------------------------------- relnet show
@pytest.mark.parametrize(
    ("model", "data"),
    [("rn", "images"), ("rn-state", "images"), ("rn-state", "states"), ("cnn-lstm-sa", "images"), ("lstm", "states")],
)
def test_show_draws_a_png(capsys, tmp_path: Path, folders: dict[str, Path], model: str, data: str) -> None:
    out = tmp_path / f"{model}-{data}.png"
    argv = ["show", "--weights", _weights(folders, model), "--data", str(folders[data]), "--questions", "0,5"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply == {"task": "clevr", "model": model, "out": str(out), "questions": [0, 5]}
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_show_draws_exact_pairs_of_real_objects_only(folders: dict[str, Path]) -> None:
    """The state RN's pairs are ranked by exact effect and never touch the padding slots (a scene has
    3 to 10 objects in 10 slots); each pair's effect is the margin's drop when its term alone is removed."""
    from relnet.cli.show import _clevr_answers
    from relnet.explain.capture import forward_with_terms, relation_module
    from relnet.nn.attribution import answer_margin
    from relnet.tasks.clevr.dataset import load_table
    from relnet.training.weights import load_model
    from relnet.viz.clevr_pairs import top_pairs

    model = load_model(Path(_weights(folders, "rn-state")))[1].eval()
    table = load_table(folders["states"], "val")
    batch = table.__getitems__(list(range(len(table))))
    answers, effects, mask = _clevr_answers(model, batch)
    assert not mask.all(), "some scene should have fewer than 10 objects"
    terms = forward_with_terms(model, relation_module(model, "rn-state"), batch).to(torch.float64)
    for row in range(len(table)):
        pairs = top_pairs(effects[row], mask[row], 5)
        objects = int(batch["state_mask"][row].sum())
        assert len(pairs) == 5 and all(i < objects and j < objects for i, j, _ in pairs)
        assert [abs(e) for _, _, e in pairs] == sorted((abs(e) for _, _, e in pairs), reverse=True)
        i, j, effect = pairs[0]
        removed = torch.zeros_like(mask[:1])
        removed[0, i, j] = True
        single = {name: value[row : row + 1] for name, value in batch.items()}
        one = forward_with_terms(model, relation_module(model, "rn-state"), single).to(torch.float64)
        answer = answers[row : row + 1]
        with torch.no_grad():
            drop = answer_margin(one.output(), answer) - answer_margin(one.output(removed), answer)
        assert float(drop) == pytest.approx(effect, rel=1e-4, abs=1e-6)  # g ran in float32 on another batch
    assert torch.equal(answers, terms.output().argmax(-1))


def _one_line_error(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0, err


def test_show_errors_are_one_line(capsys, tmp_path: Path, folders: dict[str, Path]) -> None:
    out = str(tmp_path / "x.png")
    rn = ["show", "--weights", _weights(folders, "rn"), "--out", out]
    _one_line_error(capsys, [*rn, "--data", str(folders["images"]), "--questions", "0,999"], "question indices [999]")
    _one_line_error(capsys, [*rn, "--data", str(folders["images"]), "--questions=-1"], "are out of range: val has 8")
    _one_line_error(capsys, [*rn, "--data", str(folders["states"]), "--questions", "0"], "reads images")
    _one_line_error(capsys, [*rn, "--data", str(folders["images"]), "--split", "dev"], "missing file")
    assert not Path(out).exists()


# ------------------------------------------------------------------------------------- the demo's page
@pytest.fixture(scope="module")
def url(folders: dict[str, Path]):
    """The demo over the tiny weights; its CLEVR folders are found under data/ beside results/ (and in
    the working directory, here the same folder)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folders["base"])
        server = make_server("127.0.0.1", 0, folders["results"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _file_question(root: Path, split: str = "val") -> dict:
    questions = json.loads((root / "questions" / f"CLEVR_{split}_questions.json").read_text())["questions"]
    first_image = min(q["image_index"] for q in questions)
    return next(q for q in questions if q["image_index"] == first_image)


def test_demo_info_lists_weights_and_folders(url) -> None:
    status, info = request(url, "/api/info")
    assert status == 200
    clevr = info["clevr"]
    assert set(clevr["weights"]) == set(MODELS)
    assert [folder["name"] for folder in clevr["folders"]] == ["clevr-tiny", "clevr-states"]  # images first
    assert clevr["folders"][0] == {"name": "clevr-tiny", "split": "val", "scenes": 2, "images": True}
    assert clevr["missing"] is None


def test_demo_answers_a_question_with_pairs(url, folders: dict[str, Path]) -> None:
    asked = _file_question(folders["images"])
    status, reply = request(url, "/api/clevr", {"data": "clevr-tiny", "scene": 0, "question": asked["question"]})
    assert status == 200, reply
    assert reply["truth"] == answer_text(asked["answer"])
    assert reply["unknown_words"] == [] and asked["question"] in reply["examples"]
    assert list(reply["models"]) == ["rn", "rn-state", "cnn-lstm-sa", "cnn-lstm", "lstm"]
    for name, model in reply["models"].items():
        assert model["answer"] is not None and model["right"] in (True, False)
        if name in ("rn", "rn-state"):
            assert len(model["pairs"]) == 5 and model["image"].startswith("data:image/png;base64,")
            effects = [abs(pair["effect"]) for pair in model["pairs"]]
            assert effects == sorted(effects, reverse=True)
        else:
            assert model["pairs"] is None and model["image"] is None
    assert reply["models"]["rn"]["pairs"][0]["objects"][0].startswith("cell (")
    objects = set(reply["objects"])
    assert all(name in objects for pair in reply["models"]["rn-state"]["pairs"] for name in pair["objects"])


def test_demo_without_images_answers_with_state_models(url) -> None:
    status, reply = request(url, "/api/clevr", {"data": "clevr-states", "scene": 1, "question": "How many cubes?"})
    assert status == 200, reply
    assert reply["truth"] is None  # not one of the file's questions
    assert reply["models"]["rn"]["answer"] is None and "has none" in reply["models"]["rn"]["note"]
    assert reply["models"]["rn-state"]["answer"] is not None and len(reply["models"]["rn-state"]["pairs"]) == 5
    assert reply["models"]["lstm"]["answer"] is not None


def test_demo_reports_unknown_words_and_still_answers(url) -> None:
    status, reply = request(url, "/api/clevr", {"scene": 0, "question": "How many zorgs are left of the blorp?"})
    assert status == 200, reply
    assert reply["unknown_words"] == ["zorgs", "blorp"]
    assert reply["data"] == "clevr-tiny" and reply["models"]["rn-state"]["answer"] is not None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"scene": 0, "question": ""}, "the question is empty"),
        ({"scene": 0, "question": "  \n "}, "the question is empty"),
        ({"scene": 0}, '"question" must be a string'),
        ({"scene": 0, "question": ["How many cubes?"]}, '"question" must be a string'),
        ({"scene": 2, "question": "How many cubes?"}, "there is no scene 2 in clevr-tiny (val): choose 0 to 1"),
        ({"scene": -1, "question": "How many cubes?"}, "there is no scene -1"),
        ({"scene": "0", "question": "How many cubes?"}, '"scene" must be a whole number from 0 to 1'),
        ({"scene": True, "question": "How many cubes?"}, '"scene" must be a whole number'),
        ({"scene": 0, "question": "x" * (MAX_CHARACTERS + 1)}, f"at most {MAX_CHARACTERS})"),
        ({"scene": 0, "question": "cube " * (MAX_WORDS + 1)}, f"({MAX_WORDS + 1} words; at most {MAX_WORDS})"),
        ({"data": "../secret", "scene": 0, "question": "How many cubes?"}, '"data" must be one of clevr-tiny'),
        ({"data": ["clevr-tiny"], "scene": 0, "question": "How many cubes?"}, '"data" must be one of'),
    ],
)
def test_demo_rejects_bad_input_with_a_message(url, body: dict, message: str) -> None:
    status, reply = request(url, "/api/clevr", body)
    assert status == 400 and message in reply["error"], reply


def test_demo_without_a_folder_says_how_to_make_one(tmp_path: Path, monkeypatch, folders: dict[str, Path]) -> None:
    monkeypatch.chdir(tmp_path)  # no data/ here either
    results = tmp_path / "results"
    shutil.copytree(folders["results"], results)
    server = make_server("127.0.0.1", 0, results)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, info = request(base, "/api/info")
        assert status == 200 and info["clevr"]["folders"] == [] and "relnet generate clevr" in info["clevr"]["missing"]
        status, reply = request(base, "/api/clevr", {"scene": 0, "question": "How many cubes?"})
        assert status == 404 and "relnet generate clevr --out" in reply["error"]
    finally:
        server.shutdown()
        server.server_close()
    server = make_server("127.0.0.1", 0, tmp_path / "nothing", clevr_data=folders["states"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, reply = request(base, "/api/clevr", {"scene": 0, "question": "How many cubes?"})
        assert status == 404 and "no CLEVR weights" in reply["error"]
    finally:
        server.shutdown()
        server.server_close()


SCENARIO = """
;(async () => {
  await new Promise(resolve => setTimeout(resolve, 500));  // the page's own init()
  const range = text('clevr3d-range');
  document.getElementById('clevr3d-question').value = 'How many zorgs are there?';
  await askClevr3d();
  const models = document.getElementById('clevr3d-models').children.length;
  const examples = document.getElementById('clevr3d-examples').children.length;
  const unknown = text('clevr3d-unknown');
  document.getElementById('clevr3d-question').value = '';
  await askClevr3d();
  console.log(JSON.stringify({range, models, examples, unknown, error: text('clevr3d-error'),
    hidden: document.getElementById('clevr3d-result').hidden}));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the page's script")
def test_page_script_asks_clevr(url, tmp_path: Path) -> None:
    from relnet.demo.page import PAGE

    script = PAGE.split("<script>")[1].split("</script>")[0]
    path = tmp_path / "page.js"
    path.write_text(FAKE_DOM + "eval(" + json.dumps(script + SCENARIO) + ");\n")
    done = subprocess.run(["node", str(path), url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["range"] == "(0 to 1, val split)"
    assert seen["models"] == 5 and seen["examples"] == 4
    assert "zorgs" in seen["unknown"]
    assert "the question is empty" in seen["error"] and seen["hidden"]
