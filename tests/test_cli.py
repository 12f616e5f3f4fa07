"""The command line: clear one-line errors with exit status 2, JSON output, the full train/eval loop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relnet.cli import EXIT_USER_ERROR, main
from relnet.tasks import get_task, task_names
from relnet.training.weights import save_weights


def _fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == EXIT_USER_ERROR
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_unknown_task(capsys, tmp_path: Path) -> None:
    _fails_with(
        capsys,
        ["generate", "sort-of-clver", "--out", str(tmp_path)],
        f"unknown task 'sort-of-clver'; known tasks: {', '.join(task_names())}",
    )


def test_unknown_model(capsys, tiny_sort_of_clevr: Path) -> None:
    _fails_with(
        capsys,
        ["train", "sort-of-clevr", "--model", "transformer", "--data", str(tiny_sort_of_clevr)],
        "unknown model 'transformer' for sort-of-clevr; known models: rn, cnn-mlp, rn-state",
    )


def test_unknown_preset(capsys) -> None:
    _fails_with(capsys, ["reproduce", "sort-of-clevr", "--preset", "huge"], "unknown preset 'huge'")


def test_missing_dataset(capsys, tmp_path: Path) -> None:
    _fails_with(
        capsys,
        ["train", "sort-of-clevr", "--model", "rn", "--data", str(tmp_path / "nowhere")],
        "train.json: missing: no Sort-of-CLEVR 'train' split here",
    )
    _fails_with(capsys, ["inspect", "sort-of-clevr", str(tmp_path)], "train.json: missing")


def test_bad_weights_files(capsys, tmp_path: Path, tiny_sort_of_clevr: Path) -> None:
    data = str(tiny_sort_of_clevr)
    _fails_with(
        capsys, ["eval", "--weights", str(tmp_path / "none.safetensors"), "--data", data], "weights file not found"
    )
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    _fails_with(capsys, ["eval", "--weights", str(garbage), "--data", data], "not a safetensors weights file")
    # A file whose tensors belong to another configuration than the one its header names.
    model = get_task("sort-of-clevr").build_model("rn-state", {"g_widths": (16, 16), "f_widths": (16,)})
    mismatched = save_weights(
        tmp_path / "mismatch.safetensors", "sort-of-clevr", "rn-state", {"g_widths": (8,), "f_widths": (16,)}, model
    )
    _fails_with(capsys, ["eval", "--weights", str(mismatched), "--data", data], "weights do not fit model 'rn-state'")


def test_generate_inspect_train_eval_json(capsys, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert (
        main(
            [
                "generate",
                "sort-of-clevr",
                "--out",
                str(data),
                "--train-images",
                "12",
                "--val-images",
                "3",
                "--test-images",
                "3",
                "--seed",
                "1",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["summary"] == {"train": 12, "val": 3, "test": 3}

    assert main(["inspect", "sort-of-clevr", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["splits"]["train"]["questions"] == 240
    assert sum(report["splits"]["val"]["subtypes"].values()) == 60

    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "sort-of-clevr",
                "--model",
                "rn-state",
                "--data",
                str(data),
                "--epochs",
                "1",
                "--run-dir",
                str(run),
                "--no-progress",
                "--json",
            ]
        )
        == 0
    )
    trained = json.loads(capsys.readouterr().out)
    assert set(trained["val_metrics"]) >= {"relational", "non_relational"}

    assert (
        main(
            ["eval", "--weights", trained["weights"], "--data", str(data), "--split", "val", "--no-progress", "--json"]
        )
        == 0
    )
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["model"] == "rn-state"
    assert evaluated["metrics"]["accuracy"] == pytest.approx(trained["val_metrics"]["accuracy"])

    # Resuming with another model's checkpoint is refused with a message naming both.
    _fails_with(
        capsys,
        ["train", "sort-of-clevr", "--model", "cnn-mlp", "--data", str(data), "--run-dir", str(run), "--resume"],
        "is a checkpoint of 'sort-of-clevr' model 'rn-state', not 'sort-of-clevr' model 'cnn-mlp'",
    )
    _fails_with(
        capsys,
        ["train", "sort-of-clevr", "--model", "rn", "--data", str(data), "--run-dir", str(tmp_path / "x"), "--resume"],
        "cannot resume: no checkpoint at",
    )


def test_generate_rejects_bad_options(capsys, tmp_path: Path) -> None:
    _fails_with(
        capsys,
        ["generate", "sort-of-clevr", "--out", str(tmp_path), "--image-size", "20"],
        "--image-size must be at least",
    )
    _fails_with(
        capsys, ["generate", "sort-of-clevr", "--out", str(tmp_path), "--val-images", "0"], "at least one image"
    )


def test_results_table_and_plot(capsys, tmp_path: Path) -> None:
    for model, relational in (("rn", 0.9), ("cnn-mlp", 0.6)):
        record = {
            "task": "sort-of-clevr",
            "model": model,
            "command": "relnet reproduce sort-of-clevr",
            "device": "cpu",
            "wall_seconds": 60.0,
            "metrics": {"relational": relational, "non_relational": 0.99, "count": None},
        }
        (tmp_path / f"{model}.json").write_text(json.dumps(record))
    assert main(["results", "sort-of-clevr", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[2].startswith("| rn | 90.0 | 99.0 | – |")
    assert "relational 94.0, non_relational 94.0" in table  # the paper's figures beside ours
    assert (tmp_path / "accuracy.png").stat().st_size > 1000
    assert "relnet reproduce sort-of-clevr" in (tmp_path / "README.md").read_text()
    _fails_with(capsys, ["results", "sort-of-clevr", str(tmp_path / "empty")], "no sort-of-clevr results in")


def test_bad_recipe_and_hardware_flags(capsys, tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    base = [
        "train",
        "sort-of-clevr",
        "--model",
        "rn-state",
        "--data",
        str(tiny_sort_of_clevr),
        "--run-dir",
        str(tmp_path),
    ]
    _fails_with(capsys, [*base, "--batch-size", "0"], "bad training recipe: batch sizes must be at least 1")
    _fails_with(capsys, [*base, "--epochs", "0"], "epochs must be at least 1")
    _fails_with(capsys, [*base, "--lr", "-1"], "the learning rate must be positive")
    _fails_with(capsys, [*base, "--accelerator", "gpu"], "cannot set up training on this hardware")
    _fails_with(capsys, [*base, "--precision", "fp7"], "cannot set up training on this hardware")
    _fails_with(capsys, [*base, "--compile", "fastest"], "compile must be one of default, reduce-overhead")
    _fails_with(capsys, ["reproduce", "sort-of-clevr", "--quick", "--preset", "paper"], "contradict each other")


def test_generated_data_is_never_overwritten(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "data" / "sort-of-clevr"
    own.mkdir(parents=True)
    (own / "notes.txt").write_text("mine")
    _fails_with(
        capsys, ["train", "sort-of-clevr", "--model", "rn-state"], "exists but does not hold sort-of-clevr data"
    )
    assert (own / "notes.txt").read_text() == "mine"


def test_eval_refuses_data_of_another_image_size(capsys, tmp_path: Path) -> None:
    from relnet.tasks.sort_of_clevr.generator import GeneratorConfig, generate

    generate(
        tmp_path / "big", seed=0, config=GeneratorConfig(train_images=2, val_images=1, test_images=1, image_size=96)
    )
    config = {"channels": (4, 4, 4, 4), "widths": (8,), "image_size": 75}  # as `relnet train` records it
    model = get_task("sort-of-clevr").build_model("cnn-mlp", config)
    weights = save_weights(tmp_path / "mlp.safetensors", "sort-of-clevr", "cnn-mlp", config, model)
    _fails_with(
        capsys,
        ["eval", "--weights", str(weights), "--data", str(tmp_path / "big")],
        "image_size is 75 in the model but 96 in the data",
    )


def test_json_output_has_no_nan() -> None:
    from relnet.training.results import finite

    assert finite({"a": float("nan"), "b": [1.0, float("inf")], "c": "NaN stays text"}) == {
        "a": None,
        "b": [1.0, None],
        "c": "NaN stays text",
    }


@pytest.mark.parametrize("model_name", ["rn", "rn-state", "cnn-mlp"])
def test_show_draws_pairs(capsys, tmp_path: Path, tiny_sort_of_clevr: Path, model_name: str) -> None:
    from tests.test_sort_of_clevr_models import SMALL

    config = {**SMALL[model_name], **({"image_size": 75} if model_name == "cnn-mlp" else {})}
    model = get_task("sort-of-clevr").build_model(model_name, config)
    weights = save_weights(tmp_path / "w.safetensors", "sort-of-clevr", model_name, config, model)
    out = tmp_path / "show.png"
    argv = [
        "show",
        "--weights",
        str(weights),
        "--data",
        str(tiny_sort_of_clevr),
        "--questions",
        "0,15",
        "--out",
        str(out),
    ]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == [0, 15]
    assert out.stat().st_size > 5000
    _fails_with(capsys, [*argv[:-4], "--questions", "0,999"], "question indices [999] are out of range")
    _fails_with(capsys, [*argv[:-4], "--questions", "a,b"], "--questions must be comma-separated integers")
    _fails_with(capsys, [*argv[:-4], "--questions", ","], "--questions names no question")


def test_reproduce_of_an_unknown_model_fails_before_any_work(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # where data/ would be generated
    command = ["reproduce", "clevr", "--model", "transformer", "--results", str(tmp_path / "results")]
    _fails_with(capsys, command, "unknown model 'transformer' for clevr")
    assert not any(tmp_path.iterdir())


def test_json_flag_before_or_after_a_task_verb() -> None:
    from relnet.cli import _parse

    assert _parse(["clevr", "--json", "stats", "x"]).json
    assert _parse(["clevr", "stats", "x", "--json"]).json
    assert not _parse(["clevr", "stats", "x"]).json


def test_unknown_benchmark(capsys) -> None:
    known = "rn, rn-profile, rn-training, rrn"
    _fails_with(capsys, ["bench", "nope"], f"unknown benchmark 'nope'; known benchmarks: {known}")


def test_bad_grouping_and_fraction_in_a_recipe() -> None:
    from relnet.errors import RelnetError
    from relnet.tasks import TrainConfig

    with pytest.raises(RelnetError, match="group_size must be at least 1"):
        TrainConfig(epochs=1, group_size=0)
    with pytest.raises(RelnetError, match=r"train_fraction must be in \(0, 1\]"):
        TrainConfig(epochs=1, train_fraction=1.5)
    with pytest.raises(RelnetError, match="keep must be 'best' or 'last'"):
        TrainConfig(epochs=1, keep="first")


def test_schedule_and_augment_overrides() -> None:
    from relnet.cli import _overrides, build_parser

    parser = build_parser()
    base = ["train", "sort-of-clevr", "--model", "rn-state"]
    assert _overrides(parser.parse_args(base))["augment"] is None  # the recipe decides
    chosen = _overrides(parser.parse_args([*base, "--no-augment", "--schedule", "constant"]))
    assert chosen["augment"] is False and chosen["schedule"] == "constant"
    recipe = get_task("sort-of-clevr").preset("rn-state", "full").with_overrides(**chosen)
    assert recipe.augment is False and recipe.schedule == "constant"
    assert _overrides(parser.parse_args([*base, "--augment"]))["augment"] is True
    timed = _overrides(parser.parse_args([*base, "--time-budget", "7.5", "--warmup-steps", "10"]))
    assert timed["time_budget"] == 7.5 and timed["warmup_steps"] == 10
    assert recipe.compile is None  # eager unless asked
    assert _overrides(parser.parse_args([*base, "--compile"]))["compile"] == "default"
    assert _overrides(parser.parse_args([*base, "--compile", "reduce-overhead"]))["compile"] == "reduce-overhead"


def test_model_options_merge_into_the_recipe(capsys) -> None:
    from relnet.cli import _overrides, build_parser

    base = ["reproduce", "pretty-clevr", "--model", "rrn-4"]
    recipe = get_task("pretty-clevr").preset("rrn-4", "full")
    args = [*base, "--model-option", "hidden_dim=128", "--model-option", "mlp_widths=[128, 128]"]
    wider = recipe.with_overrides(**_overrides(build_parser().parse_args(args)))
    assert wider.model == {**recipe.model, "hidden_dim": 128, "mlp_widths": [128, 128]}
    assert recipe.with_overrides(**_overrides(build_parser().parse_args(base))).model == recipe.model
    text = _overrides(build_parser().parse_args([*base, "--model-option", "colour=onehot"]))["model"]
    assert text == {"colour": "onehot"}  # not JSON: kept as a string
    _fails_with(capsys, [*base, "--model-option", "hidden_dim"], "--model-option wants NAME=VALUE")


def test_no_curriculum_override() -> None:
    from relnet.cli import _overrides, build_parser

    base = ["reproduce", "pretty-clevr", "--model", "rrn-4"]
    recipe = get_task("pretty-clevr").preset("rrn-4", "full")
    assert recipe.curriculum  # the recipe has one
    assert recipe.with_overrides(**_overrides(build_parser().parse_args(base))).curriculum == recipe.curriculum
    skipped = recipe.with_overrides(**_overrides(build_parser().parse_args([*base, "--no-curriculum"])))
    assert skipped.curriculum == () and skipped.epochs == recipe.epochs


def test_bad_time_budget_and_init_weights(capsys, tmp_path: Path, tiny_sort_of_clevr: Path) -> None:
    base = ["train", "sort-of-clevr", "--model", "rn-state", "--data", str(tiny_sort_of_clevr)]
    base += ["--run-dir", str(tmp_path / "run"), "--no-progress"]
    for bad in ("0", "-2", "inf"):
        _fails_with(capsys, [*base, "--time-budget", bad], "time_budget must be a positive number of minutes")
    _fails_with(capsys, [*base, "--warmup-steps", "-1"], "warmup_steps and weight_decay must not be negative")
    _fails_with(capsys, [*base, "--init-weights", str(tmp_path / "none.safetensors")], "weights file not found")
    _fails_with(capsys, ["reproduce", "sort-of-clevr", "--init-weights", "w.safetensors"], "needs exactly one --model")
