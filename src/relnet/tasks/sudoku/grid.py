"""Sudoku geometry: cells, units, peers and the 1,620-edge constraint graph, as constant index arrays.

Cells are numbered 0..80 in row-major order (cell = 9·row + column). A grid is 81 digits with 0 for a
blank, the same order as the 81-character strings of the CSV files.
"""

from __future__ import annotations

import numpy as np
import torch

SIZE = 9
CELLS = SIZE * SIZE
ROW = np.arange(CELLS) // SIZE  # (81,)
COLUMN = np.arange(CELLS) % SIZE  # (81,)
BOX = (ROW // 3) * 3 + COLUMN // 3  # (81,)


def _units() -> np.ndarray:
    """``(27, 9)`` cell indices: the 9 rows, then the 9 columns, then the 9 boxes."""
    return np.concatenate([np.argsort(key, kind="stable").reshape(SIZE, SIZE) for key in (ROW, COLUMN, BOX)])


UNITS = _units()
#: ``(81, 3)``: the row, column and box unit of every cell (indices into ``UNITS``).
CELL_UNITS = np.stack([ROW, SIZE + COLUMN, 2 * SIZE + BOX], axis=1)
#: ``(81, 81)`` bool: cells sharing a row, column or box, a cell not being its own peer.
PEER_MATRIX = ((ROW[:, None] == ROW) | (COLUMN[:, None] == COLUMN) | (BOX[:, None] == BOX)) & ~np.eye(CELLS, dtype=bool)
#: ``(81, 20)``: the 20 peers of every cell, ascending.
PEERS = np.stack([np.flatnonzero(row) for row in PEER_MATRIX])


def sudoku_edges() -> torch.Tensor:
    """The RRN's graph: ``(2, 1620)`` long, an edge ``i -> j`` for every ordered pair of peers.

    Each pair appears once even when two cells share both a row (or column) and a box: the duplicate
    edges of a graph built unit by unit were a known bug of a public port.
    """
    senders, receivers = np.nonzero(PEER_MATRIX)
    return torch.from_numpy(np.stack([senders, receivers]).astype(np.int64))
