"""``relnet explain`` on RRNs that answer after every step (bAbI, age arithmetic): the answer per step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from relnet.cli import EXIT_USER_ERROR, main
from relnet.explain.rrn_steps import settle_steps
from relnet.tasks import get_task
from relnet.training.weights import save_weights

TINY_BABI_RRN = {"embed_dim": 4, "lstm_dim": 4, "hidden_dim": 8, "steps": 3}
TINY_AGE_RRN = {"hidden_dim": 8, "mlp_widths": (8,), "readout_widths": (8,), "steps": 4}


def _weights(tmp_path: Path, task: str, config: dict) -> Path:
    torch.manual_seed(0)
    model = get_task(task).build_model("rrn", config)
    return save_weights(tmp_path / f"{task}-rrn.safetensors", task, "rrn", config, model)


@pytest.fixture(scope="module")
def tiny_babi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from relnet.tasks.babi.generator import generate

    root = tmp_path_factory.mktemp("babi-rrn-steps")
    generate(root, seed=3, size="1k", tasks=(1, 2))
    return root / "en-valid"


@pytest.fixture(scope="module")
def tiny_ages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from relnet.tasks.age_arithmetic.generator import AgeOptions, generate

    root = tmp_path_factory.mktemp("ages-rrn-steps")
    generate(root, seed=3, options=AgeOptions(train_size=40, val_size=20, test_size=60))
    return root


def test_settle_step_is_the_first_from_which_the_answer_stays() -> None:
    answers = torch.tensor([[1, 1, 1, 1], [2, 1, 1, 1], [1, 2, 1, 1], [1, 1, 1, 2], [3, 2, 3, 2]])
    assert settle_steps(answers).tolist() == [1, 2, 3, 4, 4]
    assert settle_steps(answers[:, :1]).tolist() == [1] * 5


def _split(capsys, argv: list[str], steps: int) -> dict:
    assert main([*argv, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    summary = payload["summary"]
    assert payload["steps"] == steps and len(summary["accuracy_by_step"]) == steps
    assert all(0 <= value <= 1 for value in summary["accuracy_by_step"])
    assert sum(summary["settle_steps"].values()) == summary["questions"] == len(payload["questions"])
    assert list(summary["settle_steps"]) == [str(step) for step in range(1, steps + 1)]
    for question in payload["questions"]:
        assert 1 <= question["settled"] <= steps and len(question["correct"]) == steps
    for group in summary["groups"].values():
        assert len(group["accuracy_by_step"]) == steps and all(0 <= v <= 1 for v in group["accuracy_by_step"])
    assert sum(group["questions"] for group in summary["groups"].values()) == summary["questions"]
    last = [question["correct"][-1] for question in payload["questions"]]
    assert summary["accuracy_by_step"][-1] == round(sum(last) / len(last), 4)
    assert main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in table[4 : 4 + steps]] == [str(step) for step in range(1, steps + 1)]
    return payload


def _one(capsys, argv: list[str], steps: int) -> dict:
    assert main([*argv, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)["question"]
    assert [step["step"] for step in record["steps"]] == list(range(1, steps + 1))
    assert all(0 <= step["probability"] <= 1 and 0 <= step["truth_probability"] <= 1 for step in record["steps"])
    answers = [step["answer"] for step in record["steps"]]
    settled = record["settled"]
    assert 1 <= settled <= steps and all(answer == answers[-1] for answer in answers[settled - 1 :])
    assert settled == 1 or answers[settled - 2] != answers[-1]
    assert record["correct"] == record["steps"][-1]["correct"]
    assert all(step["correct"] == (step["answer"] == record["truth"]) for step in record["steps"])
    assert main(argv) == 0
    assert f"settles at step {settled} of {steps}" in capsys.readouterr().out
    return record


def _fails_with(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == EXIT_USER_ERROR
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_babi_rrn_answers_step_by_step(capsys, tmp_path: Path, tiny_babi: Path) -> None:
    weights = _weights(tmp_path, "babi", TINY_BABI_RRN)
    argv = ["explain", "--weights", str(weights), "--data", str(tiny_babi)]
    payload = _split(capsys, [*argv, "--stride", "50", "--limit", "30"], 3)
    assert set(payload["summary"]["groups"]) == {"task_1", "task_2"}
    record = _one(capsys, [*argv, "--index", "7"], 3)
    assert record["index"] == 7 and record["question"].startswith("task 1: ")
    _fails_with(capsys, [*argv, "--index", "5000"], "--index 5000 is out of range: test has 2000 questions")
    _fails_with(capsys, [*argv, "--out", str(tmp_path / "x.png")], "--out draws figures")
    _fails_with(capsys, [*argv, "--steps", "2"], "--steps and --silence are for Sudoku RRN weights")


def test_age_arithmetic_rrn_answers_step_by_step(capsys, tmp_path: Path, tiny_ages: Path) -> None:
    weights = _weights(tmp_path, "age-arithmetic", TINY_AGE_RRN)
    argv = ["explain", "--weights", str(weights), "--data", str(tiny_ages)]
    payload = _split(capsys, argv, 4)
    assert all(group.startswith("distance ") for group in payload["summary"]["groups"])
    _one(capsys, [*argv, "--index", "0"], 4)
    _fails_with(capsys, [*argv, "--index", "-1"], "--index -1 is out of range: test has 60 questions")
