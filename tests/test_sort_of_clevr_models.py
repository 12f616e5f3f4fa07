"""The pixel models run forward and backward at small widths, chunked RN included; shapes are right."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from relnet.tasks import get_task

SMALL = {
    "rn": {"channels": (8, 8, 8, 8), "g_widths": (16, 16), "f_widths": (16,), "pair_chunk_size": 7},
    "cnn-mlp": {"channels": (8, 8, 8, 8), "widths": (16, 16)},
    "rn-state": {"g_widths": (16, 16), "f_widths": (16,), "reduction": "mean"},
}


@pytest.mark.parametrize("model_name", list(SMALL))
def test_forward_backward(model_name: str, tiny_sort_of_clevr: Path) -> None:
    task = get_task("sort-of-clevr")
    batch = task.load(tiny_sort_of_clevr, "train").__getitems__(list(range(12)))
    model = task.build_model(model_name, SMALL[model_name])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(batch)
    assert logits.shape == (12, 12)
    task.loss(logits, batch).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_pixel_rn_chunked_equals_unchunked(tiny_sort_of_clevr: Path) -> None:
    task = get_task("sort-of-clevr")
    batch = task.load(tiny_sort_of_clevr, "val").__getitems__(list(range(5)))
    chunked = task.build_model("rn", SMALL["rn"]).eval()
    whole = task.build_model("rn", {**SMALL["rn"], "pair_chunk_size": None}).eval()
    whole.load_state_dict(chunked.state_dict())
    torch.testing.assert_close(chunked(batch), whole(batch), atol=1e-5, rtol=1e-4)
