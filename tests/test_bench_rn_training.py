"""``relnet bench rn-training``'s time-to-accuracy curve: points, excluded evaluation time, the figure."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from relnet.bench import rn_training, run_bench
from relnet.bench.rn_training import CURVE_METRICS, PATHS, AccuracyCurve, compare_paths
from relnet.cli import EXIT_USER_ERROR, main
from relnet.errors import RelnetError
from relnet.tasks import TrainConfig
from relnet.training import train

# 24 training images = 480 questions = 15 steps of 32 per epoch; 6 val images = 120 questions.
TINY = TrainConfig(
    epochs=2,
    batch_size=32,
    eval_batch_size=16,
    lr=2e-3,
    warmup_steps=3,
    schedule="cosine",
    precision="32-true",
    model={"g_widths": (32, 32), "f_widths": (32,), "f_dropout": 0.2},
)
TINY_PIXEL = TINY.with_overrides(epochs=1, model={"channels": (8, 8, 8, 8), "g_widths": (16, 16), "f_widths": (16,)})


def _check_curve(points: list[dict], last_step: int, every: int) -> None:
    steps = [point["step"] for point in points]
    assert steps[0] == 0 and steps[-1] == last_step
    assert steps == sorted(set(steps))  # strictly increasing
    assert all(step % every == 0 for step in steps[:-1])
    seconds = [point["seconds"] for point in points]
    assert seconds[0] == pytest.approx(0.0, abs=0.05)
    assert all(later > earlier for earlier, later in itertools.pairwise(seconds))
    for point in points:
        assert all(0.0 <= point[name] <= 1.0 for name in CURVE_METRICS)


def test_both_paths_record_curves_and_the_figure_is_drawn(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    notes: list[str] = []
    payload = compare_paths(
        "rn-state",
        TINY,
        tiny_sort_of_clevr,
        recipe="tiny",
        note=notes.append,
        figure=tmp_path / "curve",
        curve_every=4,
        curve_questions=50,
    )
    assert notes == ["training rn-state with the relnet path ...", "training rn-state with the reference path ..."]
    assert payload["curve"]["split"] == "val" and payload["curve"]["questions"] == 50
    assert payload["curve"]["every_steps"] == 4
    for path in PATHS:
        run = payload["runs"][path]
        assert run["steps"] == 30
        _check_curve(run["curve"], 30, 4)
        assert [point["step"] for point in run["curve"]] == [0, 4, 8, 12, 16, 20, 24, 28, 30]
        # The curve's clock leaves the evaluations out: it ends within the training time.
        assert run["curve"][-1]["seconds"] <= run["train_seconds"] + 0.05
        assert run["curve_eval_seconds"] > 0
    # The same seed, data order and recipe: both paths start from the same model.
    start = {path: payload["runs"][path]["curve"][0] for path in PATHS}
    assert start["relnet"]["relational"] == start["reference"]["relational"]
    assert [mark["fraction"] for mark in payload["marks"]] == [0.25, 0.5, 0.75, 1.0]
    assert payload["marks"][-1]["relnet"]["step"] == 30 and payload["marks"][-1]["reference"]["step"] == 30
    figure = tmp_path / "curve.png"
    assert payload["figure"] == str(figure)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = payload.pop("text")
    assert "time to accuracy" in text and "(100%)" in text and f"figure: {figure}" in text
    json.dumps(payload, allow_nan=False)  # what --json prints


def _weights(module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in module.model.state_dict().items()}


class _FakeClock:
    """The bench module's clock: the real one plus jumps the test adds (a slow evaluation without waiting)."""

    def __init__(self) -> None:
        self.jumps = 0.0

    def perf_counter(self) -> float:
        return time.perf_counter() + self.jumps


class _SlowValidation(L.Callback):
    def __init__(self, clock: _FakeClock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds

    def on_validation_batch_start(self, *args: object) -> None:
        self.clock.jumps += self.seconds


@pytest.mark.parametrize(
    ("model", "config", "steps"),
    [("rn-state", TINY, [0, 5, 10, 15, 20, 25, 30]), ("rn", TINY_PIXEL, [0, 5, 10, 15])],
)
def test_the_curve_excludes_evaluations_and_leaves_training_unchanged(
    model: str,
    config: TrainConfig,
    steps: list[int],
    tiny_sort_of_clevr: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = train("sort-of-clevr", model, tiny_sort_of_clevr, config, run_dir=tmp_path / "a", progress=False)
    pause, clock, evaluate = 1000.0, _FakeClock(), AccuracyCurve._evaluate

    def slow_evaluate(self: AccuracyCurve, trainer: L.Trainer, module: L.LightningModule) -> dict[str, float]:
        clock.jumps += pause
        return evaluate(self, trainer, module)

    monkeypatch.setattr(rn_training, "time", clock)
    monkeypatch.setattr(AccuracyCurve, "_evaluate", slow_evaluate)
    curve = AccuracyCurve(5, questions=40)
    callbacks = [curve, _SlowValidation(clock, pause)]
    traced = train(
        "sort-of-clevr", model, tiny_sort_of_clevr, config, run_dir=tmp_path / "b", progress=False, callbacks=callbacks
    )
    assert curve.evaluated_questions == 40
    _check_curve(curve.points, steps[-1], 5)
    assert [point["step"] for point in curve.points] == steps
    assert curve.eval_seconds >= pause * len(curve.points)
    assert curve.validation_seconds >= pause * config.epochs
    # Every evaluation (and the first epoch's validation) came before the last point: its clock counts none.
    assert curve.points[-1]["seconds"] < pause
    # The evaluations touch no weight, batch-norm statistic, RNG stream or train/eval mode the run uses.
    assert traced.module.model.training
    for name, value in _weights(plain.module).items():
        torch.testing.assert_close(_weights(traced.module)[name], value, rtol=0, atol=0, msg=name)
    assert traced.val_metrics == plain.val_metrics


def test_curve_steps_default_to_about_twenty_points(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    curve = AccuracyCurve(points=5, questions=16)
    outcome = train(
        "sort-of-clevr",
        "rn-state",
        tiny_sort_of_clevr,
        TINY.with_overrides(epochs=1),
        run_dir=tmp_path,
        progress=False,
        callbacks=[curve],
    )
    assert curve.every == 3  # 15 steps / 5 points
    _check_curve(curve.points, outcome.steps, 3)
    assert len(curve.points) == 6  # step 0 and five more
    with pytest.raises(ValueError, match="every_steps"):
        AccuracyCurve(0)


def test_figure_option_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RelnetError, match="relnet bench rn draws no figure"):
        run_bench("rn", quick=True, figure=tmp_path / "x.png")
    assert main(["bench", "rrn", "--quick", "--figure", str(tmp_path / "x.png")]) == EXIT_USER_ERROR
    assert "relnet bench rrn draws no figure" in capsys.readouterr().err
    # A name matplotlib cannot write fails before any training.
    with pytest.raises(RelnetError, match=r"cannot draw into .*x\.txt"):
        compare_paths("rn-state", TINY, tmp_path / "no-data", recipe="tiny", figure=tmp_path / "x.txt")
    assert not list(tmp_path.iterdir())
