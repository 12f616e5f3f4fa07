"""Training and evaluation, shared by every task and by the CLI."""

from __future__ import annotations

import contextlib
import inspect
import pickle
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from relnet.errors import DataFormatError, Interrupted, RelnetError, shorten
from relnet.runtime import auto_precision
from relnet.tasks import Task, TrainConfig, get_task, task_names
from relnet.training.data import RelnetDataModule
from relnet.training.module import RelnetModule
from relnet.training.weights import load_model, load_state, read_header, save_weights

#: What a checkpoint must hold for Lightning to resume from it.
CHECKPOINT_KEYS = frozenset({"epoch", "global_step", "state_dict", "loops", "optimizer_states", "hyper_parameters"})
#: The signals that stop a run cleanly: the next step ends, a checkpoint is saved, the process exits 128 + N.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Hardware:
    """Where to run: Lightning's accelerator, devices, strategy and nodes."""

    accelerator: str = "auto"
    devices: str | int = 1
    strategy: str = "auto"
    num_nodes: int = 1


@dataclass
class TrainOutcome:
    module: RelnetModule
    val_metrics: dict[str, float]
    weights: Path
    run_dir: Path
    wall_seconds: float
    is_global_zero: bool
    #: The epoch whose weights were kept (the best validated one), or None for the last epoch's.
    kept_epoch: int | None = None
    #: Optimiser steps taken (a time-budgeted run may stop within an epoch).
    steps: int = 0


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _quiet_lightning() -> None:
    patterns = (
        ".*does not have many workers.*",
        ".*LeafSpec.*",
        ".*treespec.*",
        # relnet says itself which old checkpoints a new run replaces (see _ReplaceOldCheckpoints).
        ".*Checkpoint directory .* exists and is not empty.*",
        # A checkpoint saved mid-epoch records the batches done, which the data module skips on resume.
        ".*resuming from a checkpoint that ended before the epoch ended.*",
    )
    for pattern in patterns:
        warnings.filterwarnings("ignore", message=pattern)


def _on_stderr(init: Callable[[TQDMProgressBar], Any]) -> Callable[[TQDMProgressBar], Any]:
    """A bar constructor of Lightning's whose bar draws on stderr (Lightning passes ``file=sys.stdout``)."""

    def on_stderr(self: TQDMProgressBar) -> Any:
        with contextlib.redirect_stdout(sys.stderr):
            return init(self)

    return on_stderr


class _StderrProgressBar(TQDMProgressBar):
    """Lightning's bar drawn on stderr: stdout holds only results."""

    init_sanity_tqdm = _on_stderr(TQDMProgressBar.init_sanity_tqdm)
    init_train_tqdm = _on_stderr(TQDMProgressBar.init_train_tqdm)
    init_validation_tqdm = _on_stderr(TQDMProgressBar.init_validation_tqdm)
    init_test_tqdm = _on_stderr(TQDMProgressBar.init_test_tqdm)
    init_predict_tqdm = _on_stderr(TQDMProgressBar.init_predict_tqdm)


class EpochLines(L.Callback):
    """Progress for a log file: one line per epoch on stderr (a bar's carriage returns would flood it)."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    on_train_start = on_train_epoch_start  # a run resumed mid-epoch starts without on_train_epoch_start

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}", f"step {trainer.global_step}"]
        loss = trainer.callback_metrics.get("train/loss")
        if loss is not None:
            parts.append(f"loss {float(loss):.4f}")
        val = module.last_metrics.get("val") if isinstance(module, RelnetModule) else None
        if val:
            task = module.task
            shown = [
                f"{n} {task.format_metric(n, val.get(n))}{'%' * task.metric(n).is_percentage}"
                for n in task.headline_metrics
            ]
            parts.append("val " + ", ".join(shown))
        parts.append(f"{time.perf_counter() - self._start:.1f} s")
        _note(" | ".join(parts))


def _progress_callbacks(progress: bool) -> list[L.Callback]:
    """A bar on a terminal, one line per epoch otherwise (both on stderr); nothing without ``progress``."""
    if not progress:
        return []
    return [_StderrProgressBar()] if sys.stderr.isatty() else [EpochLines()]


def build_trainer(
    *,
    hardware: Hardware,
    precision: str,
    run_dir: Path | None,
    max_epochs: int = 1,
    progress: bool = True,
    grad_clip: float | None = None,
    extra_callbacks: list[L.Callback] | None = None,
    resuming: bool = False,
    train_fraction: float = 1.0,
    time_budget: float | None = None,
) -> L.Trainer:
    """A Trainer with relnet's conventions: deterministic data order, epoch-end ``last.ckpt``, CSV and
    TensorBoard logs in ``run_dir`` (no logs or checkpoints when ``run_dir`` is None). A resumed run
    logs to ``logs/resume-N`` so the interrupted run's logs are kept. ``time_budget`` (minutes) stops
    training once that much time has passed (Lightning's ``max_time``)."""
    _quiet_lightning()
    callbacks: list[L.Callback] = list(extra_callbacks or []) + _progress_callbacks(progress)
    loggers: list[Any] | bool = False
    if run_dir is not None:
        # save_top_k=1 without a monitor keeps the newest epoch's checkpoint and copies it to last.ckpt
        # after every validation. (With save_top_k=0, Lightning >= 2.4 writes last.ckpt only when
        # training ends normally, so a killed run could not be resumed.) No version counter: a new run
        # overwrites an old run's last.ckpt (kept until then, see _ReplaceOldCheckpoints) rather than
        # writing last-v1.ckpt, which --resume would not find.
        callbacks.append(
            ModelCheckpoint(dirpath=run_dir / "checkpoints", save_last=True, save_top_k=1, enable_version_counter=False)
        )
        version = f"resume-{sum(1 for p in (run_dir / 'logs').glob('resume-*')) + 1}" if resuming else ""
        loggers = [
            CSVLogger(run_dir, name="logs", version=version),
            TensorBoardLogger(run_dir, name="tensorboard", version=version),
        ]
    if precision == "auto":
        precision = auto_precision(hardware.accelerator)
    try:
        return L.Trainer(
            max_time=None if time_budget is None else timedelta(minutes=time_budget),
            limit_train_batches=train_fraction,
            accelerator=hardware.accelerator,
            devices=hardware.devices,
            strategy=hardware.strategy,
            num_nodes=hardware.num_nodes,
            precision=precision,
            max_epochs=max_epochs,
            logger=loggers,
            callbacks=callbacks,
            enable_checkpointing=run_dir is not None,
            enable_progress_bar=any(isinstance(c, TQDMProgressBar) for c in callbacks),
            enable_model_summary=False,
            num_sanity_val_steps=0,
            use_distributed_sampler=False,
            log_every_n_steps=50,
            gradient_clip_val=grad_clip,
            default_root_dir=run_dir,
        )
    except (MisconfigurationException, ValueError, RuntimeError, TypeError) as error:
        raise RelnetError(f"cannot set up training on this hardware: {error}") from None


def _check_resume(checkpoint: Path, task: str, model_name: str) -> None:
    """Refuse a checkpoint that is missing, unreadable, of another model, or holds more than plain data.

    Checkpoints are loaded weights-only (tensors, numbers, strings, lists, dicts): unpickling anything
    else could run code hidden in a crafted ``last.ckpt``."""
    if not checkpoint.is_file():
        raise RelnetError(f"cannot resume: no checkpoint at {checkpoint}")
    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise RelnetError(
            f"cannot resume: {checkpoint} holds objects other than tensors and plain data; refused, since "
            "loading them could run code (a checkpoint written by relnet never does)"
        ) from None
    except Exception as error:  # torch.load raises many kinds on a damaged file
        raise RelnetError(f"cannot resume: {checkpoint} is not a readable checkpoint ({shorten(str(error))})") from None
    missing = sorted(CHECKPOINT_KEYS - saved.keys()) if isinstance(saved, dict) else sorted(CHECKPOINT_KEYS)
    if missing:
        raise RelnetError(
            f"cannot resume: {checkpoint} is not a complete training checkpoint (no {', '.join(missing)})"
        )
    params = saved["hyper_parameters"] if isinstance(saved["hyper_parameters"], dict) else {}
    if (params.get("task"), params.get("model_name")) != (task, model_name):
        raise RelnetError(
            f"cannot resume: {checkpoint} is a checkpoint of {shorten(params.get('task'))} model "
            f"{shorten(params.get('model_name'))}, not {task!r} model {model_name!r}"
        )


class _ReplaceOldCheckpoints(L.Callback):
    """Deletes an earlier run's checkpoints once this run has written its own ``last.ckpt``.

    A new run in an old run's folder must not destroy the old checkpoints before it has one of its own:
    killed in its first epoch, the old run could no longer be resumed. A file counts as the old run's
    while its modification time is the one it had when this run started.
    """

    def __init__(self, last: Path, old: dict[Path, int]) -> None:
        self.last, self.old = last, old

    def _replace(self, trainer: L.Trainer, *hook_arguments: Any) -> None:
        if not self.old or not trainer.is_global_zero or not self.last.is_file():
            return
        if self.old.get(self.last) == self.last.stat().st_mtime_ns:
            return  # last.ckpt is still the old run's
        for path, stamp in self.old.items():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime_ns == stamp:
                    path.unlink()
        self.old = {}

    on_train_epoch_start = on_fit_end = on_exception = _replace


class StopOnSignal(L.Callback):
    """SIGINT and SIGTERM end the current step, save a checkpoint (when training) and raise
    :class:`~relnet.errors.Interrupted`; a second signal stops at once, without saving.

    Use as a context manager around ``trainer.fit`` / ``trainer.test`` and pass it as a callback. Under
    DDP every process takes the decision together (any process signalled stops them all at the same
    step), so none waits forever for the others. The checkpoint records how many batches of the epoch
    were trained, and the data module skips them when the run resumes, so the resumed run continues with
    the batches the stopped one would have seen next.
    """

    def __init__(self, checkpoint: Path | None = None) -> None:
        self.checkpoint = checkpoint
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    # -- signal handling --------------------------------------------------------------------
    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.received is not None:
            raise Interrupted(signal_number, f"stopped at once by a second {signal.Signals(signal_number).name}")
        self.received = signal_number

    def _install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                signal.signal(number, self._handle)

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            self._previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
        self._install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    # -- callback hooks ---------------------------------------------------------------------
    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        # Lightning installed its own SIGTERM handler as the loops started; it would end the run in the
        # middle of a validation without saving. Ours takes over until Lightning restores the handlers.
        self._install()

    on_test_start = on_train_start

    def _stop_now(self, trainer: L.Trainer) -> bool:
        return trainer.strategy.reduce_boolean_decision(self.received is not None, all=False)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: Any) -> None:
        if not self._stop_now(trainer):
            return
        number = self.received if self.received is not None else signal.SIGTERM  # another process's signal
        where = f"after step {trainer.global_step} (epoch {trainer.current_epoch + 1} of {trainer.max_epochs})"
        if self.checkpoint is None:
            raise Interrupted(number, f"stopped by {signal.Signals(number).name} {where}; nothing saved")
        done = trainer.global_step - trainer.current_epoch * int(trainer.num_training_batches)
        if done >= trainer.num_training_batches:
            return  # the epoch's last step: its validation and checkpoint come first, then the next step stops
        if isinstance(module, RelnetModule):
            module.check_finite_training()  # never save a diverged state
        trainer.datamodule.batches_done = done
        trainer.save_checkpoint(self.checkpoint, weights_only=False)  # the whole state, to resume from
        raise Interrupted(
            number,
            f"stopped by {signal.Signals(number).name} {where}: saved {self.checkpoint}; "
            "continue with the same command and --resume",
        )

    def on_test_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: Any) -> None:
        if self._stop_now(trainer):
            number = self.received if self.received is not None else signal.SIGTERM
            raise Interrupted(number, f"stopped by {signal.Signals(number).name} during evaluation; nothing saved")


@contextlib.contextmanager
def _naming_the_data_task(task: Task, root: Path, split: str) -> Iterator[None]:
    """When ``root`` lacks ``task``'s files, say which task's data it holds instead (if any task reads it).

    Only a missing file is looked into (a damaged file of ``task`` keeps its own message)."""
    try:
        yield
    except DataFormatError as error:
        if error.path.exists():
            raise
        owner = _task_of_data(root, split, exclude=task.name)
        if owner is None:
            raise
        raise RelnetError(
            f"{root} holds {owner} data, but the model is a {task.name} model ({error.problem})"
        ) from None


def _task_of_data(root: Path, split: str, *, exclude: str) -> str | None:
    """The first other task that reads ``split`` of ``root`` without an error."""
    for name in task_names():
        if name == exclude:
            continue
        try:
            get_task(name).load(root, split)
        except Exception:  # a probe: any failure means "not this task's data"
            continue
        return name
    return None


def train(
    task_name: str,
    model_name: str,
    data_root: Path,
    config: TrainConfig,
    *,
    run_dir: Path,
    seed: int = 0,
    hardware: Hardware | None = None,
    resume: bool = False,
    progress: bool = True,
    callbacks: list[L.Callback] | None = None,
    init_weights: Path | None = None,
    note: Callable[[str], None] = _note,
) -> TrainOutcome:
    """Train ``model_name`` on ``data_root`` with ``config``; save ``run_dir/model.safetensors``.

    ``init_weights``: start from the model saved in that weights file (same task, model and shapes)
    instead of a fresh initialisation, with a fresh optimiser and schedule (a warm start, e.g. to
    continue a time-budgeted run in a later session, or to fine-tune on other data).

    Raises :class:`RelnetError` for bad data, an empty training split, a diverged (NaN/inf) loss or a
    refused checkpoint, and :class:`~relnet.errors.Interrupted` after SIGINT/SIGTERM (see
    :class:`StopOnSignal`). ``note`` receives one-line messages (default: stderr)."""
    if init_weights is not None and resume:
        raise RelnetError("--init-weights starts a new run from saved weights; --resume continues one: give one")
    hardware = hardware or Hardware()
    task = get_task(task_name)
    task.check_model_name(model_name)
    run_dir = Path(run_dir)
    datamodule = RelnetDataModule(
        task,
        data_root,
        config.batch_size,
        config.eval_batch_size,
        seed,
        group_size=config.group_size,
        curriculum=config.curriculum,
    )
    with _naming_the_data_task(task, Path(data_root), "train"):
        config = replace(config, model=task.fit_config(model_name, dict(config.model), data_root, "train"))
        for split in ("train", "val"):
            datamodule.dataset(split)  # validate the data before any process is started
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    old: dict[Path, int] = {}
    if resume:
        _check_resume(checkpoint, task_name, model_name)
    else:
        old = {path: path.stat().st_mtime_ns for path in sorted(checkpoint.parent.glob("*.ckpt"))}
        if old:
            note(
                f"{run_dir} holds an earlier run's checkpoints ({', '.join(p.name for p in old)}): this new run "
                "replaces them once it has saved its own first checkpoint (to continue the old run, use --resume)"
            )
    L.seed_everything(seed, workers=True, verbose=False)
    module = RelnetModule.from_config(task_name, model_name, config, seed)
    if init_weights is not None:
        _warm_start(module, Path(init_weights))
    if config.compile is not None:
        module.model.compile(mode=config.compile)  # in place: the state dict keeps its names
    stopper = StopOnSignal(checkpoint)
    extra = [*(callbacks or []), stopper, *([_ReplaceOldCheckpoints(checkpoint, old)] if old else [])]
    trainer = build_trainer(
        hardware=hardware,
        precision=config.precision,
        run_dir=run_dir,
        max_epochs=config.epochs,
        progress=progress,
        grad_clip=config.grad_clip,
        extra_callbacks=extra,
        resuming=resume,
        train_fraction=config.train_fraction,
        time_budget=config.time_budget,
    )
    start = time.perf_counter()
    with stopper:
        try:
            # weights_only: a checkpoint holds tensors and plain data only (see _check_resume).
            trainer.fit(module, datamodule=datamodule, ckpt_path=str(checkpoint) if resume else None, weights_only=True)
        except MisconfigurationException as error:  # e.g. a train fraction below one batch: a user error
            raise RelnetError(f"cannot train with these settings: {shorten(str(error), 300)}") from None
    wall = time.perf_counter() - start
    kept_epoch = module.keep_weights(config.keep)
    weights = run_dir / "model.safetensors"
    if trainer.is_global_zero:
        save_weights(weights, task_name, model_name, dict(config.model), module.model)
    if stopper.received is not None:
        # The signal came during the last validation, after the last step: the run is complete.
        name = signal.Signals(stopper.received).name
        raise Interrupted(stopper.received, f"{name} came as training ended: the run is complete, weights in {weights}")
    val_metrics = module.last_metrics.get("val", {})
    return TrainOutcome(
        module, val_metrics, weights, run_dir, wall, trainer.is_global_zero, kept_epoch, trainer.global_step
    )


def _warm_start(module: RelnetModule, path: Path) -> None:
    header = read_header(path)
    if (header["task"], header["model"]) != (module.task.name, module.model_name):
        raise RelnetError(
            f"{path}: weights of {header['task']} model {header['model']!r}, "
            f"not of {module.task.name} model {module.model_name!r}"
        )
    load_state(path, module.model, module.model_name)


def evaluate(
    module: RelnetModule,
    data_root: Path,
    split: str = "test",
    *,
    hardware: Hardware | None = None,
    precision: str | None = None,
    progress: bool = True,
    recalibrate_batch_norm: bool = False,
) -> dict[str, float]:
    """The task's metrics for ``module`` on one split of ``data_root``.

    With ``recalibrate_batch_norm``, batch-norm statistics are first recomputed on the dataset's
    training split (for weights saved without exact statistics)."""
    task = module.task
    if split not in task.splits:
        raise RelnetError(f"unknown split {split!r} for {task.name}; choose one of {', '.join(task.splits)}")
    datamodule = RelnetDataModule(
        task, data_root, module.config.batch_size, module.config.eval_batch_size, test_split=split
    )
    with _naming_the_data_task(task, Path(data_root), split):
        _check_fit(module, data_root, split)
        datamodule.dataset(split)
    stopper = StopOnSignal()
    trainer = build_trainer(
        hardware=hardware or Hardware(),
        precision=precision or module.config.precision,
        run_dir=None,
        progress=progress,
        extra_callbacks=[stopper],
    )
    if recalibrate_batch_norm:
        module.trainer = trainer  # the precision plugin's autocast context comes from the trainer
        module.recalibrate_batch_norm(datamodule.dataset("train"))
    with stopper:
        trainer.test(module, datamodule=datamodule, verbose=False)
    return module.last_metrics["test"]


def _check_fit(module: RelnetModule, data_root: Path, split: str) -> None:
    """The model's config must be what the task derives from the data (e.g. its image size).

    A key the saved config lacks (weights saved before the key was recorded) means the constructor's
    default, which is what the model was built with."""
    task, saved = module.task, dict(module.config.model)
    expected = task.fit_config(module.model_name, dict(saved), data_root, split)
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(task.models[module.model_name]).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    ours = {key: saved.get(key, defaults.get(key)) for key in expected}
    differences = [
        f"{key} is {ours[key]} in the model but {theirs} in the data"
        for key, theirs in expected.items()
        if ours[key] != theirs
    ]
    if differences:
        raise RelnetError(
            f"the {module.model_name} model does not fit {data_root} ({split}): " + ", ".join(differences)
        )


def module_from_weights(
    path: Path, *, expect_task: str | None = None, options: dict[str, Any] | None = None
) -> RelnetModule:
    """A :class:`RelnetModule` around the model saved in ``path`` (``options``: see :func:`load_model`)."""
    header, model = load_model(path, expect_task=expect_task, options=options)
    config = TrainConfig(epochs=1, model=header["config"])
    return RelnetModule.from_config(header["task"], header["model"], config, model=model.train())
