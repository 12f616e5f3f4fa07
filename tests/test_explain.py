"""`relnet explain`: the pair attribution is exact, greedy deletion keeps the answer, the CLI end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from relnet.cli import EXIT_USER_ERROR, main
from relnet.explain.analysis import explain_batch, spearman
from relnet.explain.capture import forward_with_terms, relation_module
from relnet.nn import MultiLayerRelationNetwork, RelationNetwork
from relnet.nn.attribution import answer_margin, pair_terms
from relnet.nn.pairs import prepare_inputs, valid_count
from relnet.nn.reference import concatenated_pairs_g
from relnet.tasks import get_task
from relnet.training.weights import load_model, save_weights

TINY_SOC = {
    "rn": {"channels": (4, 4, 4, 4), "g_widths": (16, 16), "f_widths": (16,)},
    "rn-state": {"g_widths": (16, 16), "f_widths": (16,), "reduction": "mean"},
}
TINY_BABI = {
    "rn": {"embed_dim": 8, "lstm_dim": 8, "g_widths": (16, 16), "f_widths": (16,)},
    "mlrn": {"embed_dim": 8, "lstm_dim": 8, "layers": ((16,), (16,)), "f_widths": (16,)},
}


def _inputs(batch: int = 3, n: int = 6, d: int = 5, c: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    objects = torch.randn(batch, n, d, dtype=torch.float64)
    condition = torch.randn(batch, c, dtype=torch.float64)
    mask = torch.rand(batch, n) > 0.3
    mask[:, :2] = True
    return objects, condition, mask


def _rn(reduction: str, self_pairs: bool) -> RelationNetwork:
    return RelationNetwork(
        5, 4, condition_dim=3, g_widths=(12, 12), f_widths=(12,), reduction=reduction, self_pairs=self_pairs
    ).double()


def _rn_without(rn: RelationNetwork, objects, condition, mask, removed: torch.Tensor) -> torch.Tensor:
    """The naive reference RN re-run with the ``removed`` ``(B, n, n)`` pairs' ``g`` outputs zeroed."""
    x, pair_mask = prepare_inputs(rn, objects, condition, mask)
    batch, n = objects.shape[:2]
    valid = torch.ones(batch, n, n, dtype=torch.bool) if pair_mask is None else pair_mask
    total = concatenated_pairs_g(rn, x, condition, valid & ~removed).sum(dim=(1, 2))
    if rn.reduction == "mean":  # removing a pair zeroes its term; the mean's divisor stays the input's
        total = total / valid_count(valid, (1, 2), (batch, n, n), objects.device).to(total.dtype)[:, None]
    return rn.f(total)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("self_pairs", [True, False])
def test_removing_pairs_through_the_sum_equals_re_running_the_reference(reduction: str, self_pairs: bool) -> None:
    rn = _rn(reduction, self_pairs)
    objects, condition, mask = _inputs()
    terms = pair_terms(rn, objects, condition, mask)
    torch.testing.assert_close(terms.output(), rn(objects, condition, mask), rtol=1e-10, atol=1e-10)
    removed = torch.rand(3, 4, 6, 6) > 0.6  # four random sets of pairs per example, padding included
    together = terms.output(removed)
    for k in range(4):
        expected = _rn_without(rn, objects, condition, mask, removed[:, k])
        torch.testing.assert_close(together[:, k], expected, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(terms.output(removed[:, k]), expected, rtol=1e-10, atol=1e-10)
    # One pair at a time: the effects are exact differences of the re-run reference.
    answer = terms.output().argmax(-1)
    effects = terms.removal_effects(answer, margin=True)
    single = torch.zeros(3, 6, 6, dtype=torch.bool)
    single[:, 0, 1] = True
    expected = answer_margin(terms.output(), answer) - answer_margin(
        _rn_without(rn, objects, condition, mask, single), answer
    )
    torch.testing.assert_close(effects[:, 0, 1], expected * terms.pair_mask[:, 0, 1], rtol=1e-10, atol=1e-10)
    assert (effects[~terms.pair_mask] == 0).all()


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_an_mlrn_is_exact_over_its_last_layer(reduction: str) -> None:
    mlrn = MultiLayerRelationNetwork(
        5, 4, condition_dim=3, layers=((8,), (8, 8), (8,)), f_widths=(8,), reduction=reduction
    )
    mlrn = mlrn.double()
    objects, condition, mask = _inputs()
    terms = pair_terms(mlrn, objects, condition, mask)
    torch.testing.assert_close(terms.output(), mlrn(objects, condition, mask), rtol=1e-10, atol=1e-10)
    removed = torch.rand(3, 6, 6) > 0.5
    # The reference: every layer on concatenated pairs, the last one with the removed pairs zeroed.
    rows, pair_mask = prepare_inputs(mlrn, objects, condition, mask)
    per_row = valid_count(pair_mask, (2,), (3, 6, 6), objects.device).double()[..., None]
    for number, layer in enumerate(mlrn.layers):
        keep = pair_mask & ~removed if number == len(mlrn.layers) - 1 else pair_mask
        rows = concatenated_pairs_g(layer, rows, condition, keep).sum(dim=2)
        rows = rows / per_row if reduction == "mean" else rows
    total = rows.sum(dim=1)
    if reduction == "mean":
        total = total / mask.sum(dim=1, keepdim=True).double()
    torch.testing.assert_close(terms.output(removed), mlrn.f(total), rtol=1e-10, atol=1e-10)


def test_explanations_are_exact_and_greedy_deletion_keeps_the_answer() -> None:
    rn = _rn("sum", True)
    objects, condition, mask = _inputs(batch=4, n=7)
    terms = pair_terms(rn, objects, condition, mask)
    for row, explanation in enumerate(explain_batch(terms)):
        answer = explanation.answer
        assert answer == int(rn(objects, condition, mask)[row].argmax())
        one = (objects[row : row + 1], condition[row : row + 1], mask[row : row + 1])

        def without(pairs: torch.Tensor, one=one) -> torch.Tensor:
            removed = torch.zeros(1, 7, 7, dtype=torch.bool)
            removed[0, pairs[:, 0], pairs[:, 1]] = True
            return _rn_without(rn, *one, removed)[0]

        # The reported output without the top pairs is the re-run network's, to float tolerance.
        torch.testing.assert_close(explanation.top_removed_logits, without(explanation.top), rtol=1e-9, atol=1e-9)
        order = explanation.removal_order
        for k in (1, 3, len(order)):
            probability = without(order[:k]).softmax(-1)[answer]
            torch.testing.assert_close(explanation.curve[k], probability, rtol=1e-9, atol=1e-9)
        # Greedy deletion: the kept pairs alone give the answer, and each of them is needed.
        valid = explanation.pair_mask.nonzero()
        kept = {tuple(pair) for pair in explanation.kept.tolist()}
        others = torch.tensor([pair for pair in valid.tolist() if tuple(pair) not in kept]).reshape(-1, 2)
        assert int(without(others).argmax()) == answer
        assert int(explanation.kept_logits.argmax()) == answer
        for pair in kept:
            more = torch.cat([others, torch.tensor([pair])])
            assert int(without(more).argmax()) != answer
        if explanation.flip_after is not None:
            assert int(without(order[: explanation.flip_after]).argmax()) != answer
            assert int(without(order[: explanation.flip_after - 1]).argmax()) == answer


def test_spearman_ranks_with_ties() -> None:
    assert spearman(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([10.0, 20.0, 30.0])) == pytest.approx(1.0)
    assert spearman(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert spearman(torch.tensor([1.0, 1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0, 4.0])) == pytest.approx(
        0.9487, 1e-3
    )
    assert math.isnan(spearman(torch.ones(4), torch.arange(4.0)))


def _weights(tmp_path: Path, task: str, model_name: str, config: dict) -> Path:
    model = get_task(task).build_model(model_name, config)
    return save_weights(tmp_path / f"{task}-{model_name}.safetensors", task, model_name, config, model)


def test_explain_one_question_reports_what_a_re_run_gives(capsys, tmp_path: Path, tiny_sort_of_clevr: Path) -> None:
    weights = _weights(tmp_path, "sort-of-clevr", "rn", TINY_SOC["rn"])
    out = tmp_path / "q.png"
    argv = ["explain", "--weights", str(weights), "--data", str(tiny_sort_of_clevr), "--split", "val"]
    assert main([*argv, "--index", "5", "--out", str(out), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    question = payload["question"]
    assert question["index"] == 5 and question["valid_pairs"] == 25 * 25
    assert question["relevant_objects"] and payload["relevant"] == "the named object"
    assert len(question["curve"]) == 25 * 25 + 1 and out.stat().st_size > 10_000
    # Re-run the saved model's RN with the reported top pairs' g outputs zeroed: the logits are the reported ones.
    _, model = load_model(weights)
    batch = get_task("sort-of-clevr").load(tiny_sort_of_clevr, "val").__getitems__([5])
    relation = relation_module(model, "model")
    captured = {}
    handle = relation.register_forward_pre_hook(lambda module, args: captured.update(args=args))
    with torch.no_grad():
        model(batch)
        handle.remove()
        removed = torch.zeros(1, 25, 25, dtype=torch.bool)
        for pair in question["top"]:
            removed[0, pair["pair"][0], pair["pair"][1]] = True
        logits = _rn_without(relation, *captured["args"], None, removed)[0]
    torch.testing.assert_close(logits, torch.tensor(question["top_removed"]["logits"]), atol=2e-4, rtol=0)
    assert main([*argv, "--index", "5"]) == 0
    assert "greedy deletion keeps" in capsys.readouterr().out


@pytest.mark.parametrize(("task", "model_name"), [("sort-of-clevr", "rn-state"), ("babi", "rn"), ("babi", "mlrn")])
def test_explain_a_split_per_question_type(
    capsys, tmp_path: Path, tiny_sort_of_clevr: Path, tiny_babi: Path, task: str, model_name: str
) -> None:
    config = (TINY_SOC if task == "sort-of-clevr" else TINY_BABI)[model_name]
    weights = _weights(tmp_path, task, model_name, config)
    data, stride = (tiny_sort_of_clevr, 5) if task == "sort-of-clevr" else (tiny_babi, 100)  # bAbI: both tasks
    out = tmp_path / "figure.png"
    argv = ["explain", "--weights", str(weights), "--data", str(data), "--limit", "20", "--stride", str(stride)]
    assert main([*argv, "--out", str(out), "--figures", "2", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["questions_explained"] == 20
    assert [q["index"] for q in payload["questions"]][:3] == [0, stride, 2 * stride]
    assert [Path(path).name for path in payload["figures"]] == ["figure_0.png", f"figure_{stride}.png"]
    groups = payload["groups"]
    assert groups["all"]["questions"] == 20
    assert 0 <= groups["all"]["kept_pairs_mean"] <= max(q["valid_pairs"] for q in payload["questions"])
    if task == "babi":
        assert payload["relevant"] == "the supporting facts" and set(groups) == {"task_1", "task_2", "all"}
        assert groups["all"]["top_touches_relevant"] is not None
    else:
        assert {"relational", "non_relational"} <= set(groups)
    assert main(argv) == 0
    assert "top5∩" in capsys.readouterr().out


def _fails_with(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == EXIT_USER_ERROR
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""


def test_explain_refuses_with_one_line_messages(capsys, tmp_path: Path, tiny_sort_of_clevr: Path) -> None:
    data = ["--data", str(tiny_sort_of_clevr)]
    mlp = _weights(tmp_path, "sort-of-clevr", "cnn-mlp", {"channels": (4, 4, 4, 4), "widths": (8,)})
    _fails_with(capsys, ["explain", "--weights", str(mlp), *data], "has no Relation Network (RN or MLRN) to explain")
    state = _weights(tmp_path, "sort-of-clevr", "rn-state", TINY_SOC["rn-state"])
    base = ["explain", "--weights", str(state), *data]
    _fails_with(capsys, [*base, "--index", "120"], "--index 120 is out of range: test has 120 questions")
    _fails_with(capsys, [*base, "--index", "1", "--limit", "3"], "--index explains one question")
    _fails_with(capsys, [*base, "--stride", "0"], "--stride and --limit must be at least 1")
    _fails_with(capsys, [*base, "--split", "dev"], "unknown split 'dev'")
    rrn = _weights(tmp_path, "babi", "rrn", {"embed_dim": 4, "lstm_dim": 4, "hidden_dim": 8, "steps": 2})
    # A bAbI RRN is explained step by step (relnet.explain.rrn_steps); on Sort-of-CLEVR data it stops
    # with the reader's one line.
    _fails_with(capsys, ["explain", "--weights", str(rrn), *data], "no bAbI task files")


def test_a_model_whose_answer_is_not_its_rn_output_is_refused() -> None:
    class Shifted(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.relation = _rn("sum", True)

        def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            return self.relation(batch["objects"], batch["condition"]) * 2

    model = Shifted()
    objects, condition, _ = _inputs()
    from relnet.errors import RelnetError

    with pytest.raises(RelnetError, match="not its relation module's output"):
        forward_with_terms(model, model.relation, {"objects": objects, "condition": condition})


@pytest.fixture(scope="module")
def tiny_babi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from relnet.tasks.babi.generator import generate

    root = tmp_path_factory.mktemp("babi-explain")
    generate(root, seed=5, size="1k", tasks=(1, 2))
    return root / "en-valid"


def test_silencing_an_edge_kind_drops_the_edges_within_that_unit() -> None:
    from relnet.explain.steps import edges_without
    from relnet.tasks.sudoku.grid import BOX, ROW, sudoku_edges

    edges = sudoku_edges()
    for kind in ("row", "column", "box"):
        assert edges_without(edges, kind).shape == (2, 1620 - 648)
    rows_gone = edges_without(edges, "row")
    assert (torch.from_numpy(ROW)[rows_gone[0]] != torch.from_numpy(ROW)[rows_gone[1]]).all()
    assert (torch.from_numpy(BOX)[rows_gone[0]] == torch.from_numpy(BOX)[rows_gone[1]]).any()  # box peers in columns


def test_sudoku_rrn_beliefs_step_by_step(capsys, tmp_path: Path) -> None:
    from relnet.tasks.sudoku.format import write_csv
    from relnet.tasks.sudoku.models import SudokuRRN
    from tests.test_sudoku_model import TINY, easy_puzzles

    puzzles = write_csv(tmp_path / "easy.csv", *easy_puzzles(6, 60, seed=1))
    weights = save_weights(tmp_path / "rrn.safetensors", "sudoku", "rrn", TINY, SudokuRRN(**TINY))
    argv = ["explain", "--weights", str(weights), "--data", str(puzzles)]
    out = tmp_path / "steps.png"
    assert main([*argv, "--index", "2", "--steps", "4", "--out", str(out), "--json"]) == 0
    puzzle = json.loads(capsys.readouterr().out)["puzzle"]
    assert torch.tensor(puzzle["beliefs"]).shape == (4, 81, 9) and len(puzzle["grids"]) == 4
    for cell, step in enumerate(puzzle["settled"]):  # from its settle step on, a cell keeps its last digit
        assert all(grid[cell] == puzzle["final_digits"][cell] for grid in puzzle["grids"][step - 1 :])
        assert step == 1 or puzzle["grids"][step - 2][cell] != puzzle["final_digits"][cell]
    assert out.stat().st_size > 10_000
    assert main([*argv, "--limit", "5", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload["silencing"]) == ["none", "row", "column", "box"] and len(payload["puzzles"]) == 5
    assert len(payload["silencing"]["row"]["solved_by_step"]) == TINY["eval_steps"]
    assert main([*argv, "--silence", "box"]) == 0
    assert "box" in capsys.readouterr().out
    _fails_with(capsys, [*argv, "--steps", "0"], "--steps must be at least 1")
    state = _weights(tmp_path, "sort-of-clevr", "rn-state", TINY_SOC["rn-state"])
    _fails_with(capsys, ["explain", "--weights", str(state), "--data", str(puzzles), "--steps", "3"], "Sudoku RRN")
