"""Pure ``torch.nn`` modules for relational reasoning: no task, file format, Lightning or CLI knowledge."""

from relnet.nn.attention import StackedAttention
from relnet.nn.baselines import ConvMLP, ConvStackedAttention
from relnet.nn.frames import FrameObjects
from relnet.nn.init import initialise_, tensorflow_init_
from relnet.nn.mlp import MLP
from relnet.nn.mlrn import MultiLayerRelationNetwork
from relnet.nn.objects import ConvObjects, ObjectRows, conv_stack, coordinate_grid, pad_objects
from relnet.nn.pairs import PairwiseMLP
from relnet.nn.reference import mlrn_reference, relation_network_reference
from relnet.nn.relation import RelationNetwork
from relnet.nn.rrn import RecurrentRelationalNetwork
from relnet.nn.text import SequenceEncoder

__all__ = [
    "MLP",
    "ConvMLP",
    "ConvObjects",
    "ConvStackedAttention",
    "FrameObjects",
    "MultiLayerRelationNetwork",
    "ObjectRows",
    "PairwiseMLP",
    "RecurrentRelationalNetwork",
    "RelationNetwork",
    "SequenceEncoder",
    "StackedAttention",
    "conv_stack",
    "coordinate_grid",
    "initialise_",
    "mlrn_reference",
    "pad_objects",
    "relation_network_reference",
    "tensorflow_init_",
]
