"""``relnet demo``: every endpoint answers over real HTTP, and every bad input gets a 4xx with a message."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from relnet.cli import main
from relnet.demo import make_server
from relnet.demo.sudoku import MAX_STEPS
from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, answer_question, sample_scene_objects

RESULTS = Path(__file__).resolve().parents[1] / "results"
#: 30 givens; the committed quick RRN solves it within 32 steps.
PUZZLE = "000000907000420180000705026100904000050000040000507009920108000034059000507000000"
SOLUTION = "462831957795426183381795426173984265659312748248567319926178534834259671517643892"


@pytest.fixture(scope="module")
def url():
    server = make_server("127.0.0.1", 0, RESULTS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def request(url: str, path: str, body: object = None, *, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(call, timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_binds_to_localhost_by_default(tmp_path):
    server = make_server(port=0, results=tmp_path)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_page_is_self_contained(url):
    with urllib.request.urlopen(url + "/", timeout=30) as response:
        page = response.read().decode()
    assert all(endpoint in page for endpoint in ("/api/sudoku", "/api/sort-of-clevr", "/api/babi"))
    assert "http://" not in page and "https://" not in page  # nothing fetched from the internet


def test_info_names_the_committed_weights(url):
    status, info = request(url, "/api/info")
    assert status == 200
    assert info["sudoku"]["weights"].endswith("rrn.safetensors")
    assert set(info["sort-of-clevr"]["weights"]) == {"rn", "rn-state"}
    assert info["babi"]["weights"].endswith("rn.safetensors")


def test_sudoku_beliefs_step_by_step(url):
    status, reply = request(url, "/api/sudoku", {"puzzle": PUZZLE.replace("0", "."), "steps": 32})
    assert status == 200, reply
    assert reply["quiz"] == PUZZLE and reply["exact"] == SOLUTION
    assert reply["solved"] and reply["answer"] == SOLUTION
    assert len(reply["grids"]) == len(reply["confidence"]) == len(reply["right_cells"]) == 32
    assert all(len(grid) == 81 for grid in reply["grids"]) and len(reply["settled"]) == 81
    assert reply["right_cells"][-1] == 81 and reply["right_cells"][0] < 81  # beliefs change over the steps


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"puzzle": PUZZLE[:80]}, "81 cells"),
        ({"puzzle": PUZZLE[:-1] + "x"}, "only digits"),
        ({"puzzle": "11" + "0" * 79}, "contradictory givens"),
        ({"puzzle": "12345678" + "0" * 64 + "000000009"}, "no solution"),
        ({"puzzle": 5}, "must be a string"),
        ({}, "must be a string"),
        ({"puzzle": PUZZLE, "steps": 0}, f"from 1 to {MAX_STEPS}"),
        ({"puzzle": PUZZLE, "steps": "ten"}, f"from 1 to {MAX_STEPS}"),
    ],
)
def test_sudoku_bad_input_gets_a_message(url, body, message):
    status, reply = request(url, "/api/sudoku", body)
    assert status == 400 and message in reply["error"]


def test_sort_of_clevr_answers_and_pairs(url):
    status, reply = request(url, "/api/sort-of-clevr", {"seed": 3, "color": "red", "subtype": "closest_to"})
    assert status == 200, reply
    objects = sample_scene_objects(np.random.default_rng(3), GeneratorConfig())
    assert reply["truth"] == answer_question(objects, "red", "closest_to", GeneratorConfig().image_size)
    assert set(reply["models"]) == {"rn", "rn-state"}
    state = reply["models"]["rn-state"]
    assert state["answer"] == reply["truth"] and state["right"]
    assert len(state["pairs"]) == 5 and all(len(pair["objects"]) == 2 for pair in state["pairs"])
    effects = [abs(pair["effect"]) for pair in state["pairs"]]
    assert effects == sorted(effects, reverse=True)
    assert state["image"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"seed": -1, "color": "red", "subtype": "count"}, '"seed"'),
        ({"seed": "7", "color": "red", "subtype": "count"}, '"seed"'),
        ({"seed": 1, "color": "pink", "subtype": "count"}, '"color"'),
        ({"seed": 1, "color": "red", "subtype": "size"}, '"subtype"'),
    ],
)
def test_sort_of_clevr_bad_input_gets_a_message(url, body, message):
    status, reply = request(url, "/api/sort-of-clevr", body)
    assert status == 400 and message in reply["error"]


STORY = "Mary went to the kitchen.\nJohn picked up the football.\nJohn went to the garden.\nMary moved to the office.\n"


def test_babi_answer_and_deciding_pairs(url):
    status, reply = request(url, "/api/babi", {"story": STORY, "question": "Where is the football?"})
    assert status == 200, reply
    assert reply["answer"] == "garden" and reply["sentences_read"] == 4
    assert len(reply["pairs"]) == 5
    assert set(reply["pairs"][0]["sentences"]) == {"John picked up the football.", "John went to the garden."}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"story": "Mary went to Paris.", "question": "Where is Mary?"}, "unknown word 'paris'"),
        ({"story": STORY, "question": "Where is Zorro?"}, "the question: unknown word"),
        ({"story": " \n", "question": "Where is Mary?"}, "story is empty"),
        ({"story": STORY, "question": " "}, "question is empty"),
        ({"story": "Mary went to the kitchen.\n" * 101, "question": "Where is Mary?"}, "at most 100"),
        ({"story": ["Mary went to the kitchen."], "question": "Where is Mary?"}, "must be strings"),
    ],
)
def test_babi_bad_input_gets_a_message(url, body, message):
    status, reply = request(url, "/api/babi", body)
    assert status == 400 and message in reply["error"]


@pytest.mark.parametrize(
    ("path", "raw", "code", "message"),
    [
        ("/api/sudoku", b"{not json", 400, "not JSON"),
        ("/api/sudoku", b"[1, 2]", 400, "JSON object"),
        ("/api/sudoku", b" " * 20_000, 413, "too large"),
        ("/api/nothing", b"{}", 404, "no endpoint"),
        ("/etc/passwd", None, 404, "no page"),
    ],
)
def test_malformed_requests_get_a_message(url, path, raw, code, message):
    status, reply = request(url, path, raw=raw)
    assert status == code and message in reply["error"]


def test_missing_weights_are_a_message_not_a_crash(tmp_path):
    server = make_server("127.0.0.1", 0, tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        status, reply = request(base, "/api/sudoku", {"puzzle": PUZZLE})
        assert status == 404 and "no Sudoku weights" in reply["error"]
        status, reply = request(base, "/api/sort-of-clevr", {"seed": 0, "color": "red", "subtype": "count"})
        assert status == 404 and "no Sort-of-CLEVR weights" in reply["error"]
        status, reply = request(base, "/api/babi", {"story": STORY, "question": "Where is Mary?"})
        assert status == 404 and "no bAbI weights" in reply["error"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("argv", "message"), [(["--port", "70000"], "--port must lie"), (["--results", "/no/such/dir"], "no such folder")]
)
def test_cli_rejects_bad_options(capsys, argv, message):
    assert main(["demo", *argv]) == 2
    assert message in capsys.readouterr().err


#: A stand-in for the browser: just enough DOM for the page's script, which then runs against the server.
FAKE_DOM = """
const elements = {};
function element(id) {
  return {id, value: '', textContent: '', hidden: true, innerHTML: '', children: [], style: {}, className: '',
    classList: {toggle() {}}, options: [],
    add(option) { this.options.push(option); if (!this.value) this.value = option.value; },
    append(...kids) { this.children.push(...kids); },
    insertRow() {
      const row = element();
      row.insertCell = () => { const cell = element(); row.children.push(cell); return cell; };
      this.children.push(row);
      return row;
    }};
}
global.document = {getElementById: id => elements[id] || (elements[id] = element(id)), createElement: element};
global.Option = function (text, value) { this.text = text; this.value = value; };
const realFetch = fetch;
global.fetch = (path, options) => realFetch(process.argv[2] + path, options);
const text = id => document.getElementById(id).textContent;
"""
SCENARIO = """
;(async () => {
  const set = values => { for (const [id, v] of Object.entries(values)) document.getElementById(id).value = v; };
  const count = id => document.getElementById(id).children.length;
  await new Promise(resolve => setTimeout(resolve, 500));  // the page's own init()
  set({puzzle: 'PUZZLE', steps: '16'});
  await solveSudoku();
  const rows = count('sudoku-grid');
  set({puzzle: '123'});
  await solveSudoku();
  await askClevr();
  set({story: 'STORY', question: 'Where is the football?'});
  await askBabi();
  const pairs = count('babi-pairs');
  set({question: 'Where is Bob?'});
  await askBabi();
  console.log(JSON.stringify({verdict: text('sudoku-verdict'), rows, sudokuError: text('sudoku-error'),
    options: document.getElementById('subtype').options.length, models: count('clevr-models'),
    answer: text('babi-answer'), pairs, babiError: text('babi-error')}));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the page's script")
def test_page_script_runs_every_page(url, tmp_path):
    from relnet.demo.page import PAGE

    script = PAGE.split("<script>")[1].split("</script>")[0]
    path = tmp_path / "page.js"
    scenario = SCENARIO.replace("PUZZLE", PUZZLE).replace("STORY", STORY.replace("\n", "\\n"))
    path.write_text(FAKE_DOM + "eval(" + json.dumps(script + scenario) + ");\n")
    done = subprocess.run(["node", str(path), url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["verdict"].startswith("RRN after 16 steps: solved") and seen["rows"] == 9
    assert "81 cells" in seen["sudokuError"]
    assert seen["options"] == 6 and seen["models"] == 2
    assert seen["answer"] == "garden" and seen["pairs"] == 5
    assert "unknown word 'bob'" in seen["babiError"]


def test_cli_port_in_use_is_a_message(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["demo", "--port", str(taken.getsockname()[1]), "--results", str(tmp_path)]) == 2
    assert "in use" in capsys.readouterr().err
