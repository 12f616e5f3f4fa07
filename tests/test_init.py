"""relnet.nn.tensorflow_init_: TensorFlow 1.x's default initialisation, layer by layer."""

from __future__ import annotations

import math

import torch
from torch import nn

from relnet.nn import tensorflow_init_


def test_glorot_weights_zero_biases_and_a_forget_bias_of_one() -> None:
    torch.manual_seed(0)
    model = nn.ModuleDict(
        {
            "linear": nn.Linear(30, 50),
            "conv": nn.Conv2d(3, 8, 5),
            "lstm": nn.LSTM(4, 6),
            "cell": nn.LSTMCell(4, 6),
            "words": nn.Embedding(10, 7, padding_idx=0),
        }
    )
    assert tensorflow_init_(model) is model
    bounds = {"linear": math.sqrt(6 / (30 + 50)), "conv": math.sqrt(6 / (3 * 25 + 8 * 25))}
    for name, bound in bounds.items():
        weight = model[name].weight
        assert 0.9 * bound < weight.abs().max() <= bound, name  # Glorot-uniform fills its whole range
        assert (model[name].bias == 0).all(), name
    for bias_ih, bias_hh in (
        (model["lstm"].bias_ih_l0, model["lstm"].bias_hh_l0),
        (model["cell"].bias_ih, model["cell"].bias_hh),
    ):
        gates = bias_ih.view(4, 6)  # input, forget, cell, output
        assert (gates[1] == 1).all() and (gates[[0, 2, 3]] == 0).all() and (bias_hh == 0).all()
    words = model["words"].weight
    assert (words[0] == 0).all() and words[1:].abs().max() <= math.sqrt(6 / (10 + 7))


def test_initialise_names_its_schemes() -> None:
    import pytest

    from relnet.nn import initialise_

    torch.manual_seed(0)
    layer = nn.Linear(3, 4)
    before = layer.weight.clone()
    assert initialise_(layer, "torch") is layer and torch.equal(layer.weight, before)
    initialise_(layer, "tensorflow")
    assert (layer.bias == 0).all()
    with pytest.raises(ValueError, match="init must be one of 'torch', 'tensorflow', not 'glorot'"):
        initialise_(layer, "glorot")
