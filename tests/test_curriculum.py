from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from relnet.data import TensorTable
from relnet.errors import RelnetError
from relnet.tasks.base import TrainConfig
from relnet.training.curriculum import CurriculumSampler
from relnet.training.data import RelnetDataModule


def _values() -> torch.Tensor:
    return torch.arange(200) % 8  # e.g. the number of jumps of 200 questions


def test_each_epoch_draws_only_its_stage_then_everything() -> None:
    values = _values()
    sampler = CurriculumSampler(values, [(1,), (0, 1)], batch_size=16)
    full_pass = 200 // 16 * 16
    seen = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler))
        assert len(order) == len(sampler) == full_pass  # every epoch as long as a plain one
        seen.append(set(values[order].tolist()))
    assert seen == [{1}, {0, 1}, set(range(8))]
    sampler.set_epoch(2)
    assert len(set(sampler)) == full_pass  # past the stages: one pass over everything, no repeats


def test_a_small_stage_repeats_in_fresh_orders_and_the_order_is_seeded() -> None:
    values = _values()
    sampler = CurriculumSampler(values, [(3,)], batch_size=10)
    order = sampler.order()
    admitted = set(torch.nonzero(values == 3).flatten().tolist())  # 25 examples for 200 draws
    assert set(order.tolist()) == admitted
    assert torch.equal(order[:25].sort().values, torch.tensor(sorted(admitted)))  # a whole pass first
    assert not torch.equal(order[:25], order[25:50])
    assert torch.equal(order, CurriculumSampler(values, [(3,)], batch_size=10).order())
    assert not torch.equal(order, CurriculumSampler(values, [(3,)], batch_size=10, seed=1).order())


def test_processes_share_the_epoch_without_overlap() -> None:
    values = _values()
    shards = [list(CurriculumSampler(values, [(0, 1, 2)], batch_size=8, rank=r, world=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1])
    whole = CurriculumSampler(values, [(0, 1, 2)], batch_size=8, world=2).order().tolist()
    assert sorted(shards[0] + shards[1]) == sorted(whole)


def test_bad_curricula_are_refused() -> None:
    with pytest.raises(RelnetError, match="no training example"):
        CurriculumSampler(_values(), [(9,)], batch_size=8)
    with pytest.raises(RelnetError, match="curriculum stage"):
        TrainConfig(epochs=2, curriculum=((1,), ()))
    with pytest.raises(RelnetError, match="cannot be combined"):
        TrainConfig(epochs=2, curriculum=((1,),), group_size=4)


@pytest.mark.parametrize(
    ("column", "message"),
    [(None, "declares no curriculum_column"), ("steps", "'steps' is not a column")],
)
def test_the_data_module_names_a_task_that_cannot_have_a_curriculum(column: str | None, message: str) -> None:
    table = TensorTable({"jumps": _values(), "answer": torch.zeros(200, dtype=torch.long)})
    task = SimpleNamespace(name="toy", curriculum_column=column, group_column=None, load=lambda root, split: table)
    module = RelnetDataModule(task, Path("."), batch_size=8, eval_batch_size=8, curriculum=((1,),))  # type: ignore[arg-type]
    with pytest.raises(RelnetError, match=message):
        module.train_dataloader()
    task.curriculum_column = "jumps"
    batch = next(iter(RelnetDataModule(task, Path("."), 8, 8, curriculum=((1,),)).train_dataloader()))  # type: ignore[arg-type]
    assert set(batch["jumps"].tolist()) == {1}
