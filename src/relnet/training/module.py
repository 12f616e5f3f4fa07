"""One LightningModule for every task: the task supplies the model, the loss and the metrics."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import lightning as L
import torch
import torch.distributed as dist
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from relnet.errors import RelnetError
from relnet.tasks import TrainConfig, get_task
from relnet.tasks.base import Batch, Records
from relnet.training.batchnorm import batch_norm_layers, recalibrate_batch_norm

#: Training checks that its loss is finite every this many steps (and before every validation and
#: checkpoint): checking every step would make a GPU wait for each step's loss.
FINITE_CHECK_STEPS = 16
#: A record each evaluated batch adds beside the task's: are the example's outputs finite?
_FINITE = "_relnet_finite_output"


class RelnetModule(L.LightningModule):
    """Trains and evaluates ``task``'s model ``model_name`` with the recipe ``train_config``.

    Validation and test collect the task's per-example records over the whole split (gathered from
    every process under DDP) and log the task's metrics as ``val/<metric>`` / ``test/<metric>``.
    """

    def __init__(
        self, task: str, model_name: str, train_config: dict[str, Any], seed: int = 0, model: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model"])
        self.task = get_task(task)
        self.model_name = model_name
        self.config = TrainConfig(**train_config)
        if self.config.augment and self.task.augment is None:
            raise RelnetError(f"{task} has no training augmentation; train without it (--no-augment)")
        self.model = model if model is not None else self.task.build_model(model_name, dict(self.config.model))
        self.seed = seed
        self._records: dict[str, list[Records]] = {"val": [], "test": []}
        self.last_metrics: dict[str, dict[str, float]] = {}
        # The best validated epoch so far: its 1-based number, its val metrics and a CPU copy of
        # the weights. Kept in checkpoints, so a resumed run still knows it.
        self.best: dict[str, Any] | None = None
        # A time-budgeted run's clock (TrainConfig.time_budget): seconds of training when warm-up
        # ended (kept in checkpoints), and the fraction of the rest of the budget used so far.
        self._warmup_seconds: float | None = None
        self._budget_progress = 0.0
        self._warned_warmup = False
        # Steps whose loss was NaN or infinite since the last check, counted on the device.
        self._nonfinite_steps: torch.Tensor | None = None

    @classmethod
    def from_config(
        cls, task: str, model_name: str, config: TrainConfig, seed: int = 0, model: nn.Module | None = None
    ) -> RelnetModule:
        return cls(task, model_name, asdict(config), seed, model)

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.model(batch)

    # -- training ---------------------------------------------------------------------------
    def on_train_batch_start(self, batch: Batch, batch_index: int) -> None:
        # Dropout and any other randomness depend only on (seed, step, rank), not on how much of the
        # global RNG stream the loops consumed before, so a resumed run continues exactly as the
        # uninterrupted run would have.
        torch.manual_seed(self.seed * 1_000_003 + self.global_step * 1_009 + self.global_rank)
        if self.config.time_budget is not None:
            self._read_budget_clock()

    def _read_budget_clock(self) -> None:
        """Update the share of the time budget used since warm-up ended, which the cosine follows.

        Every rank takes rank 0's clock, so their learning rates stay equal under DDP."""
        elapsed = self._budget_timer().time_elapsed("train")
        if self.trainer.world_size > 1:
            elapsed = float(self.trainer.strategy.broadcast(elapsed, src=0))
        budget = 60.0 * self.config.time_budget
        if self._warmup_seconds is None:
            if self.global_step < self.config.warmup_steps:
                if elapsed > budget / 2 and not self._warned_warmup:
                    self._warned_warmup = True
                    rank_zero_warn(
                        f"warm-up ({self.config.warmup_steps} steps) has used half the time budget; "
                        "lower --warmup-steps or raise --time-budget"
                    )
                return
            self._warmup_seconds = elapsed
        self._budget_progress = (elapsed - self._warmup_seconds) / max(budget - self._warmup_seconds, 1e-6)

    def training_step(self, batch: Batch, batch_index: int) -> torch.Tensor:
        if self.config.augment:
            batch = self.task.augment(batch)
        loss = self.task.loss(self.model(batch), batch)
        bad = (~torch.isfinite(loss.detach())).sum()
        self._nonfinite_steps = bad if self._nonfinite_steps is None else self._nonfinite_steps + bad
        self.log("train/loss", loss, prog_bar=True, batch_size=self._batch_size(batch))
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Batch, batch_index: int) -> None:
        if (batch_index + 1) % FINITE_CHECK_STEPS == 0:
            self.check_finite_training()

    def on_train_end(self) -> None:
        self.check_finite_training()

    def check_finite_training(self) -> None:
        """Raise :class:`RelnetError` if a loss since the last check was NaN or infinite (on any process).

        A diverged run must stop: its weights are NaN from then on, and NaN outputs would still give an
        "accuracy" (the argmax of NaN is class 0)."""
        bad = self._nonfinite_steps is not None and bool(self._nonfinite_steps.item())
        self._nonfinite_steps = None
        if self.trainer.strategy.reduce_boolean_decision(bad, all=False):
            raise RelnetError(
                f"training diverged: the loss became NaN or infinite by step {self.global_step} "
                f"(epoch {self.current_epoch + 1}); lower the learning rate (--lr {self.config.lr:g}) or clip "
                "gradients; no weights were saved"
            )

    def parameter_groups(self) -> list[dict[str, Any]]:
        """The model's parameters grouped by learning rate (``TrainConfig.lr_scale``, by name prefix)
        and by weight decay: ``TrainConfig.weight_decay`` applies to the weights of linear and
        convolution layers only, as TensorFlow's ``weights_regularizer`` in the papers' code; biases,
        normalisation, embeddings and recurrent cells are not decayed."""
        scales = self.config.lr_scale
        names = [name for name, _ in self.model.named_parameters()]
        unknown = [prefix for prefix in scales if not any(self._has_prefix(name, prefix) for name in names)]
        if unknown:
            raise RelnetError(f"lr_scale names no parameters of {self.model_name}: {', '.join(unknown)}")
        decayed = {
            id(module.weight)
            for module in self.model.modules()
            if isinstance(module, (torch.nn.Linear, torch.nn.modules.conv._ConvNd))
        }
        groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
        for name, parameter in self.model.named_parameters():
            factor = next((scales[p] for p in scales if self._has_prefix(name, p)), 1.0)
            decay = self.config.weight_decay if id(parameter) in decayed else 0.0
            groups.setdefault((factor, decay), []).append(parameter)
        return [
            {"params": params, "lr": self.config.lr * factor, "weight_decay": decay}
            for (factor, decay), params in groups.items()
        ]

    @staticmethod
    def _has_prefix(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameter_groups(), lr=self.config.lr)
        total_steps = max(1, int(self.trainer.estimated_stepping_batches))
        warmup, schedule = self.config.warmup_steps, self.config.schedule  # checked by TrainConfig

        budgeted = self._budget_timer() is not None  # fails early when the Trainer has no max_time

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            if schedule == "constant":
                return 1.0
            progress = (step - warmup) / max(1, total_steps - warmup)
            if budgeted:  # decay over the time budget's rest when it ends before the epochs do
                progress = max(progress, self._budget_progress)
            return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def _budget_timer(self) -> Timer | None:
        """The clock of the recipe's time budget: Lightning's ``max_time`` timer, which a resumed run
        restores, so the schedule picks up where the interrupted run was."""
        if self.config.time_budget is None:
            return None
        timer = next((c for c in self.trainer.callbacks if isinstance(c, Timer)), None)
        if timer is None:
            raise RelnetError("a time-budgeted recipe needs a Trainer with max_time (see build_trainer)")
        return timer

    # -- evaluation -------------------------------------------------------------------------
    def validation_step(self, batch: Batch, batch_index: int) -> None:
        self._evaluate_batch("val", batch)

    def test_step(self, batch: Batch, batch_index: int) -> None:
        self._evaluate_batch("test", batch)

    def on_validation_epoch_start(self) -> None:
        if self.trainer.state.fn == "fit":
            self.check_finite_training()  # before this epoch is validated and checkpointed
            self.recalibrate_batch_norm(self.trainer.datamodule.dataset("train"))

    def recalibrate_batch_norm(self, dataset: Any, batches: int = 32) -> None:
        """Exact batch-norm statistics over fixed batches of ``dataset`` (the same on every rank)."""
        if not batch_norm_layers(self.model):
            return
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed))
        size = self.config.batch_size
        chunks = [order[start : start + size].tolist() for start in range(0, min(len(order), batches * size), size)]

        def forward(indices: list[int]) -> None:
            batch = {name: value.to(self.device) for name, value in dataset.__getitems__(indices).items()}
            with self.trainer.precision_plugin.forward_context():
                self.model(batch)

        recalibrate_batch_norm(self.model, chunks, forward)

    def on_validation_epoch_end(self) -> None:
        self._log_split_metrics("val")
        if self.trainer.state.fn == "fit" and "val" in self.last_metrics:
            self._remember_if_best(self.last_metrics["val"], self.current_epoch + 1)

    def _batch_size(self, batch: Batch) -> int:
        return len(batch[self.task.target])

    def _remember_if_best(self, metrics: dict[str, float], epoch: int) -> None:
        """Keep these weights if their metrics beat the best so far (each metric's direction counts)."""
        key = self.task.selection_key(metrics)
        if self.best is not None and key <= tuple(self.best["key"]):
            return
        weights = {name: tensor.detach().to("cpu", copy=True) for name, tensor in self.model.state_dict().items()}
        self.best = {"key": key, "epoch": epoch, "val": dict(metrics), "weights": weights}

    def keep_weights(self, keep: str) -> int | None:
        """Put the kept epoch's weights in the model (``"best"``: the best validated epoch; ``"last"``:
        unchanged) and its val metrics in ``last_metrics``; returns that epoch's number, or None when
        the last weights stay (``"last"``, or no epoch was validated)."""
        if keep != "best" or self.best is None:
            return None
        self.model.load_state_dict(self.best["weights"])
        self.last_metrics["val"] = dict(self.best["val"])
        return int(self.best["epoch"])

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["relnet_best"] = self.best
        checkpoint["relnet_warmup_seconds"] = self._warmup_seconds

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.best = checkpoint.get("relnet_best")
        self._warmup_seconds = checkpoint.get("relnet_warmup_seconds")

    def on_test_epoch_end(self) -> None:
        self._log_split_metrics("test")

    def _evaluate_batch(self, stage: str, batch: Batch) -> None:
        output = self.model(batch)
        self.log(f"{stage}/loss", self.task.loss(output, batch), batch_size=self._batch_size(batch), sync_dist=True)
        records = dict(self.task.records(output, batch))
        if isinstance(output, torch.Tensor):
            records[_FINITE] = torch.isfinite(output.detach()).reshape(len(output), -1).all(dim=1)
        self._records[stage].append({name: value.detach().cpu() for name, value in records.items()})

    def _log_split_metrics(self, stage: str) -> None:
        parts = self._records[stage]
        self._records[stage] = []
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # Every rank joins the gather, even one that saw no batches, so none waits forever.
            gathered: list[list[Records] | None] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, parts)
            parts = [part for rank_parts in gathered if rank_parts for part in rank_parts]
        if not parts:
            return
        records = {name: torch.cat([part[name] for part in parts]) for name in parts[0]}
        finite = records.pop(_FINITE, None)
        if finite is not None and not bool(finite.all()):
            # Identical on every process after the gather: all of them stop.
            raise RelnetError(
                f"the model's outputs are NaN or infinite on {int((~finite).sum())} of the {len(finite)} examples "
                "evaluated: its weights are broken (e.g. by a diverged training); no metrics reported"
            )
        metrics = self.task.summarize(records)
        self.last_metrics[stage] = metrics
        headline = set(self.task.headline_metrics)
        for name, value in metrics.items():
            if math.isnan(value):
                continue  # a metric this model has none of (e.g. a counting model's connections)
            # Identical on every rank after the gather, so callbacks may monitor them under DDP too.
            self.log(f"{stage}/{name}", value, prog_bar=name in headline)
