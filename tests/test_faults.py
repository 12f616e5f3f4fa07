"""Fault injection (issue 20): every way found to get a traceback, a lost run or a wrong answer with exit
status 0 is a test here, on tiny datasets; then property-based tests feed each reader random corruptions
of valid files and check that each is refused with one line naming the file (exit 2) or read unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from relnet.cli import EXIT_USER_ERROR, main
from relnet.errors import DataFormatError, Interrupted, RelnetError
from relnet.tasks import TrainConfig, get_task
from relnet.tasks.babi.format import read_task_file, task_file_name, write_task_file
from relnet.tasks.babi.generator import make_stories, stream
from relnet.tasks.clevr.cache import load_images as load_clevr_images
from relnet.tasks.clevr.generate import GenerateConfig
from relnet.tasks.clevr.generate import generate as generate_clevr
from relnet.tasks.clevr.vocab import ANSWERS as CLEVR_ANSWERS
from relnet.tasks.clevr.vocab import answer_text
from relnet.tasks.sort_of_clevr.dataset import load_table
from relnet.tasks.sort_of_clevr.format import ANSWERS as SOC_ANSWERS
from relnet.tasks.sort_of_clevr.generator import GeneratorConfig
from relnet.tasks.sort_of_clevr.generator import generate as generate_soc
from relnet.tasks.sudoku.format import grid_string, read_puzzles, write_csv
from relnet.tasks.sudoku.solver import random_grids
from relnet.training import run as run_module
from relnet.training import train
from relnet.training.weights import METADATA_KEY, save_weights

REPO = Path(__file__).resolve().parents[1]
#: A tiny state-description RN recipe: a few seconds per epoch on the shared tiny Sort-of-CLEVR data.
TINY = TrainConfig(epochs=1, batch_size=32, lr=2e-3, precision="32-true", model={"g_widths": (16,), "f_widths": (16,)})


# ---------------------------------------------------------------------------- helpers
def _cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> str:
    """Exit status 2, one line on stderr holding ``message``, nothing on stdout; returns that line."""
    status, out, err = _cli(capsys, argv)
    assert status == EXIT_USER_ERROR, err
    assert message in err, err
    assert err.startswith("relnet: error: ") and err.count("\n") == 1, err
    assert out == ""
    return err


def _copy(root: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(root, target)
    return target


def _train(data: Path, run_dir: Path, config: TrainConfig = TINY, **options) -> run_module.TrainOutcome:
    return train("sort-of-clevr", "rn-state", data, config, run_dir=run_dir, seed=1, progress=False, **options)


def _weights(path: Path, task: str, model: str, config: dict, metadata: dict | None = None) -> Path:
    """A weights file whose metadata has the changes ``metadata`` (e.g. a broken config)."""
    built = get_task(task).build_model(model, config)
    save_weights(path, task, model, config, built)
    if metadata:
        state = {name: tensor.contiguous() for name, tensor in built.state_dict().items()}
        header = {"task": task, "model": model, "config": config, "format": 1, **metadata}
        save_file(state, str(path), metadata={METADATA_KEY: json.dumps(header)})
    return path


class _RunsCode:
    """Unpickling this creates ``marker``: the payload a crafted checkpoint could carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _crafted_checkpoint(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    hyper = {"task": "sort-of-clevr", "model_name": "rn-state"}
    torch.save({"hyper_parameters": hyper, "payload": _RunsCode(marker)}, path)


# ---------------------------------------------------------------------------- 1. resume: plain data only
def test_resume_refuses_a_checkpoint_that_would_run_code(capsys, tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    _crafted_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", marker)
    argv = ["train", "sort-of-clevr", "--model", "rn-state", "--data", str(tiny_sort_of_clevr)]
    argv += ["--run-dir", str(tmp_path / "run"), "--resume", "--no-progress"]
    _fails_with(capsys, argv, "holds objects other than tensors and plain data")
    assert not marker.exists()


def test_lightning_also_loads_the_checkpoint_weights_only(
    tiny_sort_of_clevr: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even past relnet's own check, the Trainer loads weights-only, whatever torch's default."""
    marker = tmp_path / "code-ran"
    _crafted_checkpoint(tmp_path / "checkpoints" / "last.ckpt", marker)
    monkeypatch.setattr(run_module, "_check_resume", lambda *arguments: None)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # torch's default would unpickle anything
    with pytest.raises(Exception, match=r"(?i)weights.only|unsupported global"):
        _train(tiny_sort_of_clevr, tmp_path, resume=True)
    assert not marker.exists()


# ---------------------------------------------------------------------------- 2. no lost checkpoints
class _CrashAt(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch, index: int) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError("killed")


def test_a_new_run_keeps_the_old_checkpoints_until_it_has_its_own(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    _train(tiny_sort_of_clevr, tmp_path)
    folder = tmp_path / "checkpoints"
    old = {path.name: path.read_bytes() for path in folder.glob("*.ckpt")}
    assert "last.ckpt" in old
    notes: list[str] = []
    with pytest.raises(RuntimeError, match="killed"):  # a new run dies in its first epoch
        _train(tiny_sort_of_clevr, tmp_path, callbacks=[_CrashAt(3)], note=notes.append)
    assert {path.name: path.read_bytes() for path in folder.glob("*.ckpt")} == old  # the old run can resume
    assert len(notes) == 1 and "last.ckpt" in notes[0] and "replaces them" in notes[0]
    # A new run that gets through its first epoch replaces them.
    second = _train(tiny_sort_of_clevr, tmp_path, TINY.with_overrides(epochs=2, batch_size=16))
    assert sorted(path.name for path in folder.glob("*.ckpt")) == ["epoch=1-step=60.ckpt", "last.ckpt"]
    assert torch.load(folder / "last.ckpt", weights_only=True)["global_step"] == second.steps == 60


# ---------------------------------------------------------------------------- 3. empty or diverged training
def test_training_on_nothing_is_refused(capsys, tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    argv = ["train", "sort-of-clevr", "--model", "rn-state", "--data", str(tiny_sort_of_clevr), "--epochs", "1"]
    argv += ["--run-dir", str(tmp_path), "--no-progress", "--batch-size", "100000"]
    _fails_with(capsys, argv, "nothing to train on: the training split has 480 examples, fewer than one batch")
    assert not (tmp_path / "model.safetensors").exists()


def test_a_diverging_run_stops_with_an_error(capsys, tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    argv = ["train", "sort-of-clevr", "--model", "rn-state", "--data", str(tiny_sort_of_clevr), "--epochs", "2"]
    argv += ["--run-dir", str(tmp_path), "--no-progress", "--lr", "inf", "--precision", "32-true"]
    _fails_with(capsys, argv, "training diverged: the loss became NaN or infinite")
    assert not (tmp_path / "model.safetensors").exists()
    assert not list((tmp_path / "checkpoints").glob("*.ckpt"))  # nothing NaN to resume from


def test_nan_weights_give_an_error_not_an_accuracy(capsys, tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    config = {"g_widths": [16], "f_widths": [16]}
    model = get_task("sort-of-clevr").build_model("rn-state", config)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    weights = save_weights(tmp_path / "nan.safetensors", "sort-of-clevr", "rn-state", config, model)
    argv = ["eval", "--weights", str(weights), "--data", str(tiny_sort_of_clevr), "--split", "val", "--no-progress"]
    _fails_with(capsys, argv, "outputs are NaN or infinite on 120 of the 120 examples evaluated")


# ---------------------------------------------------------------------------- 4. signals
class _SignalAt(L.Callback):
    def __init__(self, step: int, number: int) -> None:
        self.step, self.number = step, number

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch, index: int) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.number)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_run_saves_and_resumes_exactly(tiny_sort_of_clevr: Path, tmp_path: Path, number: int) -> None:
    model = {"g_widths": (16,), "f_widths": (16,), "f_dropout": 0.2}  # dropout: the step's seed counts
    config = TINY.with_overrides(epochs=2, batch_size=16, model=model)
    whole = _train(tiny_sort_of_clevr, tmp_path / "whole", config)
    handlers = [signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)]
    with pytest.raises(Interrupted, match=r"after step 40 \(epoch 2 of 2\): saved .*last.ckpt") as stop:
        _train(tiny_sort_of_clevr, tmp_path / "stopped", config, callbacks=[_SignalAt(39, number)])
    assert stop.value.exit_code == 128 + number
    assert [signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)] == handlers  # restored
    assert not (tmp_path / "stopped" / "model.safetensors").exists()
    resumed = _train(tiny_sort_of_clevr, tmp_path / "stopped", config, resume=True)
    assert resumed.steps == whole.steps == 60
    for name, value in whole.module.model.state_dict().items():
        torch.testing.assert_close(resumed.module.model.state_dict()[name], value, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize(("number", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"])
def test_relnet_train_stops_on_a_signal_with_a_checkpoint(
    tiny_sort_of_clevr: Path, tmp_path: Path, number: int, status: int
) -> None:
    command = [sys.executable, "-m", "relnet", "train", "sort-of-clevr", "--model", "rn-state"]
    command += ["--data", str(tiny_sort_of_clevr), "--run-dir", str(tmp_path), "--epochs", "500"]
    command += ["--batch-size", "8", "--preset", "quick", "--precision", "32-true"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    lines = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # the epoch lines on stderr say that training runs
        line = process.stderr.readline()
        lines.append(line)
        if line.startswith("epoch 1/500") or not line:
            break
    process.send_signal(number)
    out, err = process.communicate(timeout=120)
    err = "".join(lines) + err
    assert process.returncode == status, err[-3000:]
    assert out == ""
    assert f"relnet: stopped by {signal.Signals(number).name} after step" in err
    assert f"saved {tmp_path / 'checkpoints' / 'last.ckpt'}" in err and "Traceback" not in err
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


# ---------------------------------------------------------------------------- 5. every image, content-keyed caches
TINY_CLEVR = GenerateConfig(images=5, questions_per_image=3, image_size=(48, 32), cache_size=(16, 16), supersample=1)


@pytest.fixture(scope="module")
def tiny_clevr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clevr")
    generate_clevr(root, seed=1, config=TINY_CLEVR)
    return root


def _truncate(path: Path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_inspect_clevr_decodes_every_image(capsys, tiny_clevr: Path, tmp_path: Path) -> None:
    root = _copy(tiny_clevr, tmp_path)
    last = sorted((root / "images" / "train").glob("*.png"))[-1]
    _truncate(last)
    _fails_with(capsys, ["inspect", "clevr", str(root)], f"{last}: not a readable image")


def test_the_clevr_cache_notices_a_damaged_png(tiny_clevr: Path, tmp_path: Path) -> None:
    root = _copy(tiny_clevr, tmp_path)
    indices = [0, 1, 2]
    load_clevr_images(root, "train", 16, 16, indices)  # current: the generator wrote it
    _truncate(root / "images" / "train" / "CLEVR_train_000001.png")
    with pytest.raises(DataFormatError, match=r"CLEVR_train_000001\.png: not a readable image"):
        load_clevr_images(root, "train", 16, 16, indices)


def test_the_sort_of_clevr_cache_notices_a_damaged_png(tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    root = _copy(tiny_sort_of_clevr, tmp_path)
    load_table(root, "val")  # builds the cache
    _truncate(root / "images" / "val" / "000002.png")
    with pytest.raises(DataFormatError, match=r"000002\.png: not a readable image"):
        load_table(root, "val")


@pytest.mark.parametrize("damage", [b"", b"\x93NUMPY garbage", None])
def test_a_damaged_cache_is_rebuilt(tiny_sort_of_clevr: Path, tiny_clevr: Path, tmp_path: Path, damage) -> None:
    soc = _copy(tiny_sort_of_clevr, tmp_path, "soc")
    expected = load_table(soc, "val").lookups["image"][1].clone()
    cache = soc / "cache" / "val_images.npy"
    cache.write_bytes(cache.read_bytes()[:200] if damage is None else damage)
    torch.testing.assert_close(load_table(soc, "val").lookups["image"][1], expected)
    clevr = _copy(tiny_clevr, tmp_path, "clevr")
    _, images = load_clevr_images(clevr, "train", 16, 16, [0, 1, 2])
    expected_clevr = np.array(images)
    cache = clevr / "cache" / "CLEVR_train_16x16.npy"
    cache.write_bytes(cache.read_bytes()[:200] if damage is None else damage)
    np.testing.assert_array_equal(load_clevr_images(clevr, "train", 16, 16, [0, 1, 2])[1], expected_clevr)


# ---------------------------------------------------------------------------- 6. generation
SOC_TINY_FLAGS = ["--train-images", "2", "--val-images", "1", "--test-images", "1"]


def test_generation_refuses_a_non_empty_folder_without_force(capsys, tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    for task, flags in (("sort-of-clevr", SOC_TINY_FLAGS), ("babi", []), ("sudoku", ["--count", "3"])):
        _fails_with(capsys, ["generate", task, "--out", str(out), *flags], "is not empty; pass --force")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    status, _, err = _cli(capsys, ["generate", "sort-of-clevr", "--out", str(out), *SOC_TINY_FLAGS, "--force"])
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["images", "test.json", "train.json", "val.json"]


def test_an_interrupted_generation_leaves_nothing(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import relnet.tasks.babi.generator as babi_generator

    written: list[Path] = []

    def write_then_stop(path: Path, stories) -> Path:
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(write_task_file(path, stories))
        return path

    monkeypatch.setattr(babi_generator, "write_task_file", write_then_stop)
    status, _, err = _cli(capsys, ["generate", "babi", "--out", str(tmp_path / "babi"), "--size", "1k"])
    assert status == 130 and "interrupted" in err
    assert not any(tmp_path.iterdir())  # neither the folder nor a half-written one
    # Over an existing dataset (--force), an interrupted generation leaves the old one as it was.
    old = tmp_path / "soc"
    assert _cli(capsys, ["generate", "sort-of-clevr", "--out", str(old), *SOC_TINY_FLAGS])[0] == 0
    before = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    import relnet.tasks.sort_of_clevr.generator as soc_generator

    monkeypatch.setattr(soc_generator, "write_split", lambda *arguments: os.kill(os.getpid(), signal.SIGTERM))
    argv = ["generate", "sort-of-clevr", "--out", str(old), *SOC_TINY_FLAGS, "--seed", "5", "--force"]
    status, _, err = _cli(capsys, argv)
    assert status == 143 and "stopped by SIGTERM" in err
    assert {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["soc"]


def test_reproduce_still_generates_into_a_fresh_or_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relnet.tasks.sort_of_clevr.task import SortOfClevr
    from relnet.training.reproduce import GENERATED_MARKER, ensure_dataset

    tiny = GeneratorConfig(train_images=2, val_images=1, test_images=1)
    monkeypatch.setattr(SortOfClevr, "default_options", lambda self, preset=None: tiny)
    for root in (tmp_path / "fresh", tmp_path / "empty"):
        if root.name == "empty":
            root.mkdir()
        ensure_dataset("sort-of-clevr", root, seed=3, progress_note=lambda message: None)
        assert json.loads((root / GENERATED_MARKER).read_text()) == {"task": "sort-of-clevr", "seed": 3}
        stamp = (root / "train.json").stat().st_mtime_ns
        ensure_dataset("sort-of-clevr", root, seed=3, progress_note=lambda message: None)  # already there
        assert (root / "train.json").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "fresh"]


def test_reproduce_refuses_data_from_an_older_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder a previous generator version made is named as such, never silently trained on."""
    from relnet.tasks.sort_of_clevr.task import SortOfClevr
    from relnet.training.reproduce import GENERATED_MARKER, ensure_dataset

    tiny = GeneratorConfig(train_images=2, val_images=1, test_images=1)
    monkeypatch.setattr(SortOfClevr, "default_options", lambda self, preset=None: tiny)
    root = tmp_path / "soc"
    ensure_dataset("sort-of-clevr", root, seed=3, progress_note=lambda message: None)  # version 1: no field
    monkeypatch.setattr(SortOfClevr, "generator_version", 2)
    with pytest.raises(RelnetError, match=r"made by an older sort-of-clevr generator \(version 1, now 2\)"):
        ensure_dataset("sort-of-clevr", root, seed=3, progress_note=lambda message: None)
    shutil.rmtree(root)
    ensure_dataset("sort-of-clevr", root, seed=3, progress_note=lambda message: None)
    marker = json.loads((root / GENERATED_MARKER).read_text())
    assert marker == {"task": "sort-of-clevr", "seed": 3, "generator_version": 2}


# ---------------------------------------------------------------------------- 7. Sudoku files
def _grids(count: int, seed: int, blanks: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random complete grids and quizzes with ``blanks`` cells removed (unique at this density)."""
    rng = np.random.default_rng(seed)
    solutions = random_grids(count, rng)
    quizzes = solutions.copy()
    for row in quizzes:
        row[rng.choice(81, blanks, replace=False)] = 0
    return quizzes, solutions


def test_a_damaged_first_sudoku_line_is_not_taken_for_a_header(tmp_path: Path) -> None:
    quizzes, solutions = _grids(2, seed=0)
    lines = [f"{grid_string(q)},{grid_string(s)}" for q, s in zip(quizzes, solutions, strict=True)]
    path = tmp_path / "test.csv"
    path.write_text("\n".join(["x" + lines[0][1:], lines[1]]) + "\n")
    with pytest.raises(DataFormatError, match=r"line 1: quiz has bad character\(s\) 'x'"):
        read_puzzles(path)
    path.write_text("\n".join(["quizzes,solutions", *lines]) + "\n")  # a real header still reads
    assert read_puzzles(path).lines.tolist() == [2, 3]


def test_inspect_sudoku_reports_duplicates(capsys, tmp_path: Path) -> None:
    quizzes, solutions = _grids(3, seed=1)
    write_csv(tmp_path / "train.csv", quizzes[[0, 1, 0, 2]], solutions[[0, 1, 0, 2]])
    write_csv(tmp_path / "test.csv", quizzes[[2]], solutions[[2]])
    status, out, err = _cli(capsys, ["inspect", "sudoku", str(tmp_path), "--json"])
    assert status == 0, err
    report = json.loads(out)
    assert report["files"]["train"]["duplicates"] == 1
    assert report["files"]["train"]["first_duplicate"] == "line 3 repeats line 1"
    assert report["files"]["test"]["duplicates"] == 0
    assert report["shared_between_splits"] == {"train/test": 1}


# ---------------------------------------------------------------------------- 8. bAbI files
STORY = "1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("qa1_train.txt", STORY[:-1], "no final newline: is the file truncated?"),
        ("qa1_train.txt", STORY[:-1].rsplit("\t", 2)[0] + "\n", "line 3: a question without its answer"),
        ("qa1_train.txt", STORY + "1 Sandra went to the park.\n", "line 4: the last story ends with a statement"),
        ("qa1_train.txt", STORY.replace("\tbathroom", "\tbathroon"), "line 3: answer 'bathroon' is not one of"),
        ("qa1_train.txt", STORY.replace("\t1\n", "\t²\n"), "line 3: supporting fact ID '²' is not a positive"),
        ("qa1_train.txt", STORY.replace("2 John", "² John"), "line 2: expected 'ID text' with a positive integer"),
        ("qa1_train.txt", STORY.replace("\t1\n", "\t\n"), "line 3: a question without supporting IDs"),
        ("qa1_train.txt", "1 " + "word " * 200_000 + "\n", "line 1: a line of 1,000,002 characters"),
    ],
)
def test_truncated_or_broken_babi_files_are_refused(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataFormatError, match=re.escape(message)):
        read_task_file(path)


def test_only_task_20_stories_may_end_with_a_statement(tmp_path: Path) -> None:
    story = "1 Sumit is tired.\n2 Where will sumit go?\tbedroom\t1\n3 Sumit went back to the bedroom.\n"
    path = tmp_path / "qa20_agents-motivations_train.txt"
    path.write_text(story)
    assert read_task_file(path)[0][-1].text == "Sumit went back to the bedroom."


def test_an_unknown_babi_answer_fails_inspect(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "en-valid"
    for split in ("train", "valid", "test"):
        (folder / task_file_name(1, split, with_name=False)).parent.mkdir(parents=True, exist_ok=True)
        (folder / task_file_name(1, split, with_name=False)).write_text(STORY)
    bad = folder / "qa1_test.txt"
    bad.write_text(STORY.replace("\tbathroom", "\tgarage"))
    _fails_with(capsys, ["inspect", "babi", str(tmp_path)], f"{bad}, line 3: answer 'garage' is not one of")


# ---------------------------------------------------------------------------- 9. tracebacks turned into errors
@pytest.mark.parametrize("seed", ["-1", "123456789012345678901"])
def test_seeds_out_of_range(capsys, tmp_path: Path, seed: str) -> None:
    argv = ["generate", "sort-of-clevr", "--out", str(tmp_path / "x"), *SOC_TINY_FLAGS, "--seed", seed]
    _fails_with(capsys, argv, "--seed must be an integer from 0 to 4294967295")


def test_an_absurd_image_size_is_refused_before_any_allocation(capsys, tiny_sort_of_clevr: Path, tmp_path) -> None:
    root = _copy(tiny_sort_of_clevr, tmp_path)
    document = json.loads((root / "val.json").read_text())
    document["image_size"] = 10**7
    (root / "val.json").write_text(json.dumps(document))
    _fails_with(capsys, ["inspect", "sort-of-clevr", str(root)], '"image_size" must be an integer from 8 to 1024')


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"config": [16, 16]}, '"config" must be an object of model arguments, not [16, 16]'),
        ({"config": {"g_widths": [-4], "f_widths": [16]}}, "cannot build model 'rn-state' from its saved config"),
        ({"model": ["rn"]}, '"model" must be a name'),
    ],
)
def test_broken_weights_metadata(capsys, tiny_sort_of_clevr: Path, tmp_path: Path, changes: dict, message) -> None:
    config = {"g_widths": [16], "f_widths": [16]}
    weights = _weights(tmp_path / "w.safetensors", "sort-of-clevr", "rn-state", config, changes)
    _fails_with(capsys, ["eval", "--weights", str(weights), "--data", str(tiny_sort_of_clevr)], message)


def test_results_files_without_metrics(capsys, tmp_path: Path) -> None:
    record = {"task": "sort-of-clevr", "model": "rn", "command": "c", "device": "d", "wall_seconds": 1.0}
    (tmp_path / "rn.json").write_text(json.dumps(record))
    (tmp_path / "other.json").write_text(json.dumps(["not", "a", "record"]))
    _fails_with(capsys, ["results", "sort-of-clevr", str(tmp_path)], f"{tmp_path / 'other.json'}: not a results")
    (tmp_path / "other.json").unlink()
    _fails_with(capsys, ["results", "sort-of-clevr", str(tmp_path)], f"{tmp_path / 'rn.json'}: a results record needs")


def test_show_writes_the_file_it_reports(capsys, tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    config = {"g_widths": [16], "f_widths": [16]}
    weights = _weights(tmp_path / "w.safetensors", "sort-of-clevr", "rn-state", config)
    argv = ["show", "--weights", str(weights), "--data", str(tiny_sort_of_clevr), "--questions", "0"]
    _fails_with(capsys, [*argv, "--out", str(tmp_path / "x.txt")], "x.txt: choose a picture file name ending in .avif")
    status, out, _ = _cli(capsys, [*argv, "--out", str(tmp_path / "picture")])
    assert status == 0 and out.strip() == f"wrote {tmp_path / 'picture.png'}"
    assert (tmp_path / "picture.png").is_file()


# ---------------------------------------------------------------------------- 10. usability
@pytest.mark.parametrize("terminal", [False, True])
def test_progress_goes_to_stderr(
    capsys, tiny_sort_of_clevr: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    """A bar on a terminal, one line per epoch in a log; both on stderr, stdout holds only the result."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    argv = ["train", "sort-of-clevr", "--model", "rn-state", "--data", str(tiny_sort_of_clevr), "--epochs", "2"]
    argv += ["--run-dir", str(tmp_path), "--preset", "quick", "--batch-size", "64"]
    status, out, err = _cli(capsys, argv)
    assert status == 0, err
    assert out.startswith("val metrics:\n") and "\r" not in out and "Epoch" not in out
    epochs = [line for line in err.splitlines() if line.startswith("epoch ")]
    if terminal:
        assert "\rEpoch 1: 100%" in err and not epochs
    else:
        assert "\r" not in err
        assert [line.split(" | ")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
        assert "val relational" in epochs[-1]


def test_a_huge_bad_value_is_not_echoed_in_full(capsys, tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    root = _copy(tiny_sort_of_clevr, tmp_path)
    document = json.loads((root / "val.json").read_text())
    document["scenes"][0]["objects"][0]["color"] = "x" * 1_000_000
    (root / "val.json").write_text(json.dumps(document))
    line = _fails_with(capsys, ["inspect", "sort-of-clevr", str(root)], "unknown colour 'xxxx")
    assert len(line) < 400 and "(1000002 characters)" in line


def test_weights_of_another_task_name_the_mismatch(capsys, tiny_sort_of_clevr: Path, tmp_path: Path) -> None:
    config = {"embed_dim": 8, "hidden_dim": 16, "mlp_layers": 1, "steps": 2, "eval_steps": 2}
    weights = _weights(tmp_path / "rrn.safetensors", "sudoku", "rrn", config)
    argv = ["eval", "--weights", str(weights), "--data", str(tiny_sort_of_clevr), "--no-progress"]
    _fails_with(capsys, argv, f"{tiny_sort_of_clevr} holds sort-of-clevr data, but the model is a sudoku model")


def test_committed_cnn_mlp_weights_without_image_size_evaluate(capsys, tiny_sort_of_clevr: Path) -> None:
    weights = REPO / "results" / "sort-of-clevr" / "cnn-mlp.safetensors"
    if not weights.is_file():
        pytest.skip("committed weights not present")
    argv = ["eval", "--weights", str(weights), "--data", str(tiny_sort_of_clevr), "--split", "val", "--json"]
    status, out, err = _cli(capsys, [*argv, "--no-progress"])
    assert status == 0, err
    assert 0 <= json.loads(out)["metrics"]["accuracy"] <= 1


# ---------------------------------------------------------------------------- property-based reader tests
#: RELNET_PROPERTY_EXAMPLES=500 explores further (with fresh random examples) than the suite's fixed 40.
_EXAMPLES = os.environ.get("RELNET_PROPERTY_EXAMPLES")
PROPERTY = settings(
    max_examples=int(_EXAMPLES or 40),
    deadline=None,
    database=None,
    derandomize=_EXAMPLES is None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=5,
)


def _corrupt_bytes(data: st.DataObject, original: bytes) -> bytes:
    """Truncate, flip a byte, delete, insert or duplicate a span, at a random place."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "delete", "insert", "duplicate"]), label="kind")
    start = data.draw(st.integers(0, len(original) - 1), label="at")
    end = data.draw(st.integers(start, min(len(original), start + 40)), label="to")
    if kind == "truncate":
        return original[:start]
    if kind == "flip":
        return original[:start] + bytes([original[start] ^ data.draw(st.integers(1, 255))]) + original[start + 1 :]
    if kind == "delete":
        return original[:start] + original[end:]
    if kind == "insert":
        return original[:start] + data.draw(st.binary(min_size=1, max_size=12), label="bytes") + original[start:]
    return original[:start] + original[start:end] + original[start:]


def _paths(value, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) into a JSON document, containers included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _corrupt_json(data: st.DataObject, original: bytes) -> bytes:
    """Replace or delete one value anywhere in the document (the byte-level ones rarely parse)."""
    document = json.loads(original)
    path = data.draw(st.sampled_from(_paths(document)[1:]), label="path")
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans(), label="delete"):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(JSON_VALUES, label="value")
    return json.dumps(document).encode()


def _corrupt_json_or_bytes(data: st.DataObject, original: bytes) -> bytes:
    return (_corrupt_json if data.draw(st.booleans(), label="semantic") else _corrupt_bytes)(data, original)


def _check_reader(capsys, argv: list[str], root: Path, target: Path, corrupted: bytes) -> int:
    """Write ``corrupted`` into ``target``, run ``argv``: exit 0, or 2 with one line naming a file of
    ``root``; never a traceback (an exception would fail the test). Restores ``target``; returns the status."""
    original = target.read_bytes()
    try:
        target.write_bytes(corrupted)
        status, _, err = _cli(capsys, argv)
    finally:
        target.write_bytes(original)
    assert status in (0, EXIT_USER_ERROR), err
    if status == EXIT_USER_ERROR:
        assert err.startswith("relnet: error: ") and err.count("\n") == 1, err
        assert str(root) in err, err
    return status


@pytest.fixture(scope="module")
def soc_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("soc-property")
    generate_soc(root, seed=2, config=GeneratorConfig(train_images=1, val_images=1, test_images=1))
    return root


@pytest.fixture(scope="module")
def babi_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("babi-property")
    for task in (1, 19):
        for split in ("train", "valid", "test"):
            stories = make_stories(task, 3, stream(0, task, split))
            write_task_file(root / "en-valid" / task_file_name(task, split, with_name=False), stories)
    return root


@pytest.fixture(scope="module")
def sudoku_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sudoku-property")
    for seed, name in enumerate(("train.csv", "valid.csv", "test.csv")):
        write_csv(root / name, *_grids(2, seed=seed + 10))
    return root


def _sudoku_answers_unchanged(root: Path, target: Path, original: bytes, corrupted: bytes) -> None:
    """An accepted Sudoku file changed no answer (e.g. a given blanked, a line doubled or dropped)."""
    answers = {grid_string(solution) for solution in read_puzzles(target).solutions}
    target.write_bytes(corrupted)
    try:
        accepted = read_puzzles(target)
    finally:
        target.write_bytes(original)
    assert {grid_string(solution) for solution in accepted.solutions} <= answers


CLEVR_FILES = [f"{kind}/CLEVR_{split}_{kind}.json" for kind in ("scenes", "questions") for split in ("train", "val")]
#: task → (fixture with its files, files to corrupt, corruption, check of an accepted corruption)
READERS = {
    "sort-of-clevr": ("soc_files", ["train.json", "val.json", "test.json"], _corrupt_json_or_bytes, None),
    "babi": ("babi_files", ["en-valid/qa1_train.txt", "en-valid/qa19_valid.txt"], _corrupt_bytes, None),
    "sudoku": ("sudoku_files", ["train.csv", "valid.csv", "test.csv"], _corrupt_bytes, _sudoku_answers_unchanged),
    "clevr": ("tiny_clevr", [*CLEVR_FILES, "scenes/CLEVR_test_scenes.json"], _corrupt_json_or_bytes, None),
}


@pytest.mark.parametrize("task", list(READERS))
@PROPERTY
@given(data=st.data())
def test_every_reader_refuses_corruptions_cleanly(capsys, request, task: str, data: st.DataObject) -> None:
    fixture, files, corrupt, check_accepted = READERS[task]
    root = request.getfixturevalue(fixture)
    target = root / data.draw(st.sampled_from(files), label="file")
    original = target.read_bytes()
    corrupted = corrupt(data, original)
    status = _check_reader(capsys, ["inspect", task, str(root)], root, target, corrupted)
    if status == 0 and check_accepted is not None:
        check_accepted(root, target, original, corrupted)


@PROPERTY
@given(data=st.data())
def test_sort_of_clevr_never_accepts_a_changed_answer(capsys, soc_files: Path, data: st.DataObject) -> None:
    target = soc_files / "val.json"
    document = json.loads(target.read_bytes())
    questions = document["scenes"][0]["questions"]
    question = questions[data.draw(st.integers(0, len(questions) - 1), label="question")]
    question["answer"] = data.draw(st.sampled_from([a for a in SOC_ANSWERS if a != question["answer"]]))
    corrupted = json.dumps(document).encode()
    assert _check_reader(capsys, ["inspect", "sort-of-clevr", str(soc_files)], soc_files, target, corrupted) == 2


@PROPERTY
@given(data=st.data())
def test_babi_never_accepts_an_unknown_answer(capsys, babi_files: Path, data: st.DataObject) -> None:
    """bAbI has no oracle: an answer changed into another valid one cannot be caught; any other can."""
    from relnet.tasks.babi.vocab import ANSWER_INDEX

    target = babi_files / "en-valid" / "qa1_test.txt"
    lines = target.read_text(encoding="utf-8").split("\n")
    questions = [number for number, line in enumerate(lines) if "\t" in line]
    number = data.draw(st.sampled_from(questions), label="line")
    answer = data.draw(st.text(st.characters(codec="utf-8", exclude_characters="\t\n\r"), min_size=1, max_size=10))
    if answer.lower() in ANSWER_INDEX:
        return
    head, _, supports = lines[number].split("\t")
    lines[number] = f"{head}\t{answer}\t{supports}"
    corrupted = "\n".join(lines).encode()
    assert _check_reader(capsys, ["inspect", "babi", str(babi_files)], babi_files, target, corrupted) == 2


@PROPERTY
@given(data=st.data())
def test_sudoku_never_accepts_a_changed_solution(capsys, sudoku_files: Path, data: st.DataObject) -> None:
    target = sudoku_files / "test.csv"
    lines = target.read_text().splitlines()
    row = data.draw(st.integers(0, len(lines) - 1), label="line")
    cell = data.draw(st.integers(0, 80), label="cell")
    quiz, solution = lines[row].split(",")
    digit = data.draw(st.sampled_from([d for d in "123456789" if d != solution[cell]]), label="digit")
    lines[row] = f"{quiz},{solution[:cell]}{digit}{solution[cell + 1 :]}"
    corrupted = ("\n".join(lines) + "\n").encode()
    assert _check_reader(capsys, ["inspect", "sudoku", str(sudoku_files)], sudoku_files, target, corrupted) == 2


@PROPERTY
@given(data=st.data())
def test_clevr_never_accepts_a_changed_answer(capsys, tiny_clevr: Path, data: st.DataObject) -> None:
    target = tiny_clevr / "questions" / "CLEVR_train_questions.json"
    document = json.loads(target.read_bytes())
    question = data.draw(st.sampled_from(document["questions"]), label="question")
    recorded = answer_text(question["answer"])
    question["answer"] = data.draw(st.sampled_from([a for a in CLEVR_ANSWERS if a != recorded]))
    corrupted = json.dumps(document).encode()
    assert _check_reader(capsys, ["inspect", "clevr", str(tiny_clevr)], tiny_clevr, target, corrupted) == 2
