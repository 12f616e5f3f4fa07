"""The Sudoku RRN of Palm et al. (2018): 81 cells, 1,620 peer edges, a digit distribution per cell per step."""

from __future__ import annotations

import torch
from torch import nn

from relnet.nn import RecurrentRelationalNetwork
from relnet.tasks.sudoku.grid import COLUMN, ROW, sudoku_edges

DIGITS = 10  # logits for 0..9; 0 (blank) is never a target, it only keeps digits and indices equal


class SudokuRRN(nn.Module):
    """Cell inputs are embeddings of the cell's digit (0 = blank), row and column, concatenated.

    Args:
        embed_dim: size of each of the three embeddings (paper: 16).
        hidden_dim: node state and message size (paper: 96).
        mlp_layers: ReLU layers of the input, message and node MLPs, each followed by a linear
            layer (paper: 3).
        steps: message-passing steps in training (paper: 32).
        eval_steps: steps in evaluation mode (paper: 64).

    Batch keys: ``quiz`` ``(B, 81)`` integer digits → logits ``(B, T, 81, 10)``, one distribution per
    cell after every step (``T`` = ``steps`` in training mode, ``eval_steps`` in eval mode).
    """

    def __init__(
        self, embed_dim: int = 16, hidden_dim: int = 96, mlp_layers: int = 3, steps: int = 32, eval_steps: int = 64
    ) -> None:
        super().__init__()
        self.steps, self.eval_steps = steps, eval_steps
        self.digit = nn.Embedding(DIGITS, embed_dim)
        self.row = nn.Embedding(9, embed_dim)
        self.column = nn.Embedding(9, embed_dim)
        widths = (hidden_dim,) * mlp_layers
        self.rrn = RecurrentRelationalNetwork(
            3 * embed_dim,
            hidden_dim,
            DIGITS,
            input_widths=widths,
            message_widths=widths,
            node_widths=widths,
            output_widths=(),
            update="lstm",
            readout="node",
            steps=steps,
        )
        # Constant index tensors: buffers follow the model's device but stay out of the weights file.
        self.register_buffer("edges", sudoku_edges(), persistent=False)
        self.register_buffer("rows", torch.from_numpy(ROW).long(), persistent=False)
        self.register_buffer("columns", torch.from_numpy(COLUMN).long(), persistent=False)

    def embed(self, quiz: torch.Tensor) -> torch.Tensor:
        """``(B, 81)`` digits → ``(B, 81, 3·embed_dim)`` node inputs."""
        position = torch.cat([self.row(self.rows), self.column(self.columns)], dim=-1)  # (81, 2e)
        digits = self.digit(quiz.long())
        return torch.cat([digits, position.expand(len(quiz), -1, -1)], dim=-1)

    def forward(self, batch: dict[str, torch.Tensor], steps: int | None = None) -> torch.Tensor:
        return self.rrn(self.embed(batch["quiz"]), self.edges, steps=self._steps(steps))

    def reference_forward(self, batch: dict[str, torch.Tensor], steps: int | None = None) -> torch.Tensor:
        """The same network with plain per-edge concatenation messages (for benchmarks and tests)."""
        return self.rrn.reference_forward(self.embed(batch["quiz"]), self.edges, steps=self._steps(steps))

    def _steps(self, steps: int | None) -> int:
        return (self.steps if self.training else self.eval_steps) if steps is None else steps


MODELS: dict[str, type[nn.Module]] = {"rrn": SudokuRRN}
