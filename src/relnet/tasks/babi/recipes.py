"""Training recipes (presets quick / full / gpu / paper) of every babi model."""

from __future__ import annotations

from dataclasses import replace

from relnet.tasks.base import TrainConfig

PAPER_G = (256, 256, 256, 256)
PAPER_F = (256, 512)

_QUICK_MODEL = {
    "rn": {"g_widths": (128, 128, 128), "f_widths": (128, 256)},
    "mlrn": {"layers": ((128,), (128,), (128,)), "f_widths": (128, 256)},
    "rrn": {
        "hidden_dim": 64,
        "message_widths": (64, 64),
        "node_widths": (64, 64),
        "output_widths": (64,),
        "question_in_nodes": True,
        "init": "tensorflow",
    },
}
_PAPER_MODEL = {
    "rn": {"g_widths": PAPER_G, "f_widths": PAPER_F},
    "mlrn": {"layers": ((256, 256), (256, 256), (256, 256)), "f_widths": PAPER_F},
    # The RRN paper's sizes are the defaults; its position tags are 40 slots with a random offset, and
    # its nodes see the question as well as their statement (its edges carry the question too). Its
    # weights start from TensorFlow's defaults, as the authors' did: +3.9 points on the quick recipe.
    "rrn": {"position_slots": 40, "random_offset": True, "question_in_nodes": True, "init": "tensorflow"},
}

# Precision "auto": bf16 on GPUs and bf16-capable CPUs, fp32 elsewhere (bf16 is ~9x slower on AVX2 CPUs).
# The papers' architectures with a faster schedule (warm-up, higher peak rate, cosine decay).
_FULL = TrainConfig(epochs=30, batch_size=64, lr=5e-4, warmup_steps=1000, schedule="cosine", grad_clip=5.0)
# One GPU, time-boxed: the papers' architectures at batch 256 (four times the samples per kernel
# launch, which is what bounds a GPU at bAbI's sizes) and twice the peak rate, for at most
# 10 minutes each; the cosine decay follows the clock (TrainConfig.time_budget).
_GPU = replace(_FULL, epochs=200, batch_size=256, lr=1e-3, warmup_steps=300, time_budget=10.0)
# One pass over the generated en-10k train split (180k questions, 2,812 steps) with a narrower model:
# about half an hour per model on a shared 2-core CPU, enough to show learning.
_QUICK = TrainConfig(epochs=1, batch_size=64, lr=1e-3, warmup_steps=200, schedule="cosine")
# The papers' recipes: Adam 2e-4 (RN and RRN), constant rate, many epochs.
_PAPER = TrainConfig(epochs=200, batch_size=64, lr=2e-4)

RECIPES: dict[str, dict[str, TrainConfig]] = {
    "quick": {name: replace(_QUICK, model=model) for name, model in _QUICK_MODEL.items()},
    "full": {name: replace(_FULL, model=model) for name, model in _PAPER_MODEL.items()},
    "gpu": {name: replace(_GPU, model=model) for name, model in _PAPER_MODEL.items()},
    # The RRN paper adds L2 1e-4 on its fully connected weights (TrainConfig.weight_decay's scope).
    "paper": {
        name: replace(_PAPER, model=model, weight_decay=1e-4 if name == "rrn" else 0.0)
        for name, model in _PAPER_MODEL.items()
    },
}
