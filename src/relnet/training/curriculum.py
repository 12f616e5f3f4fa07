"""Easy examples first: a training order that admits more of the training set epoch by epoch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

from relnet.errors import RelnetError


class CurriculumSampler(Sampler[int]):
    """A seeded training order that, in epoch ``e``, draws only examples whose ``values`` lie in
    ``stages[e]`` (every example once ``e`` is past the last stage).

    An epoch keeps the length of a full pass (``len(values)`` rounded down to whole batches), so the
    learning-rate schedule, the time budget and the progress count are those of the plain recipe: a
    stage with a small part of the data repeats it, each pass in a fresh order. The order depends
    only on ``(seed, epoch)`` and whole batches are dealt to the ``world`` processes in turn, as in
    :class:`relnet.training.data.GroupedShuffleSampler`, so a resumed or multi-device run repeats it.

    Args:
        values: ``(N,)`` integer column of the training set the stages select by (e.g. the number of
            jumps a question asks for).
        stages: per epoch, the values admitted.
    """

    def __init__(
        self,
        values: torch.Tensor,
        stages: Sequence[Sequence[int]],
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.values = values.long()
        self.stages = [torch.tensor(sorted(stage), dtype=torch.long) for stage in stages]
        for number, stage in enumerate(self.stages):
            if not torch.isin(self.values, stage).any():
                raise RelnetError(
                    f"curriculum stage {number + 1} admits {stage.tolist()}, but no training example has any of them"
                )
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.epoch = 0
        self.batches_per_rank = len(values) // (batch_size * world)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> torch.Tensor:
        """This epoch's examples (before sharding): ``(batches_per_rank * world * batch_size,)``."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        if self.epoch < len(self.stages):
            admitted = torch.nonzero(torch.isin(self.values, self.stages[self.epoch])).flatten()
        else:
            admitted = torch.arange(len(self.values))
        wanted = self.batches_per_rank * self.world * self.batch_size
        passes = -(-wanted // len(admitted))
        order = torch.cat([admitted[torch.randperm(len(admitted), generator=generator)] for _ in range(passes)])
        return order[:wanted]

    def __iter__(self) -> Iterator[int]:
        batches = self.order().view(-1, self.batch_size)
        return iter(batches[self.rank :: self.world].flatten().tolist())

    def __len__(self) -> int:
        return self.batches_per_rank * self.batch_size
