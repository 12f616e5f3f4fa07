from __future__ import annotations

import torch
from torch import nn

from relnet.training.batchnorm import recalibrate_batch_norm


def test_statistics_become_the_exact_average_and_weights_stay() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    batches = [torch.randn(5, 3, 8, 8) * (k + 1) + k for k in range(3)]
    weights = model[0].weight.clone()
    assert recalibrate_batch_norm(model, batches) == 3
    features = [model[0](batch) for batch in batches]
    expected_mean = torch.stack([f.mean(dim=(0, 2, 3)) for f in features]).mean(0)
    expected_var = torch.stack([f.var(dim=(0, 2, 3), unbiased=True) for f in features]).mean(0)
    torch.testing.assert_close(model[1].running_mean, expected_mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model[1].running_var, expected_var, atol=1e-4, rtol=1e-4)
    assert torch.equal(model[0].weight, weights)
    assert not model.training and model[1].momentum == 0.1


def test_models_without_batch_norm_are_untouched() -> None:
    assert recalibrate_batch_norm(nn.Linear(2, 2), [torch.randn(1, 2)]) == 0
