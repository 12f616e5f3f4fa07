"""A map-style dataset over columns of tensors, fetched a whole batch at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch.utils.data import Dataset

Batch = dict[str, torch.Tensor]


class TensorTable(Dataset):
    """Rows of aligned tensors, plus columns looked up through an index column.

    ``columns`` all have the same first dimension (one row per example). ``lookups`` maps an output
    name to ``(index_column, table)``: the example's value is ``table[columns[index_column][row]]``
    (e.g. each question's image, stored once per image rather than once per question).

    ``__getitems__`` gathers a whole batch with one indexing operation per column, so a DataLoader
    with ``collate_fn=TensorTable.collate`` does no per-example Python work.
    """

    def __init__(
        self, columns: Mapping[str, torch.Tensor], lookups: Mapping[str, tuple[str, torch.Tensor]] | None = None
    ) -> None:
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"columns have different lengths: {lengths}")
        self.columns = dict(columns)
        self.lookups = dict(lookups or {})
        for name, (index_column, _) in self.lookups.items():
            if index_column not in self.columns:
                raise ValueError(f"lookup {name!r} refers to missing index column {index_column!r}")
        self._length = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, row: int) -> Batch:
        return {name: values[0] for name, values in self.__getitems__([row]).items()}

    def __getitems__(self, rows: Sequence[int]) -> Batch:
        index = torch.as_tensor(rows, dtype=torch.long)
        batch = {name: values[index] for name, values in self.columns.items()}
        for name, (index_column, table) in self.lookups.items():
            batch[name] = table[batch[index_column]]
        return batch

    @staticmethod
    def collate(batch: Batch) -> Batch:
        """The identity: ``__getitems__`` already returns a collated batch."""
        return batch
