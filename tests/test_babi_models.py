"""bAbI tensors, text encoder, RN/MLRN/RRN models, metrics and the CLI verbs on a small generated folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from relnet.cli import EXIT_USER_ERROR, main
from relnet.nn import SequenceEncoder
from relnet.tasks import get_task
from relnet.tasks.babi.dataset import MAX_FACTS, load_table
from relnet.tasks.babi.generator import generate
from relnet.tasks.babi.metrics import summarize
from relnet.tasks.babi.vocab import ANSWERS, WORDS

TINY = {
    "rn": {"embed_dim": 8, "lstm_dim": 8, "g_widths": (16, 16), "f_widths": (16,)},
    "mlrn": {"embed_dim": 8, "lstm_dim": 8, "layers": ((16,), (16,)), "f_widths": (16,)},
    "rrn": {"embed_dim": 8, "lstm_dim": 8, "hidden_dim": 16, "message_widths": (16,), "node_widths": (16,),
            "output_widths": (), "steps": 3},
}  # fmt: skip


@pytest.fixture(scope="session")
def small_babi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("babi-small")
    generate(root, seed=2, size="1k", tasks=(1, 3, 19))
    return root / "en-valid"


def test_question_rows_hold_the_last_statements(small_babi: Path) -> None:
    table = load_table(small_babi, "test")
    assert len(table) == 3000
    batch = table.__getitems__(list(range(len(table))))
    assert batch["fact_tokens"].shape[:2] == (3000, MAX_FACTS)
    # Task 1's first question follows two statements: right-aligned in the last two slots.
    assert (batch["facts"][0, :-2] == 0).all() and (batch["facts"][0, -2:] > 0).all()
    assert (batch["fact_tokens"][0, :-2] == 0).all()
    # Task 3's long stories fill all 20 slots; task 19's questions see exactly 5 statements.
    assert (batch["facts"][batch["task"] == 3] > 0).all(dim=1).float().mean() > 0.9
    assert ((batch["facts"][batch["task"] == 19] > 0).sum(dim=1) == 5).all()
    assert set(batch["task"].unique().tolist()) == {1, 3, 19}
    assert (batch["answer"] > 0).all()


def test_sequence_encoder_ignores_padding_and_encodes_repeats_once() -> None:
    encoder = SequenceEncoder(20, 6, 5)
    tokens = torch.tensor([[3, 4, 5, 0], [7, 0, 0, 0], [0, 0, 0, 0], [3, 4, 5, 0]])
    out = encoder(tokens)
    torch.testing.assert_close(encoder(torch.cat([tokens, torch.zeros(4, 3, dtype=torch.long)], dim=1)), out)
    torch.testing.assert_close(out[0], out[3])
    assert (out[2] == 0).all()
    torch.testing.assert_close(encoder(tokens[1:2]), out[1:2])  # no leakage between rows
    torch.testing.assert_close(encoder.forward_distinct(tokens, torch.tensor([1, 2, 0, 1])), out)


@pytest.mark.parametrize("model_name", ["rn", "mlrn", "rrn"])
def test_models_answer_and_train(model_name: str, small_babi: Path) -> None:
    task = get_task("babi")
    model = task.build_model(model_name, TINY[model_name])
    batch = load_table(small_babi, "train").__getitems__(list(range(0, 2700, 100)))
    output = model(batch)
    expected = (27, 3, len(ANSWERS)) if model_name == "rrn" else (27, len(ANSWERS))
    assert output.shape == expected
    loss = task.loss(output, batch)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in model.parameters() if p.requires_grad)
    records = task.records(output.detach(), batch)
    assert records["correct"].shape == (27,)


def test_rrn_nodes_see_the_question_as_in_the_paper(small_babi: Path) -> None:
    """The paper's node input is [statement; position; question]; the recipes build it, and old
    configurations (without the flag) keep the statement-and-position input their weights were made with."""
    task = get_task("babi")
    for preset in ("quick", "full", "paper"):
        assert task.preset("rrn", preset).model["question_in_nodes"] is True
        assert task.preset("rrn", preset).model["init"] == "tensorflow"
    assert task.preset("rrn", "paper").weight_decay == 1e-4 and task.preset("rn", "paper").weight_decay == 0.0
    with_question = task.build_model("rrn", {**TINY["rrn"], "question_in_nodes": True})
    without = task.build_model("rrn", TINY["rrn"])
    story = with_question.story
    assert with_question.rrn.input_dim == story.object_dim + story.question_dim
    assert without.rrn.input_dim == story.object_dim
    batch = load_table(small_babi, "test").__getitems__([0, 1, 2])
    assert with_question(batch).shape == without(batch).shape == (3, 3, len(ANSWERS))


def test_rn_ignores_empty_statement_slots(small_babi: Path) -> None:
    model = get_task("babi").build_model("rn", TINY["rn"]).eval()
    batch = load_table(small_babi, "test").__getitems__([0, 1, 2])
    changed = dict(batch, fact_tokens=batch["fact_tokens"].clone())
    changed["fact_tokens"][batch["facts"] == 0] = 5  # garbage words in slots without a statement
    torch.testing.assert_close(model(changed), model(batch))


def test_position_tags_move_by_a_random_offset_in_training_and_sit_in_the_middle_in_evaluation(
    small_babi: Path,
) -> None:
    from relnet.tasks.babi.models import StoryObjects

    story = StoryObjects(8, 8, position_slots=40, random_offset=True).eval()
    batch = load_table(small_babi, "test").__getitems__(list(range(64)))
    objects, _, _ = story(batch)
    assert objects.shape == (64, MAX_FACTS, 8 + 40)
    slot = objects[..., 8:].argmax(dim=-1)  # (B, F) the slot of each statement
    assert (slot == torch.arange(MAX_FACTS) + (40 - MAX_FACTS) // 2).all()  # evaluation: the middle offset
    edge = StoryObjects(8, 8, position_slots=40, random_offset=True, eval_offset=0).eval()
    assert (edge(batch)[0][..., 8:].argmax(dim=-1) == torch.arange(MAX_FACTS)).all()
    with pytest.raises(ValueError, match="eval_offset must be in 0-20"):
        StoryObjects(8, 8, position_slots=40, random_offset=True, eval_offset=21)
    story.train()
    torch.manual_seed(0)
    slot = story(batch)[0][..., 8:].argmax(dim=-1)
    offsets = slot - torch.arange(MAX_FACTS)
    assert (offsets == offsets[:, :1]).all()  # one offset per story, order kept
    assert offsets.min() >= 0 and offsets.max() <= 40 - MAX_FACTS and len(offsets[:, 0].unique()) > 5
    with pytest.raises(ValueError, match="at least max_facts"):
        StoryObjects(8, 8, position_slots=10)


def test_metrics_count_passed_tasks_and_mean_error() -> None:
    correct = torch.tensor([True] * 96 + [False] * 4 + [True] * 50 + [False] * 50)
    task = torch.tensor([1] * 100 + [16] * 100)
    metrics = summarize({"correct": correct, "task": task})
    assert metrics["task_1"] == pytest.approx(0.96) and metrics["task_16"] == pytest.approx(0.5)
    assert metrics["tasks_passed"] == 1 and metrics["mean_error"] == pytest.approx(0.27)
    assert "task_2" not in metrics
    # The line: 5% error fails, 4.9% passes (accuracy above 95%, counted exactly).
    for right, passed in ((950, 0), (951, 1)):
        records = {"correct": torch.arange(1000) < right, "task": torch.full((1000,), 3)}
        assert summarize(records)["tasks_passed"] == passed


def test_inspect_and_generate_verbs(capsys, small_babi: Path, tmp_path: Path) -> None:
    assert main(["inspect", "babi", str(small_babi), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["splits"]["test"]["questions"] == 3000
    assert report["splits"]["train"]["tasks"]["19"]["statements_per_story"]["max"] == 5
    bad = tmp_path / "en"
    bad.mkdir()
    (bad / "qa1_single-supporting-fact_train.txt").write_text("1 Mary moved.\n2 Where is Mary?\tgarden\n")
    assert main(["inspect", "babi", str(bad)]) == EXIT_USER_ERROR
    assert "qa1_single-supporting-fact_train.txt, line 2: a question line needs 3" in capsys.readouterr().err


def test_vocabularies_are_fixed() -> None:
    assert WORDS[:2] == ("<pad>", "<unk>") and len(set(WORDS)) == len(WORDS)
    assert ANSWERS[0] == "<unk>" and {"s,e", "football,milk", "nothing", "maybe"} <= set(ANSWERS)


def test_tensorflow_init_matches_the_authors_defaults(small_babi: Path) -> None:
    """``init="tensorflow"``: Glorot-uniform weights, zero biases, an LSTM forget bias of 1, padding
    embeddings kept at zero; the same configuration still answers."""
    torch.manual_seed(0)
    model = get_task("babi").build_model("rrn", {**TINY["rrn"], "init": "tensorflow"})
    linear = model.rrn.message_first
    bound = (6 / (linear.in_features + linear.out_features)) ** 0.5
    assert linear.weight.abs().max() <= bound and linear.weight.abs().max() > 0.9 * bound
    assert (linear.bias == 0).all()
    cell, hidden = model.rrn.cell, model.rrn.cell.hidden_size
    assert (cell.bias_ih[hidden : 2 * hidden] == 1).all() and (cell.bias_ih[:hidden] == 0).all()
    assert (cell.bias_hh == 0).all()
    embedding = model.story.facts.embedding
    assert embedding.padding_idx is None or (embedding.weight[embedding.padding_idx] == 0).all()
    batch = load_table(small_babi, "test").__getitems__([0, 1])
    assert torch.isfinite(model(batch)).all()
    with pytest.raises(ValueError, match="init must be one of"):
        get_task("babi").build_model("rrn", {**TINY["rrn"], "init": "glorot"})
