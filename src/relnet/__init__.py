"""relnet: Relation Networks, Recurrent Relational Networks and their benchmarks, in PyTorch."""

__version__ = "0.1.0"
