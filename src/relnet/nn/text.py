"""Text encoders: word embedding + LSTM over padded token sequences (bAbI sentences, CLEVR questions)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class SequenceEncoder(nn.Module):
    """Embeds padded token ids and runs an LSTM; returns each sequence's final hidden state.

    Args:
        vocab_size: number of token ids (id ``padding_idx`` pads).
        embed_dim: word embedding size.
        hidden_dim: LSTM units (the output size).
        num_layers: stacked LSTM layers; the output is the top layer's final state.
        padding_idx: the padding id; padding may sit anywhere after the tokens of a row.

    Shapes:
        tokens ``(N, L)`` long → ``(N, hidden_dim)`` float32. A row of only padding encodes to zeros.
        The LSTM runs on packed sequences, so padding never enters it.
    """

    def __init__(
        self, vocab_size: int, embed_dim: int, hidden_dim: int, *, num_layers: int = 1, padding_idx: int = 0
    ) -> None:
        super().__init__()
        self.padding_idx = padding_idx
        self.hidden_dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(N, L)`` token ids → ``(N, hidden_dim)`` final LSTM states (zeros for empty rows)."""
        if tokens.dim() != 2:
            raise ValueError(f"tokens must have shape (N, L), got {tuple(tokens.shape)}")
        lengths = (tokens != self.padding_idx).sum(dim=1)
        output = torch.zeros(tokens.shape[0], self.hidden_dim, device=tokens.device)
        filled = (lengths > 0).nonzero().squeeze(1)
        if filled.numel() == 0:
            return output
        embedded = self.embedding(tokens[filled]).float()
        packed = pack_padded_sequence(embedded, lengths[filled].cpu(), batch_first=True, enforce_sorted=False)
        # The LSTM runs in fp32 even under autocast: small recurrent matmuls gain nothing from bf16
        # (on CPU they are ~3x slower) and lose precision over the steps.
        with torch.autocast(tokens.device.type, enabled=False):
            _, (hidden, _) = self.lstm(packed)
        return output.index_copy(0, filled, hidden[-1])

    def forward_distinct(self, tokens: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Like :meth:`forward`, but each distinct ``key`` is encoded once.

        ``keys`` ``(N,)`` long identifies the rows (equal keys ⇒ equal token rows, e.g. sentence ids);
        texts repeat a lot (bAbI: a few thousand distinct sentences), so this saves most of the LSTM
        work. Returns ``(N, hidden_dim)``.
        """
        distinct, inverse = torch.unique(keys, return_inverse=True)
        # Any row of each key will do: scatter writes one of them per distinct key.
        representative = torch.empty_like(distinct).scatter_(
            0, inverse, torch.arange(keys.shape[0], device=keys.device)
        )
        return self.forward(tokens[representative])[inverse]
