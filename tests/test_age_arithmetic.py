"""Age arithmetic: the generator, the CSV format and its errors, the Prüfer split, the models' shapes and
a tiny RRN that learns."""

from __future__ import annotations

import heapq
import json
from collections import deque
from pathlib import Path

import numpy as np
import pytest
import torch

from relnet.cli import main
from relnet.errors import DataFormatError
from relnet.tasks import get_task
from relnet.tasks.age_arithmetic.generator import (
    PERSONS,
    TREES,
    AgeOptions,
    decode_prufer,
    encode_prufer,
    prufer_sequences,
    read_questions,
    sample_questions,
    tree_codes,
    tree_pools,
    write_questions,
)
from relnet.tasks.age_arithmetic.task import question_table

SMALL = AgeOptions(train_size=300, val_size=60, test_size=200)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ages")
    get_task("age-arithmetic").generate(root, seed=3, options=SMALL)
    return root


# -- independent references (plain Python, one question at a time) ---------------------------------
def _reference_answer(facts: list[tuple[int, int, int]], anchor: int, age: int, question: int) -> tuple[int, int]:
    """The asked person's age and distance by breadth-first search from the anchor."""
    neighbours: dict[int, list[tuple[int, int]]] = {p: [] for p in range(PERSONS)}
    for i, j, older_by in facts:
        neighbours[i].append((j, -older_by))  # age_j = age_i - d
        neighbours[j].append((i, older_by))
    ages, hops = {anchor: age}, {anchor: 0}
    queue = deque([anchor])
    while queue:
        person = queue.popleft()
        for other, change in neighbours[person]:
            if other not in ages:
                ages[other], hops[other] = ages[person] + change, hops[person] + 1
                queue.append(other)
    return ages[question], hops[question]


def _reference_prufer(edges: list[tuple[int, int]]) -> tuple[int, ...]:
    """The textbook Prüfer encoding: remove the smallest leaf, record its neighbour."""
    neighbours: dict[int, set[int]] = {p: set() for p in range(PERSONS)}
    for i, j in edges:
        neighbours[i].add(j)
        neighbours[j].add(i)
    leaves = [p for p in range(PERSONS) if len(neighbours[p]) == 1]
    heapq.heapify(leaves)
    sequence = []
    for _ in range(PERSONS - 2):
        leaf = heapq.heappop(leaves)
        (other,) = neighbours.pop(leaf)
        neighbours[other].discard(leaf)
        sequence.append(other)
        if len(neighbours[other]) == 1:
            heapq.heappush(leaves, other)
    return tuple(sequence)


# -- generator -----------------------------------------------------------------------------------
def test_generation_is_deterministic(dataset: Path, tmp_path: Path) -> None:
    task = get_task("age-arithmetic")
    task.generate(tmp_path / "again", seed=3, options=SMALL)
    task.generate(tmp_path / "other", seed=4, options=SMALL)
    for name in ("train.csv", "val.csv", "test.csv"):
        assert (dataset / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
        assert (dataset / name).read_bytes() != (tmp_path / "other" / name).read_bytes()


def test_every_answer_and_distance_rederived_from_the_facts(dataset: Path) -> None:
    for split in ("train", "val", "test"):
        questions = read_questions(dataset / f"{split}.csv")
        ages_seen = set()
        for row in range(len(questions)):
            pairs, differences = questions.pairs[row].tolist(), questions.differences[row].tolist()
            facts = [(i, j, d) for (i, j), d in zip(pairs, differences, strict=True)]
            anchor, age = (int(v) for v in questions.anchor[row])
            answer, hops = _reference_answer(facts, anchor, age, int(questions.question[row]))
            assert (answer, hops) == (questions.answer[row], questions.distance[row])
            ages_seen.add(answer)
        assert min(ages_seen) >= 0 and max(ages_seen) <= 98
    train = read_questions(dataset / "train.csv")
    assert set(np.unique(train.distance)) >= {0, 1, 2, 3, 4}  # the spread the metrics report on


def test_prufer_decoding_inverts_the_reference_encoding() -> None:
    codes = np.random.default_rng(0).choice(TREES, size=500, replace=False)
    sequences = prufer_sequences(codes)
    edges = decode_prufer(sequences)
    assert [_reference_prufer([tuple(e) for e in tree.tolist()]) for tree in edges] == [tuple(s) for s in sequences]
    shuffled = edges[:, ::-1, ::-1]  # another edge order and orientation: the same trees
    assert (encode_prufer(shuffled) == sequences).all()
    assert (tree_codes(sequences) == codes).all()


def test_train_val_and_test_trees_are_disjoint(dataset: Path) -> None:
    pools = tree_pools(0, 0.1, 0.1)
    assert sum(len(p) for p in pools.values()) == TREES
    assert len(np.unique(np.concatenate(list(pools.values())))) == TREES
    assert len(pools["test"]) == round(0.1 * TREES)
    trees = {}
    for split in ("train", "val", "test"):
        questions = read_questions(dataset / f"{split}.csv")
        trees[split] = {_reference_prufer([tuple(e) for e in pairs.tolist()]) for pairs in questions.pairs}
    assert not trees["train"] & trees["test"] and not trees["train"] & trees["val"] and not trees["val"] & trees["test"]


# -- format ----------------------------------------------------------------------------------------
def test_format_round_trip(dataset: Path, tmp_path: Path) -> None:
    original = read_questions(dataset / "val.csv")
    write_questions(tmp_path / "copy.csv", original)
    copy = read_questions(tmp_path / "copy.csv")
    assert (tmp_path / "copy.csv").read_bytes() == (dataset / "val.csv").read_bytes()
    for name in ("pairs", "differences", "anchor", "question", "answer", "distance", "lines"):
        assert np.array_equal(getattr(original, name), getattr(copy, name))


def _corrupt(dataset: Path, tmp_path: Path, line: int, edit) -> Path:
    lines = (dataset / "val.csv").read_text().splitlines()
    lines[line - 1] = edit(lines[line - 1])
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _with_field(column: int, value: str):
    def edit(line: str) -> str:
        fields = line.split(",")
        fields[column] = value
        return ",".join(fields)

    return edit


@pytest.mark.parametrize(
    ("line", "edit", "message"),
    [
        (1, lambda line: "facts,anchor,question", r"line 1: expected the header 'i1,j1,d1"),
        (5, lambda line: line + ",7", r"line 5: expected 26 fields, found 27"),
        (6, _with_field(2, "3.5"), r"line 6: column 'd1' must be an integer, not '3.5'"),
        (7, _with_field(0, "9"), r"line 7: persons are numbered 0-7"),
        (8, _with_field(-2, "-1"), r"line 8: the answer is -1 but the facts give \d+"),
        (9, _with_field(-1, "12"), r"line 9: the distance is 12 but the tree gives \d"),
        (10, _with_field(22, "99"), r"line 10: the anchor age must be 0-98"),
    ],
)
def test_bad_files_name_the_file_line_and_problem(dataset: Path, tmp_path: Path, line: int, edit, message: str) -> None:
    path = _corrupt(dataset, tmp_path, line, edit)
    with pytest.raises(DataFormatError, match=message) as caught:
        read_questions(path)
    assert str(caught.value).startswith(str(path))


def test_facts_that_are_not_a_tree_are_rejected(dataset: Path, tmp_path: Path) -> None:
    # Fact 2 becomes a copy of fact 1: 7 edges, one repeated, so some person is cut off.
    path = _corrupt(dataset, tmp_path, 4, lambda line: ",".join(line.split(",")[:3] * 2 + line.split(",")[6:]))
    with pytest.raises(DataFormatError, match=r"line 4: the facts do not link all 8 persons into one tree"):
        read_questions(path)


def test_cli_generate_and_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    sizes = ["--train-size", "40", "--val-size", "10", "--test-size", "20"]
    assert main(["generate", "age-arithmetic", "--out", str(out), *sizes]) == 0
    capsys.readouterr()
    assert main(["inspect", "age-arithmetic", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["splits"]["train"]["questions"] == 40
    assert sum(report["splits"]["val"]["distances"].values()) == 10
    assert set(report["shared_trees"].values()) == {0}


# -- models and metrics ----------------------------------------------------------------------------
MODEL_CONFIGS = [
    ("rrn", {"graph": "facts", "hidden_dim": 16, "mlp_widths": (16,), "readout_widths": (16,), "steps": 3}),
    ("rrn", {"graph": "tree", "hidden_dim": 16, "mlp_widths": (16,), "readout_widths": (16, 16), "steps": 3}),
    ("rrn", {"graph": "tree", "hidden_dim": 16, "mlp_widths": (16,), "readout_widths": (16,), "readout": "number"}),
    ("rn", {"g_widths": (16, 16), "f_widths": (16,), "scalar_values": True}),
    ("mlp", {"widths": (16,), "readout": "number", "scalar_values": True}),
]


@pytest.mark.parametrize(("name", "config"), MODEL_CONFIGS)
def test_model_output_shapes_and_metrics(dataset: Path, name: str, config: dict) -> None:
    task = get_task("age-arithmetic")
    model = task.build_model(name, config).eval()
    batch = task.load(dataset, "val").__getitems__(list(range(12)))
    output = model(batch)
    steps = config.get("steps", 8)
    assert output.shape == ((12, steps, 100) if name == "rrn" else (12, 100))
    assert torch.isfinite(task.loss(output, batch))
    metrics = task.summarize(task.records(output, batch))
    assert {"accuracy", "distance_0", "distance_7"} <= set(metrics)
    assert ("step_1" in metrics) == (name == "rrn")


def test_tree_rrn_does_not_depend_on_how_persons_are_numbered(dataset: Path) -> None:
    task = get_task("age-arithmetic")
    torch.manual_seed(0)
    model = task.build_model("rrn", dict(MODEL_CONFIGS[2][1], scalar_values=True)).eval()
    batch = task.load(dataset, "val").__getitems__(list(range(16)))
    relabel = torch.randperm(PERSONS)
    renamed = dict(batch, pairs=relabel[batch["pairs"]], anchor=relabel[batch["anchor"]])
    renamed["question"] = relabel[batch["question"]]
    assert torch.allclose(model(batch), model(renamed), atol=1e-5)


def test_summary_reports_each_distance_and_step() -> None:
    correct = torch.tensor([[False, True], [True, True], [False, False], [True, False]])
    metrics = get_task("age-arithmetic").summarize({"correct": correct, "distance": torch.tensor([0, 1, 1, 3])})
    assert metrics["accuracy"] == 0.5 and metrics["step_1"] == 0.5 and metrics["step_2"] == 0.5
    assert metrics["distance_0"] == 1.0 and metrics["distance_1"] == 0.5 and metrics["distance_3"] == 0.0
    assert np.isnan(metrics["distance_2"])


def test_a_tiny_tree_rrn_learns_in_seconds() -> None:
    """Questions at most one edge away, 200 steps of a small RRN: its answers land far closer to the
    truth than the best constant answer's. (Exact ages need an age precise to half a year, which takes
    thousands of steps; the exact accuracy only has to beat the most common answer's here.)"""
    task = get_task("age-arithmetic")
    questions = sample_questions(6000, np.arange(TREES), np.random.default_rng(0))
    table = question_table(questions).__getitems__(np.flatnonzero(questions.distance <= 1).tolist())
    train = {name: value[:-500] for name, value in table.items()}
    held_out = {name: value[-500:] for name, value in table.items()}
    torch.manual_seed(0)
    config = {"graph": "tree", "hidden_dim": 32, "mlp_widths": (32,), "readout_widths": (32,), "dropout": 0.0}
    model = task.build_model("rrn", dict(config, steps=2, scalar_values=True, readout="number", update="mlp"))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(200):
        rows = torch.randint(0, len(train["answer"]), (32,), generator=torch.Generator().manual_seed(step))
        batch = {name: value[rows] for name, value in train.items()}
        loss = task.loss(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        output = model(held_out)
    accuracy = task.summarize(task.records(output, held_out))["accuracy"]
    error = (output[:, -1].argmax(-1) - held_out["answer"]).abs().float()
    answers = train["answer"]
    constant_error = (held_out["answer"] - answers.median()).abs().float()
    assert error.mean() < 0.5 * constant_error.mean(), (error.mean(), constant_error.mean())
    assert (error <= 2).float().mean() > 3 * (constant_error <= 2).float().mean() + 0.05
    assert accuracy > np.bincount(answers.numpy()).max() / len(answers)
