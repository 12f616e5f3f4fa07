"""The Lightning glue: learning, exact resume, DDP on 2 CPU processes, weights round trip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import lightning as L
import pytest
import torch

from relnet.errors import RelnetError
from relnet.tasks import TrainConfig
from relnet.training import evaluate, module_from_weights, train

TINY_STATE_RN = TrainConfig(
    epochs=3,
    batch_size=32,
    lr=2e-3,
    warmup_steps=3,
    schedule="cosine",
    precision="32-true",
    model={"g_widths": (32, 32), "f_widths": (32,), "f_dropout": 0.2},
)


class CrashInSecondEpoch(L.Callback):
    """Simulates a killed run: an error in the middle of epoch 1, after epoch 0 was checkpointed."""

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch, batch_index: int) -> None:
        if trainer.current_epoch == 1 and batch_index == 3:
            raise RuntimeError("simulated crash")


def _state(module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in module.model.state_dict().items()}


def test_resumed_run_equals_uninterrupted_run(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    def run(folder: str, **options):
        return train(
            "sort-of-clevr",
            "rn-state",
            tiny_sort_of_clevr,
            TINY_STATE_RN,
            run_dir=tmp_path / folder,
            seed=5,
            progress=False,
            **options,
        )

    whole = run("a")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run("b", callbacks=[CrashInSecondEpoch()])
    assert torch.load(tmp_path / "b" / "checkpoints" / "last.ckpt", weights_only=False)["epoch"] == 0
    resumed = run("b", resume=True)
    for name, value in _state(whole.module).items():
        torch.testing.assert_close(_state(resumed.module)[name], value, rtol=0, atol=0, msg=name)
    assert resumed.val_metrics == whole.val_metrics
    assert (tmp_path / "b" / "logs" / "metrics.csv").is_file()  # the interrupted run's log is kept
    assert (tmp_path / "b" / "logs" / "resume-1" / "metrics.csv").is_file()


def test_weights_round_trip_and_evaluation(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    outcome = train(
        "sort-of-clevr", "rn-state", tiny_sort_of_clevr, TINY_STATE_RN, run_dir=tmp_path, seed=0, progress=False
    )
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "logs" / "metrics.csv").is_file()
    rebuilt = module_from_weights(outcome.weights)
    for name, value in outcome.module.model.state_dict().items():
        torch.testing.assert_close(rebuilt.model.state_dict()[name], value)
    metrics = evaluate(rebuilt, tiny_sort_of_clevr, "val", precision="32-true", progress=False)
    assert metrics == pytest.approx(outcome.val_metrics)
    assert set(metrics) >= {"relational", "non_relational", "closest_to", "furthest_from", "count", "query_shape"}


class RecordEachValidation(L.Callback):
    """Keeps every validated epoch's val accuracy and a copy of its weights."""

    def __init__(self) -> None:
        self.accuracy: list[float] = []
        self.weights: list[dict[str, torch.Tensor]] = []

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.state.fn == "fit":
            self.accuracy.append(module.last_metrics["val"]["accuracy"])
            self.weights.append(_state(module))


@pytest.mark.parametrize("keep", ["best", "last"])
def test_kept_weights_are_the_best_or_the_last_epoch(tiny_sort_of_clevr: Path, tmp_path: Path, keep: str) -> None:
    seen = RecordEachValidation()
    config = TINY_STATE_RN.with_overrides(keep=keep, epochs=4, lr=2e-2)  # a high lr makes val accuracy jump
    outcome = train(
        "sort-of-clevr",
        "rn-state",
        tiny_sort_of_clevr,
        config,
        run_dir=tmp_path,
        seed=3,
        progress=False,
        callbacks=[seen],
    )
    assert len(seen.accuracy) == 4
    assert max(seen.accuracy) > seen.accuracy[-1]  # the case worth testing: the best is not the last
    chosen = seen.accuracy.index(max(seen.accuracy)) if keep == "best" else 3
    assert outcome.kept_epoch == (chosen + 1 if keep == "best" else None)
    assert outcome.val_metrics["accuracy"] == seen.accuracy[chosen]
    for name, value in _state(outcome.module).items():
        torch.testing.assert_close(value, seen.weights[chosen][name], rtol=0, atol=0, msg=name)
    rebuilt = module_from_weights(outcome.weights)  # the saved file holds the kept weights too
    for name, value in rebuilt.model.state_dict().items():
        torch.testing.assert_close(value, seen.weights[chosen][name], rtol=0, atol=0, msg=name)


def test_state_rn_learns_sort_of_clevr(small_sort_of_clevr: Path, tmp_path: Path) -> None:
    config = TINY_STATE_RN.with_overrides(
        epochs=15, batch_size=64, lr=3e-3, precision="auto", model={"g_widths": (128,) * 3, "f_widths": (128,)}
    )
    outcome = train("sort-of-clevr", "rn-state", small_sort_of_clevr, config, run_dir=tmp_path, seed=0, progress=False)
    # Chance: 50% on shape, left/right, top/bottom; the count question has 6 answers.
    assert outcome.val_metrics["non_relational"] > 0.9
    assert outcome.val_metrics["count"] > 0.8


def test_ddp_on_two_cpu_processes(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "relnet",
        "train",
        "sort-of-clevr",
        "--model",
        "rn-state",
        "--data",
        str(tiny_sort_of_clevr),
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--accelerator",
        "cpu",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--time-budget",  # never reached: exercises the budget clock each rank takes from rank 0
        "5",
        "--run-dir",
        str(tmp_path),
        "--no-progress",
        "--json",
    ]
    env = {**os.environ, "PL_DISABLE_FORK": "1"}
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "distributed_backend=gloo" in completed.stderr
    assert "All distributed processes registered. Starting with 2 processes" in completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1, "only the rank-0 process prints the result"
    payload = json.loads(lines[0])
    assert 0.0 <= payload["val_metrics"]["accuracy"] <= 1.0
    assert (tmp_path / "model.safetensors").is_file()


def test_pixel_rn_trains_with_recalibrated_batch_norm(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    config = TINY_STATE_RN.with_overrides(
        epochs=1, precision="bf16-mixed", model={"channels": (8, 8, 8, 8), "g_widths": (16, 16), "f_widths": (16,)}
    )
    outcome = train("sort-of-clevr", "rn", tiny_sort_of_clevr, config, run_dir=tmp_path, seed=0, progress=False)
    norm = outcome.module.model.objects.cnn[1]
    # 480 training questions = 15 batches of 32, all used for the exact statistics.
    assert int(norm.num_batches_tracked) == 15
    assert 0.0 <= outcome.val_metrics["accuracy"] <= 1.0
    # Evaluating saved weights with freshly recomputed statistics gives the same statistics.
    rebuilt = module_from_weights(outcome.weights)
    rebuilt.model.objects.cnn[1].reset_running_stats()
    metrics = evaluate(
        rebuilt, tiny_sort_of_clevr, "val", precision="bf16-mixed", progress=False, recalibrate_batch_norm=True
    )
    torch.testing.assert_close(rebuilt.model.objects.cnn[1].running_mean, norm.running_mean, atol=1e-4, rtol=1e-3)
    # bf16: an answer may flip, which moves a 22-question subtype by 4.5 points but the whole split by 0.3.
    assert metrics["accuracy"] == pytest.approx(outcome.val_metrics["accuracy"], abs=0.02)


def test_lr_scale_groups_parameters_by_name_prefix() -> None:
    from relnet.errors import RelnetError
    from relnet.training.module import RelnetModule

    model = {"channels": (8, 8), "g_widths": (16,), "f_widths": (16,)}
    config = TrainConfig(epochs=1, lr=1e-3, lr_scale={"objects": 0.1}, model=model)
    module = RelnetModule.from_config("sort-of-clevr", "rn", config)
    groups = {group["lr"]: group["params"] for group in module.parameter_groups()}
    cnn = {id(p) for p in module.model.objects.parameters()}
    assert sorted(groups) == pytest.approx([1e-4, 1e-3])
    slow = groups[min(groups)]
    assert {id(p) for p in slow} == cnn
    assert sum(len(params) for params in groups.values()) == len(list(module.model.parameters()))
    wrong = RelnetModule.from_config("sort-of-clevr", "rn", TrainConfig(epochs=1, lr_scale={"cnn": 0.1}, model=model))
    with pytest.raises(RelnetError, match="lr_scale names no parameters of rn: cnn"):
        wrong.parameter_groups()
    with pytest.raises(RelnetError, match="lr_scale factors must be positive"):
        TrainConfig(epochs=1, lr_scale={"objects": 0.0})


def test_weight_decay_reaches_linear_and_convolution_weights_only() -> None:
    """As the papers' TensorFlow ``weights_regularizer``: no decay on biases, batch norm, embeddings or
    the LSTM cells."""
    from relnet.training.module import RelnetModule

    config = TrainConfig(epochs=1, lr=1e-3, weight_decay=1e-4, model={"hidden_dim": 16, "steps": 2})
    module = RelnetModule.from_config("babi", "rrn", config)
    decay_of = {id(p): group["weight_decay"] for group in module.parameter_groups() for p in group["params"]}
    for name, parameter in module.model.named_parameters():
        owner = module.model.get_submodule(name.rsplit(".", 1)[0])
        expected = 1e-4 if isinstance(owner, torch.nn.Linear) and name.endswith("weight") else 0.0
        assert decay_of[id(parameter)] == expected, name
    assert {1e-4, 0.0} == set(decay_of.values())
    assert any(isinstance(m, torch.nn.LSTMCell) for m in module.model.modules())
    image = RelnetModule.from_config("sort-of-clevr", "rn", replace(config, model={"channels": (8,), "g_widths": (8,)}))
    convolution = next(m for m in image.model.modules() if isinstance(m, torch.nn.Conv2d))
    groups = image.parameter_groups()
    assert any(g["weight_decay"] == 1e-4 and any(p is convolution.weight for p in g["params"]) for g in groups)


class RecordLearningRates(L.Callback):
    """Keeps the learning rate after every training step."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args) -> None:
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_time_budget_stops_training_and_decays_the_rate_to_fit(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    budget_minutes = 0.05  # 3 seconds, far fewer than 500 epochs take
    config = TINY_STATE_RN.with_overrides(epochs=500, time_budget=budget_minutes)
    rates = RecordLearningRates()
    outcome = train(
        "sort-of-clevr", "rn-state", tiny_sort_of_clevr, config, run_dir=tmp_path, progress=False, callbacks=[rates]
    )
    assert outcome.wall_seconds < 60 * budget_minutes + 30
    assert outcome.module.trainer.current_epoch < config.epochs
    assert outcome.val_metrics  # the run validated the epoch it stopped in
    # The epoch-based cosine would still be near its peak; the budget's clock takes it to its floor.
    assert max(rates.rates) == pytest.approx(config.lr, rel=0.05)  # the decay starts after warm-up
    assert rates.rates[-1] <= 0.05 * config.lr
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(RelnetError, match="time_budget must be a positive number of minutes"):
            TrainConfig(epochs=1, time_budget=bad)


class FirstTrainingState(L.Callback):
    """Keeps a copy of the model's weights as training starts."""

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.state = _state(module)


def test_init_weights_starts_from_saved_weights(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    def run(folder: str, config: TrainConfig, model: str = "rn-state", **options):
        return train("sort-of-clevr", model, tiny_sort_of_clevr, config, run_dir=tmp_path / folder, **options)

    first = run("first", TINY_STATE_RN.with_overrides(epochs=1), progress=False)
    seen = FirstTrainingState()
    second = run("second", TINY_STATE_RN.with_overrides(epochs=1), progress=False, callbacks=[seen], seed=3)
    assert any(not torch.equal(seen.state[n], v) for n, v in _state(first.module).items())  # a fresh start differs
    warm = FirstTrainingState()
    run(
        "warm",
        TINY_STATE_RN.with_overrides(epochs=1),
        progress=False,
        callbacks=[warm],
        seed=3,
        init_weights=first.weights,
    )
    for name, value in _state(first.module).items():
        torch.testing.assert_close(warm.state[name], value, rtol=0, atol=0, msg=name)
    assert second.weights.is_file()
    with pytest.raises(RelnetError, match="weights of sort-of-clevr model 'rn-state', not of sort-of-clevr model 'rn'"):
        run("wrong", TINY_STATE_RN, model="rn", progress=False, init_weights=first.weights)
    narrower = TINY_STATE_RN.with_overrides(model={"g_widths": (16, 16), "f_widths": (32,)})
    with pytest.raises(RelnetError, match="weights do not fit model 'rn-state'"):
        run("narrow", narrower, progress=False, init_weights=first.weights)
    with pytest.raises(RelnetError, match="--resume continues one"):
        run("both", TINY_STATE_RN, progress=False, init_weights=first.weights, resume=True)
