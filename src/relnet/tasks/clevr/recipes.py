"""Training recipes (presets quick / full / gpu / paper) of the CLEVR models, and each preset's data.

Step times that size them (``python benchmarks/clevr_step_times.py``, one EPYC thread, fp32, batch 64):
the question-only LSTM ~30 ms, CNN+LSTM ~140 ms, CNN+LSTM+SA ~150 ms, the pixel RN with a 5-layer CNN
(4×4 = 16 cells) and g 4×128 ~180 ms, the state RN with g 4×128 ~170 ms and with g 4×256 ~450 ms.
"""

from __future__ import annotations

from dataclasses import replace

from relnet.tasks.base import TrainConfig
from relnet.tasks.clevr.generate import GenerateConfig

#: The data each preset generates when no ``--data`` is given. ``quick``: 1,500 scenes rendered
#: straight at the cache's 128×128 (no supersampling), about 3 minutes on 2 cores; ``full``: 100,000
#: scenes rendered straight at 128×128 with 2×2 rays a pixel (the renderer draws the 480×320 view
#: stretched, as a resized real image; 40 images a second on one busy EPYC thread, so about half an
#: hour on 2 cores with the questions), the same scenes and questions as ``states``, so pixel and state
#: models answer the same test questions. ``gpu`` and ``paper`` are meant for the real CLEVR v1.0
#: (``--data``); ``gpu`` generates 10,000 scenes at CLEVR's 480×320 otherwise.
#: ``states``: 100,000 scenes without images (70,000 for training: 700,000 questions, as many as CLEVR's
#: training split; 15,000 each for validation and test), which the state RN's ``full`` recipe trains
#: on; about 9 minutes on a 2-core AVX-512 EPYC. Its first 50,000 (35,000 / 7,500 / 7,500, the
#: scenes of each split by index) are the 50,000-scene set of the earlier runs, on whose 350,000
#: training questions the state RN came to overfit (validation loss rising from 0.19 to 0.22 while
#: the training loss fell to 0.08; docs/clevr.md).
DATA = {
    "quick": GenerateConfig(images=1_500, image_size=(128, 128), supersample=1, workers=2),
    "full": GenerateConfig(images=100_000, image_size=(128, 128), supersample=2, workers=2),
    "gpu": GenerateConfig(images=10_000, workers=8),
    "states": GenerateConfig(images=100_000, render=False, workers=2),
}

_QUICK = TrainConfig(epochs=6, batch_size=64, lr=1e-3, warmup_steps=100, schedule="cosine", group_size=5)
_CPU_CNN = (24,) * 5  # one more stride-2 layer than the paper: 4×4 = 16 cells, 16× fewer pairs than 8×8
#: The full CPU recipe's CNN: the same 4×4 cells, wider, since a cell of 32×32 pixels may hold several
#: objects. A pixel-RN step (g 4×256, batch 64 about 13 images, bf16) took 297 ms on one AVX-512 EPYC
#: thread shared with a training (about 150 ms alone), against 3.9 s with the paper's 8×8 cells
#: (``python benchmarks/clevr_step_times.py --bf16``); the baselines' steps took about 100 ms.
_CPU_FULL_CNN = (32, 64, 64, 128, 128)
#: 4 epochs of the ``full`` data's 700,000 training questions, 43,728 steps: 103 minutes for the pixel
#: RN on one such thread beside another training, about 50 for each baseline (same data, same steps).
_FULL_PIXELS = replace(_QUICK, epochs=4, lr=5e-4, warmup_steps=2000, augment=True)

RECIPES: dict[str, dict[str, TrainConfig]] = {
    # `relnet reproduce clevr --quick`: five models on 10,500 training questions, each a few minutes.
    "quick": {
        "rn": replace(
            _QUICK, augment=True, model={"channels": _CPU_CNN, "g_widths": (128,) * 4, "f_widths": (256, 256)}
        ),
        "rn-state": replace(
            _QUICK,
            epochs=10,
            group_size=1,
            model={"question_dim": 128, "g_widths": (128,) * 4, "f_widths": (256, 256), "f_dropout": 0.0},
        ),
        "cnn-lstm-sa": replace(_QUICK, augment=True, model={"channels": _CPU_CNN}),
        "cnn-lstm": replace(_QUICK, augment=True, model={"channels": _CPU_CNN}),
        "lstm": replace(_QUICK, group_size=1),
    },
    # Hours on a CPU, on the 100,000-scene `full` data (700,000 questions for training).
    "full": {
        "rn": replace(_FULL_PIXELS, model={"channels": _CPU_FULL_CNN, "g_widths": (256,) * 4, "f_widths": (256, 256)}),
        "rn-state": replace(
            _QUICK,
            epochs=20,
            group_size=1,
            lr=5e-4,
            warmup_steps=1000,
            data="states",
            model={"question_dim": 128, "g_widths": (256,) * 4, "f_widths": (256, 512), "f_dropout": 0.02},
        ),
        "cnn-lstm-sa": replace(_FULL_PIXELS, model={"channels": _CPU_FULL_CNN}),
        "cnn-lstm": replace(_FULL_PIXELS, model={"channels": _CPU_FULL_CNN}),
        "lstm": replace(_FULL_PIXELS, augment=False, group_size=1),
    },
    # One GPU, time-boxed: the paper's architectures at batch 256, at most 10 minutes each.
    "gpu": {
        name: replace(recipe, batch_size=256, lr=1e-3, epochs=1000, time_budget=10.0, model={})
        for name, recipe in {
            "rn": replace(_QUICK, augment=True),
            "rn-state": replace(_QUICK, group_size=1),
            "cnn-lstm-sa": replace(_QUICK, augment=True),
            "cnn-lstm": replace(_QUICK, augment=True),
            "lstm": replace(_QUICK, group_size=1),
        }.items()
    },
    # The paper (Supp. B): Adam 2.5e-4 (pixels) and 1e-4 (states), batch 64, the defaults' sizes.
    "paper": {
        "rn": TrainConfig(epochs=100, batch_size=64, lr=2.5e-4, augment=True, group_size=5),
        "rn-state": TrainConfig(epochs=100, batch_size=64, lr=1e-4),
        "cnn-lstm-sa": TrainConfig(epochs=100, batch_size=64, lr=2.5e-4, augment=True, group_size=5),
        "cnn-lstm": TrainConfig(epochs=100, batch_size=64, lr=2.5e-4, augment=True, group_size=5),
        "lstm": TrainConfig(epochs=100, batch_size=64, lr=2.5e-4),
    },
}
