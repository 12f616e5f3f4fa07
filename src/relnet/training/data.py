"""One LightningDataModule for every task: loads the task's splits, batches them deterministically."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from relnet.data import TensorTable
from relnet.errors import RelnetError
from relnet.tasks import Task
from relnet.training.curriculum import CurriculumSampler


class GroupedShuffleSampler(Sampler[int]):
    """A seeded training order in which examples of the same group come in runs of ``group_size``.

    Sort-of-CLEVR has 20 questions per image; when runs of ``group_size`` questions share an image,
    a model can encode each image once per batch instead of once per question (a batch of 64 holds
    64 / group_size images). Each epoch: shuffle the examples, cut every group into runs of at most
    ``group_size``, shuffle the runs, then deal whole batches to the ``world`` processes in turn
    (dropping the incomplete tail). The order depends only on ``(seed, epoch)``, like
    ``DistributedSampler``'s, so a resumed or multi-device run reproduces it.

    Args:
        groups: ``(N,)`` integer group of every example (e.g. its image index).
    """

    def __init__(
        self, groups: torch.Tensor, group_size: int, batch_size: int, seed: int = 0, rank: int = 0, world: int = 1
    ) -> None:
        if group_size < 1:
            raise ValueError(f"group_size must be at least 1, got {group_size}")
        self.groups = groups.long()
        self.group_size, self.batch_size = group_size, batch_size
        self.seed, self.rank, self.world = seed, rank, world
        self.epoch = 0
        self.batches_per_rank = len(groups) // (batch_size * world)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> torch.Tensor:
        """This epoch's order of all examples (before sharding): ``(N,)``."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        count = len(self.groups)
        shuffled = torch.randperm(count, generator=generator)
        # A stable sort by group keeps the shuffled order inside each group.
        by_group = shuffled[torch.sort(self.groups[shuffled], stable=True).indices]
        sorted_groups = self.groups[by_group]
        position = torch.arange(count) - torch.searchsorted(sorted_groups, sorted_groups)
        run = position // self.group_size
        starts = torch.ones(count, dtype=torch.bool)
        starts[1:] = (sorted_groups[1:] != sorted_groups[:-1]) | (run[1:] != run[:-1])
        run_id = starts.cumsum(0) - 1
        run_rank = torch.randperm(int(run_id[-1]) + 1, generator=generator)[run_id]
        return by_group[torch.argsort(run_rank * self.group_size + position % self.group_size)]

    def __iter__(self):
        batches = self.order()[: self.batches_per_rank * self.world * self.batch_size].view(-1, self.batch_size)
        return iter(batches[self.rank :: self.world].flatten().tolist())

    def __len__(self) -> int:
        return self.batches_per_rank * self.batch_size


class SkipFirst(Sampler[int]):
    """``sampler`` whose next pass starts ``skip`` examples in (later passes are whole).

    A run stopped in the middle of an epoch resumes with the batches it would have trained on next;
    the length stays the whole epoch's, so the loops count the epoch's batches as before."""

    def __init__(self, sampler: Sampler[int], skip: int) -> None:
        self.sampler, self.skip = sampler, skip

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[int]:
        skip, self.skip = self.skip, 0
        return itertools.islice(iter(self.sampler), skip, None)

    def __len__(self) -> int:
        return len(self.sampler)  # type: ignore[arg-type]


class RelnetDataModule(L.LightningDataModule):
    """Train/val/test loaders for ``task`` from the dataset folder ``root``.

    Training order is a seeded shuffle that depends only on ``(seed, epoch)`` and is sharded across
    processes (the Trainer must run with ``use_distributed_sampler=False``): resuming, or running
    on N devices, reproduces it.
    """

    def __init__(
        self,
        task: Task,
        root: Path,
        batch_size: int,
        eval_batch_size: int,
        seed: int = 0,
        test_split: str = "test",
        group_size: int = 1,
        curriculum: Sequence[Sequence[int]] = (),
    ) -> None:
        super().__init__()
        self.group_size, self.curriculum = group_size, curriculum
        self.test_split = test_split
        self.task, self.root = task, Path(root)
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self._datasets: dict[str, Dataset] = {}
        #: Batches of the current epoch already trained, recorded in a checkpoint saved mid-epoch (see
        #: ``relnet.training.run.StopOnSignal``); a run resumed from it skips them.
        self.batches_done = 0

    def state_dict(self) -> dict[str, Any]:
        return {"batches_done": self.batches_done}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.batches_done = int(state_dict.get("batches_done", 0))

    def dataset(self, split: str) -> Dataset:
        if split not in self._datasets:
            self._datasets[split] = self.task.load(self.root, split)
        return self._datasets[split]

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def train_dataloader(self) -> DataLoader:
        dataset = self.dataset("train")
        rank, world = self._world()
        sampler: Sampler[int]
        if self.curriculum:
            column = self.task.curriculum_column
            if column is None:
                raise RelnetError(
                    f"{self.task.name} declares no curriculum_column, so its recipes cannot have a curriculum"
                )
            columns = dataset.columns  # type: ignore[attr-defined]
            if column not in columns:
                raise RelnetError(
                    f"{self.task.name}'s curriculum_column {column!r} is not a column of its training table"
                )
            sampler = CurriculumSampler(columns[column], self.curriculum, self.batch_size, self.seed, rank, world)
        elif self.group_size > 1 and self.task.group_column is not None:
            groups = dataset.columns[self.task.group_column]  # type: ignore[attr-defined]
            sampler = GroupedShuffleSampler(groups, self.group_size, self.batch_size, self.seed, rank, world)
        else:
            sampler = DistributedSampler(
                dataset, num_replicas=world, rank=rank, shuffle=True, seed=self.seed, drop_last=True
            )
        if self.batches_done:
            sampler, self.batches_done = SkipFirst(sampler, self.batches_done * self.batch_size), 0
        loader = DataLoader(
            dataset, batch_size=self.batch_size, sampler=sampler, drop_last=True, collate_fn=TensorTable.collate
        )
        if len(loader) == 0:
            processes = f" on each of {world} processes" if world > 1 else ""
            raise RelnetError(
                f"{self.root}: nothing to train on: the training split has {len(dataset)} examples, fewer than "
                f"one batch of {self.batch_size}{processes}; lower --batch-size (or use fewer devices)"
            )
        return loader

    def eval_dataloader(self, split: str) -> DataLoader:
        dataset = self.dataset(split)
        rank, world = self._world()
        # Process ``rank`` of ``world`` takes every world-th example: unlike ``DistributedSampler``'s
        # padding, nothing is duplicated, so metrics gathered from all processes are exact.
        shard = range(rank, len(dataset), world)
        return DataLoader(dataset, batch_size=self.eval_batch_size, sampler=shard, collate_fn=TensorTable.collate)

    def val_dataloader(self) -> DataLoader:
        return self.eval_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self.eval_dataloader(self.test_split)
