"""Training recipes (presets quick / full / gpu / paper) of every sort-of-clevr model."""

from __future__ import annotations

from dataclasses import replace

from relnet.tasks.base import TrainConfig

PIXEL_CNN = (32, 64, 128, 256)
QUICK_CNN = (24, 24, 24, 24)
PAPER_G = (2000, 2000, 2000, 2000)
PAPER_F = (2000, 1000, 500, 100)
# The `gpu` preset's common settings: batch 256 in runs of 4 questions per image, at most 10 minutes.
_GPU = TrainConfig(
    epochs=500, batch_size=256, lr=5e-4, warmup_steps=500, schedule="cosine", group_size=4, time_budget=10.0
)
# What the quick and full presets share, and each model's quick shape.
_CPU = TrainConfig(epochs=2, batch_size=64, lr=1e-3, warmup_steps=1000, schedule="cosine")
_QUICK_PIXEL = replace(_CPU, train_fraction=0.75, warmup_steps=200, group_size=4)
_RN_QUICK = {"channels": QUICK_CNN, "g_widths": (64,) * 4, "f_widths": (256, 256)}
_STATE = {"g_widths": (256,) * 4, "f_widths": (256, 256)}
_PAPER = TrainConfig(epochs=100, batch_size=64, lr=1e-4)

RECIPES: dict[str, dict[str, TrainConfig]] = {
    # Fits the 15-minute main job on a 2-core CPU without bf16 hardware (fp32): data, three models,
    # evaluation. The paper's CLEVR-sized CNN (4×24 channels) and a narrow g keep a step near 80 ms;
    # runs of 4 questions per image let the CNN encode each image once for 4 questions. Both pixel
    # models see the same 1.5 epochs of data through the same CNN shape.
    "quick": {
        "rn": replace(_QUICK_PIXEL, model=_RN_QUICK),
        "cnn-mlp": replace(_QUICK_PIXEL, model={"channels": QUICK_CNN, "widths": (256,) * 4}),
        "rn-state": replace(_CPU, epochs=1, warmup_steps=300, model=_STATE),
    },
    # relnet's recommended recipe: the paper's architecture shape at a width a CPU trains in hours.
    # The pixel RN keeps the quick model (the paper's 4×24 CLEVR CNN, g 4×64: 25 ms a step on one
    # AVX-512 BF16 thread, 80 ms in fp32 on 2 AVX2 cores) and trains it 40 epochs: 51 minutes on one
    # AVX-512 thread, about 3 hours on the AVX2 machine.
    "full": {
        # Its colour plateau (RESULTS.md) lasts 15 epochs, whatever was tried to shorten it; the
        # 15-epoch recipe before this one stopped inside it (73.9 / 70.3). With 40 epochs
        # non-relational accuracy jumps from 66% to 95% at epochs 15-17 and relational climbs after
        # it: 83.9 / 99.1 on test.
        "rn": replace(_CPU, epochs=40, group_size=4, model=_RN_QUICK),
        "cnn-mlp": replace(_CPU, epochs=10, model={"channels": PIXEL_CNN, "widths": (256,) * 4}),
        # Without augmentation it fits the 9,800 training scenes and stalls at 98.6% relational
        # (validation loss rising from epoch 20 of 40); the scenes' mirror images and axis swaps
        # give it 8 views of each.
        "rn-state": replace(_CPU, epochs=25, augment=True, model=_STATE),
    },
    # One GPU, time-boxed (TrainConfig.time_budget: at most 10 minutes, the cosine decay following the
    # clock): the paper's CNN with g 4×256, the width public ports leave the colour-binding plateau
    # with, at batch 256 (a GPU is bound by kernel launches at this size, not by arithmetic).
    "gpu": {
        "rn": replace(_GPU, model={"channels": PIXEL_CNN, "g_widths": (256,) * 4, "f_widths": (256, 256)}),
        "cnn-mlp": replace(_GPU, model={"channels": PIXEL_CNN, "widths": (256,) * 4}),
        "rn-state": replace(_GPU, lr=1e-3, group_size=1, augment=True, model=_STATE),
    },
    # The paper's exact sizes and optimiser (Supp. D): g 4×2000, f 2000/1000/500/100, Adam 1e-4.
    "paper": {
        "rn": replace(_PAPER, model={"channels": PIXEL_CNN, "g_widths": PAPER_G, "f_widths": PAPER_F}),
        "cnn-mlp": replace(_PAPER, model={"channels": PIXEL_CNN, "widths": PAPER_G + PAPER_F}),
        "rn-state": replace(_PAPER, model={"g_widths": PAPER_G, "f_widths": PAPER_F}),
    },
}
