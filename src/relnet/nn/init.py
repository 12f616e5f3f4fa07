"""Weight initialisation as TensorFlow 1.x's layers do it, for models ported from TensorFlow code.

PyTorch's ``nn.Linear`` draws weights from ``U(±1/√fan_in)``: with ReLU between layers that shrinks the
activations' variance about sixfold a layer, where TensorFlow's Glorot default shrinks it about twofold.
Deep stacks of small MLPs (an RRN has four of them, applied again at every step) start from far
smaller signals under the PyTorch default. TensorFlow's ``LSTMCell`` also adds 1 to the forget gate's
bias, so the cell keeps its state at the start of training.
"""

from __future__ import annotations

from torch import nn

#: The starting-weight schemes a model may name: PyTorch's layer defaults, or TensorFlow 1.x's.
INIT_SCHEMES = ("torch", "tensorflow")


def tensorflow_init_(module: nn.Module) -> nn.Module:
    """Re-initialise every ``Linear``, convolution, ``LSTM``/``LSTMCell`` and ``Embedding`` in ``module`` in
    place as TensorFlow 1.x's defaults would: Glorot-uniform weights, zero biases, forget-gate bias 1
    (split over PyTorch's two LSTM bias vectors, so their sum is 1). Returns ``module``."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Embedding):
            nn.init.xavier_uniform_(layer.weight)
            if layer.padding_idx is not None:
                layer.weight.data[layer.padding_idx] = 0.0
        elif isinstance(layer, (nn.LSTM, nn.LSTMCell)):
            hidden = layer.hidden_size
            for name, parameter in layer.named_parameters():
                if name.startswith("weight"):
                    # TensorFlow draws the four gates' kernel as one matrix over [input; hidden].
                    nn.init.xavier_uniform_(parameter)
                elif name.startswith("bias"):
                    nn.init.zeros_(parameter)
                    if name.startswith("bias_ih"):  # gates in PyTorch's order: input, forget, cell, output
                        nn.init.ones_(parameter[hidden : 2 * hidden])
    return module


def initialise_(module: nn.Module, scheme: str) -> nn.Module:
    """Apply the starting-weight ``scheme`` (one of :data:`INIT_SCHEMES`) to ``module`` in place:
    ``"torch"`` leaves PyTorch's defaults, ``"tensorflow"`` is :func:`tensorflow_init_`."""
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {', '.join(map(repr, INIT_SCHEMES))}, not {scheme!r}")
    return tensorflow_init_(module) if scheme == "tensorflow" else module
