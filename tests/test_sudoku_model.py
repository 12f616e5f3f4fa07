"""The Sudoku RRN, its loss and metrics, a tiny learning run, and the sudoku CLI verbs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from relnet.cli import EXIT_USER_ERROR, main
from relnet.tasks import get_task
from relnet.tasks.sudoku.dataset import load_table
from relnet.tasks.sudoku.format import grid_string, write_csv
from relnet.tasks.sudoku.generator import reveal
from relnet.tasks.sudoku.metrics import summarize
from relnet.tasks.sudoku.models import SudokuRRN
from relnet.tasks.sudoku.solver import random_grids, solve
from relnet.training.weights import save_weights

TINY = {"embed_dim": 8, "hidden_dim": 32, "mlp_layers": 1, "steps": 3, "eval_steps": 5}


def easy_puzzles(count: int, givens: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique puzzles with many givens (no minimal-puzzle search: fast)."""
    rng = np.random.default_rng(seed)
    solutions = random_grids(count, rng)
    empty = np.zeros_like(solutions)
    quizzes = reveal(empty, solutions, np.full(count, givens), rng)
    unique = solve(quizzes).unique
    return quizzes[unique], solutions[unique]


@pytest.fixture(scope="module")
def easy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    quizzes, solutions = easy_puzzles(40, 60, seed=0)
    return write_csv(tmp_path_factory.mktemp("sudoku") / "easy.csv", quizzes, solutions)


def test_steps_in_training_and_evaluation() -> None:
    model = SudokuRRN(**TINY)
    batch = {"quiz": torch.zeros(2, 81, dtype=torch.uint8)}
    assert model.train()(batch).shape == (2, 3, 81, 10)
    assert model.eval()(batch).shape == (2, 5, 81, 10)
    torch.testing.assert_close(model(batch, steps=2), model.reference_forward(batch, steps=2), atol=1e-5, rtol=1e-4)
    assert not any("edges" in name for name in model.state_dict())  # constants stay out of the weights


def test_paper_size() -> None:
    model = SudokuRRN()
    assert model.rrn.hidden_dim == 96 and model.digit.embedding_dim == 16
    assert (model.steps, model.eval_steps) == (32, 64)
    assert model.edges.shape == (2, 1620)
    assert [m.out_features for m in model.rrn.input_net if isinstance(m, torch.nn.Linear)] == [96, 96, 96, 96]


def test_loss_is_the_mean_over_steps() -> None:
    task = get_task("sudoku")
    logits = torch.randn(2, 4, 81, 10)
    solution = torch.randint(1, 10, (2, 81), dtype=torch.uint8)
    per_step = [F.cross_entropy(logits[:, t].reshape(-1, 10), solution.long().reshape(-1)) for t in range(4)]
    torch.testing.assert_close(task.loss(logits, {"answer": solution}), torch.stack(per_step).mean())


def test_metrics_per_givens_and_step() -> None:
    records = {
        "solved": torch.tensor([[False, True], [False, False], [True, True]]),
        "givens": torch.tensor([17, 17, 30]),
        "blank_right": torch.tensor([64, 60, 51]),
        "blanks": torch.tensor([64, 64, 51]),
    }
    metrics = summarize(records)
    assert metrics["overall"] == pytest.approx(2 / 3)
    assert metrics["givens_17"] == 0.5 and metrics["givens_30"] == 1.0
    assert metrics["step_1"] == pytest.approx(1 / 3) and metrics["step_2"] == pytest.approx(2 / 3)
    assert metrics["cells"] == pytest.approx(175 / 179)
    assert not any(name.endswith("_at_32") for name in metrics)  # 2 steps: nothing at 32


def test_a_64_step_model_also_reports_each_level_at_32_steps() -> None:
    solved = torch.zeros(3, 64, dtype=torch.bool)
    solved[0, 20:] = True  # solved by step 32
    solved[1, 40:] = True  # only after step 32
    records = {"solved": solved, "givens": torch.tensor([17, 17, 30]), "blank_right": torch.zeros(3),
               "blanks": torch.ones(3)}  # fmt: skip
    metrics = summarize(records)
    assert metrics["givens_17"] == 1.0 and metrics["givens_17_at_32"] == 0.5
    assert metrics["givens_30"] == 0.0 and metrics["givens_30_at_32"] == 0.0
    assert metrics["step_32"] == pytest.approx(1 / 3) and metrics["step_64"] == pytest.approx(2 / 3)


def test_a_tiny_rrn_learns_easy_puzzles() -> None:
    torch.manual_seed(0)
    quizzes, solutions = easy_puzzles(256, 66, seed=1)
    quiz, answer = torch.from_numpy(quizzes), torch.from_numpy(solutions)
    model = SudokuRRN(embed_dim=8, hidden_dim=32, mlp_layers=1, steps=2, eval_steps=3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    task = get_task("sudoku")
    blank = quiz[-64:] == 0

    def blank_accuracy() -> float:
        with torch.no_grad():
            guess = model.eval()({"quiz": quiz[-64:]})[:, -1, :, 1:].argmax(-1) + 1
        return (guess == answer[-64:].long())[blank].float().mean().item()

    before = blank_accuracy()
    model.train()
    for step in range(60):
        rows = torch.arange(32) + 32 * (step % 6)  # the first 192 puzzles train, the last 64 test
        loss = task.loss(model({"quiz": quiz[rows]}), {"answer": answer[rows]})
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = blank_accuracy()
    assert before < 0.15 and after > 0.3, (before, after)  # chance is 1/9


def test_eval_scores_any_puzzle_file(capsys, tmp_path: Path, easy_file: Path) -> None:
    weights = save_weights(tmp_path / "rrn.safetensors", "sudoku", "rrn", TINY, SudokuRRN(**TINY))
    plain = tmp_path / "plain.txt"
    plain.write_text("\n".join(grid_string(q).replace("0", ".") for q in load_table(easy_file, "test").columns["quiz"]))
    for data in (easy_file, plain):
        argv = ["eval", "--weights", str(weights), "--data", str(data), "--json", "--no-progress"]
        assert main([*argv, "--accelerator", "cpu"]) == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["task"] == "sudoku"
        assert {"overall", "givens_60", "cells", "step_5"} <= payload["metrics"].keys()
    # More steps at test than the saved configuration's, as the paper tests at 64 after training at 32.
    argv = ["eval", "--weights", str(weights), "--data", str(easy_file), "--json", "--no-progress"]
    assert main([*argv, "--model-option", "eval_steps=40"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["model_options"] == {"eval_steps": 40}
    assert {"step_32", "step_40", "givens_60_at_32"} <= payload["metrics"].keys()
    assert main([*argv, "--model-option", "hidden_dim=7"]) == 2  # would change the weights' shapes
    assert "weights do not fit model 'rrn'" in capsys.readouterr().err


def test_solve_command(capsys, tmp_path: Path, easy_file: Path) -> None:
    weights = save_weights(tmp_path / "rrn.safetensors", "sudoku", "rrn", TINY, SudokuRRN(**TINY))
    quiz = grid_string(load_table(easy_file, "test").columns["quiz"][0])
    assert main(["solve", quiz, "--weights", str(weights), "--show-steps", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    (record,) = payload["puzzles"]
    assert len(record["steps"]) == 5 and len(record["answer"]) == 81
    assert record["exact"] is not None and record["solutions"] == 1
    assert main(["solve", str(easy_file), "--weights", str(weights)]) == 0
    assert "solved" in capsys.readouterr().out
    assert main(["solve", quiz, "--exact"]) == 0
    assert "exact solver" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["solve", "12345"], "puzzle has 5 characters, expected 81"),
        (["solve", "no-such-file.txt"], "neither a puzzle file nor an 81-character puzzle"),
        (["solve", "11" + "0" * 79, "--exact"], "digit 1 appears twice in row 1"),
        (["generate", "sudoku", "--out", "x", "--givens", "10-20"], "--givens must satisfy 17 <= low"),
        (["inspect", "sudoku", "no-such-folder"], "missing"),
    ],
)
def test_cli_errors_are_one_line(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == EXIT_USER_ERROR
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err


def test_generate_and_inspect_commands(capsys, tmp_path: Path) -> None:
    out = tmp_path / "data"
    argv = ["generate", "sudoku", "--out", str(out), "--count", "24", "--val-count", "3", "--test-count", "3"]
    assert main([*argv, "--pool", "4", "--givens", "30-33", "--seed", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["givens"] == "30-33"
    assert main(["inspect", "sudoku", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files"]["train"]["unique"] == 24
    assert report["files"]["train"]["givens"] == {"30": 6, "31": 6, "32": 6, "33": 6}
