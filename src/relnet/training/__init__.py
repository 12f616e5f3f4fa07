"""Training glue shared by every task: Lightning module and data module, weights, results."""

from relnet.training.data import RelnetDataModule
from relnet.training.module import RelnetModule
from relnet.training.reproduce import reproduce
from relnet.training.run import Hardware, evaluate, module_from_weights, train
from relnet.training.weights import load_model, save_weights

__all__ = [
    "Hardware",
    "RelnetDataModule",
    "RelnetModule",
    "evaluate",
    "load_model",
    "module_from_weights",
    "reproduce",
    "save_weights",
    "train",
]
