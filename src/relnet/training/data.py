"""One LightningDataModule for every task: loads the task's splits, batches them deterministically."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from relnet.data import TensorTable
from relnet.tasks import Task


class ShardSampler(Sampler[int]):
    """Evaluation order without padding: process ``rank`` of ``world`` takes every world-th example.

    Unlike ``DistributedSampler`` nothing is duplicated, so metrics gathered from all processes are
    exact.
    """

    def __init__(self, length: int, rank: int = 0, world: int = 1) -> None:
        self.indices = range(rank, length, world)

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class RelnetDataModule(L.LightningDataModule):
    """Train/val/test loaders for ``task`` from the dataset folder ``root``.

    Training order is a seeded shuffle that depends only on ``(seed, epoch)`` and is sharded across
    processes (the Trainer must run with ``use_distributed_sampler=False``): resuming, or running
    on N devices, reproduces it.
    """

    def __init__(
        self, task: Task, root: Path, batch_size: int, eval_batch_size: int, seed: int = 0, test_split: str = "test"
    ) -> None:
        super().__init__()
        self.test_split = test_split
        self.task, self.root = task, Path(root)
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self._datasets: dict[str, Dataset] = {}

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
        sampler = DistributedSampler(
            dataset, num_replicas=world, rank=rank, shuffle=True, seed=self.seed, drop_last=True
        )
        return DataLoader(
            dataset, batch_size=self.batch_size, sampler=sampler, drop_last=True, collate_fn=TensorTable.collate
        )

    def eval_dataloader(self, split: str) -> DataLoader:
        dataset = self.dataset(split)
        rank, world = self._world()
        return DataLoader(
            dataset,
            batch_size=self.eval_batch_size,
            sampler=ShardSampler(len(dataset), rank, world),
            collate_fn=TensorTable.collate,
        )

    def val_dataloader(self) -> DataLoader:
        return self.eval_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self.eval_dataloader(self.test_split)
