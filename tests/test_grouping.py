"""Grouped training order (questions of one image together) and encoding each image once."""

from __future__ import annotations

import torch

from relnet.tasks.sort_of_clevr.models import PixelMLP, PixelRelationNetwork
from relnet.training.data import GroupedShuffleSampler


def _groups() -> torch.Tensor:
    # 30 images with 20 questions each, in file order (as Sort-of-CLEVR's table has them).
    return torch.arange(30).repeat_interleave(20)


def test_grouped_order_is_a_seeded_permutation_with_runs_of_one_group() -> None:
    groups = _groups()
    sampler = GroupedShuffleSampler(groups, group_size=4, batch_size=16)
    order = sampler.order()
    assert sorted(order.tolist()) == list(range(len(groups)))  # every example exactly once
    runs = groups[order].view(-1, 4)  # 20 questions per image cut into runs of 4: runs never mix images
    assert bool((runs == runs[:, :1]).all())
    assert len(set(groups[order][:16].tolist())) == 4  # a batch of 16 holds 4 images
    assert torch.equal(order, GroupedShuffleSampler(groups, 4, 16).order())  # same seed, same order
    sampler.set_epoch(1)
    assert not torch.equal(order, sampler.order())  # a new order every epoch


def test_grouped_order_shards_whole_batches_across_processes() -> None:
    groups = _groups()
    shards = [list(GroupedShuffleSampler(groups, 4, 16, seed=3, rank=rank, world=2)) for rank in range(2)]
    assert len(shards[0]) == len(shards[1]) == 600 // 32 * 16
    assert not set(shards[0]) & set(shards[1])


def test_encoding_each_image_once_changes_nothing() -> None:
    torch.manual_seed(0)
    images = torch.randint(0, 256, (3, 40, 40, 3), dtype=torch.uint8)
    image_index = torch.tensor([2, 0, 2, 1, 0, 2])
    batch = {
        "image": images[image_index],
        "image_index": image_index,
        "question": torch.nn.functional.one_hot(torch.arange(6) % 11, 11).float(),
    }
    for model in (
        PixelRelationNetwork(channels=(8, 8, 8, 8), g_widths=(16, 16), f_widths=(16,)),
        PixelMLP(image_size=40, channels=(8, 8, 8, 8), widths=(16, 16)),
    ):
        model.eval()
        without_index = {key: value for key, value in batch.items() if key != "image_index"}
        torch.testing.assert_close(model(batch), model(without_index))
