"""Training and evaluation, shared by every task and by the CLI."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from relnet.errors import RelnetError
from relnet.runtime import auto_precision
from relnet.tasks import TrainConfig, get_task
from relnet.training.data import RelnetDataModule
from relnet.training.module import RelnetModule
from relnet.training.weights import load_model, load_state, read_header, save_weights


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


def _quiet_lightning() -> None:
    for pattern in (".*does not have many workers.*", ".*LeafSpec.*", ".*treespec.*", ".*isinstance.*LeafSpec.*"):
        warnings.filterwarnings("ignore", message=pattern)


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
    callbacks: list[L.Callback] = list(extra_callbacks or [])
    loggers: list[Any] | bool = False
    if run_dir is not None:
        # save_top_k=1 without a monitor keeps the newest epoch's checkpoint and copies it to last.ckpt
        # after every validation. (With save_top_k=0, Lightning >= 2.4 writes last.ckpt only when
        # training ends normally, so a killed run could not be resumed.)
        callbacks.append(ModelCheckpoint(dirpath=run_dir / "checkpoints", save_last=True, save_top_k=1))
        version = ""
        if resuming:
            version = f"resume-{sum(1 for p in (run_dir / 'logs').glob('resume-*')) + 1}"
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
            enable_progress_bar=progress,
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
    if not checkpoint.is_file():
        raise RelnetError(f"cannot resume: no checkpoint at {checkpoint}")
    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as error:
        raise RelnetError(f"cannot resume: {checkpoint} is not a readable checkpoint ({error})") from None
    params = saved.get("hyper_parameters", {}) if isinstance(saved, dict) else {}
    if (params.get("task"), params.get("model_name")) != (task, model_name):
        raise RelnetError(
            f"cannot resume: {checkpoint} is a checkpoint of {params.get('task')!r} model "
            f"{params.get('model_name')!r}, not {task!r} model {model_name!r}"
        )


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
) -> TrainOutcome:
    """Train ``model_name`` on ``data_root`` with ``config``; save ``run_dir/model.safetensors``.

    ``init_weights``: start from the model saved in that weights file (same task, model and shapes)
    instead of a fresh initialisation, with a fresh optimiser and schedule (a warm start, e.g. to
    continue a time-budgeted run in a later session, or to fine-tune on other data)."""
    if init_weights is not None and resume:
        raise RelnetError("--init-weights starts a new run from saved weights; --resume continues one: give one")
    hardware = hardware or Hardware()
    task = get_task(task_name)
    task.check_model_name(model_name)
    run_dir = Path(run_dir)
    config = replace(config, model=task.fit_config(model_name, dict(config.model), data_root, "train"))
    datamodule = RelnetDataModule(
        task, data_root, config.batch_size, config.eval_batch_size, seed, group_size=config.group_size
    )
    for split in ("train", "val"):
        datamodule.dataset(split)  # validate the data before any process is started
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    if resume:
        _check_resume(checkpoint, task_name, model_name)
    else:
        for old in checkpoint.parent.glob("*.ckpt"):  # a fresh run must not mix with an old run's files
            old.unlink()
    L.seed_everything(seed, workers=True, verbose=False)
    module = RelnetModule.from_config(task_name, model_name, config, seed)
    if init_weights is not None:
        _warm_start(module, Path(init_weights))
    trainer = build_trainer(
        hardware=hardware,
        precision=config.precision,
        run_dir=run_dir,
        max_epochs=config.epochs,
        progress=progress,
        grad_clip=config.grad_clip,
        extra_callbacks=callbacks,
        resuming=resume,
        train_fraction=config.train_fraction,
        time_budget=config.time_budget,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(checkpoint) if resume else None)
    wall = time.perf_counter() - start
    kept_epoch = module.keep_weights(config.keep)
    weights = run_dir / "model.safetensors"
    if trainer.is_global_zero:
        save_weights(weights, task_name, model_name, dict(config.model), module.model)
    return TrainOutcome(
        module,
        module.last_metrics.get("val", {}),
        weights,
        run_dir,
        wall,
        trainer.is_global_zero,
        kept_epoch,
        trainer.global_step,
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
    expected = task.fit_config(module.model_name, dict(module.config.model), data_root, split)
    if expected != dict(module.config.model):
        differences = {
            key: (module.config.model.get(key), value)
            for key, value in expected.items()
            if module.config.model.get(key) != value
        }
        raise RelnetError(
            f"the {module.model_name} model does not fit {data_root} ({split}): "
            + ", ".join(
                f"{key} is {ours} in the model but {theirs} in the data" for key, (ours, theirs) in differences.items()
            )
        )
    datamodule = RelnetDataModule(
        task, data_root, module.config.batch_size, module.config.eval_batch_size, test_split=split
    )
    datamodule.dataset(split)
    trainer = build_trainer(
        hardware=hardware or Hardware(), precision=precision or module.config.precision, run_dir=None, progress=progress
    )
    if recalibrate_batch_norm:
        module.trainer = trainer  # the precision plugin's autocast context comes from the trainer
        module.recalibrate_batch_norm(datamodule.dataset("train"))
    trainer.test(module, datamodule=datamodule, verbose=False)
    return module.last_metrics["test"]


def module_from_weights(path: Path, *, expect_task: str | None = None) -> RelnetModule:
    """A :class:`RelnetModule` around the model saved in ``path``."""
    header, model = load_model(path, expect_task=expect_task)
    config = TrainConfig(epochs=1, model=header["config"])
    return RelnetModule.from_config(header["task"], header["model"], config, model=model.train())
