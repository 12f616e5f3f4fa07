"""Pure ``torch.nn`` modules for relational reasoning: no task, file format, Lightning or CLI knowledge."""

from relnet.nn.baselines import ConvMLP
from relnet.nn.mlp import MLP
from relnet.nn.objects import ConvObjects, ObjectRows, conv_stack, coordinate_grid, pad_objects
from relnet.nn.relation import RelationNetwork
from relnet.nn.rrn import RecurrentRelationalNetwork

__all__ = [
    "MLP",
    "ConvMLP",
    "ConvObjects",
    "ObjectRows",
    "RecurrentRelationalNetwork",
    "RelationNetwork",
    "conv_stack",
    "coordinate_grid",
    "pad_objects",
]
