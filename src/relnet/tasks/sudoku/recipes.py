"""Training recipes (presets quick / full / gpu / paper) of the Sudoku models."""

from __future__ import annotations

from dataclasses import replace

from relnet.tasks.base import TrainConfig

_QUICK_MODEL = {"embed_dim": 16, "hidden_dim": 64, "mlp_layers": 2, "steps": 8, "eval_steps": 32}
QUICK = TrainConfig(
    epochs=1, batch_size=32, lr=1e-3, warmup_steps=30, schedule="cosine", eval_batch_size=256, model=_QUICK_MODEL
)
# The paper exactly (§3.2 of papers.md): embeddings 16, hidden 96, 3-layer MLPs, LSTM, 32 training
# and 64 test steps, Adam 2e-4 with L2 1e-4, batch 64. Meant for a GPU on Palm-sized data.
_PAPER_MODEL = {"embed_dim": 16, "hidden_dim": 96, "mlp_layers": 3, "steps": 32, "eval_steps": 64}
PAPER = TrainConfig(epochs=40, batch_size=64, lr=2e-4, weight_decay=1e-4, eval_batch_size=512, model=_PAPER_MODEL)
# One GPU, time-boxed: the paper's network at batch 128 for at most 10 minutes, the cosine decay
# following the clock (TrainConfig.time_budget). A step is 32 rounds of small kernels, so a GPU
# is bound by launches and a larger batch costs little extra time.
_GPU = replace(
    PAPER, epochs=1000, batch_size=128, lr=1e-3, warmup_steps=300, schedule="cosine", grad_clip=5.0, time_budget=10.0
)

RECIPES: dict[str, dict[str, TrainConfig]] = {
    # A 2-core CPU in about 20 minutes: a smaller RRN (64 wide, 2-layer MLPs) for fewer steps. (Batch
    # 16 at lr 2e-3 with clipping, for twice the updates, did worse: 21.8% vs 25.7% of val cells.)
    "quick": {"rrn": QUICK},
    # The quick network for 12 epochs: about 70 minutes of one CPU thread, and 56.5% of the test grids
    # solved (results/sudoku/quick-12-epochs, run as `--quick --epochs 12`, the same recipe). The
    # paper's network is the `gpu` and `paper` presets': on a CPU it takes hours an epoch.
    "full": {"rrn": replace(QUICK, epochs=12)},
    "gpu": {"rrn": _GPU},
    "paper": {"rrn": PAPER},
}
