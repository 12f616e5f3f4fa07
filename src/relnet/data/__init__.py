"""Task-independent data helpers shared by every task package."""

from relnet.data.tables import TensorTable

__all__ = ["TensorTable"]
