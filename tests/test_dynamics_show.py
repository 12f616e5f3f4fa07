"""``relnet show`` for dynamics models: scenes' trajectories with true and predicted connections (PNG) and
one scene animated (GIF), on a tiny generated folder with tiny untrained weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from relnet.cli import main
from relnet.tasks.dynamics.generator import DynamicsOptions, generate
from relnet.tasks.dynamics.models import MODELS
from relnet.training.weights import save_weights

TINY = DynamicsOptions(train_size=4, val_size=6, test_size=2, frame_size=16)
CONFIGS = {
    "rn": {"g_widths": (16,), "f_widths": (16,), "colour": "onehot", "readout": "pairs"},
    "rn-count": {"g_widths": (16,), "f_widths": (16,)},
    "rn-frames": {"frame_size": 16, "channels": (8,), "embed_dim": 8, "g_widths": (16,), "f_widths": (16,)},
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny dataset with 16×16 frames, the same without frames, and untrained weights of three models."""
    base = tmp_path_factory.mktemp("dynamics-show")
    generate(base / "tiny", seed=3, options=TINY)
    generate(base / "no-frames", seed=3, options=DynamicsOptions(train_size=2, val_size=2, test_size=2, frame_size=0))
    for name, config in CONFIGS.items():
        torch.manual_seed(0)
        save_weights(base / f"{name}.safetensors", "dynamics", name, config, MODELS[name](**config))
    return {"base": base, "data": base / "tiny", "no-frames": base / "no-frames"}


def _show(folders: dict[str, Path], model: str, out: Path, questions: str = "0,1,2", *extra: str) -> list[str]:
    weights = str(folders["base"] / f"{model}.safetensors")
    data = str(folders["data"])
    return ["show", "--weights", weights, "--data", data, "--questions", questions, "--out", str(out), *extra]


@pytest.mark.parametrize("model", ["rn", "rn-count", "rn-frames"])
def test_show_draws_a_png_per_model(capsys, tmp_path: Path, folders: dict[str, Path], model: str) -> None:
    out = tmp_path / f"{model}.png"
    assert main([*_show(folders, model, out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "task": "dynamics",
        "model": model,
        "out": str(out),
        "questions": [0, 1, 2],
    }
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as picture:
        assert picture.width > 1000 and picture.height > 400  # three panels side by side


def test_show_animates_the_first_scene_as_a_small_gif(tmp_path: Path, folders: dict[str, Path]) -> None:
    out = tmp_path / "scene.gif"
    assert main(_show(folders, "rn", out, "4,0")) == 0
    assert out.read_bytes()[:6] == b"GIF89a" and out.stat().st_size < 1_000_000
    with Image.open(out) as picture:
        assert picture.n_frames == 16 and picture.info["loop"] == 0


class _Fixed(nn.Module):
    """Connection logits: the truth (±4) of each scene, with some bits flipped."""

    def __init__(self, flips: list[tuple[int, int, int]]) -> None:
        super().__init__()
        self.flips = flips

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = batch["connections"] * 8 - 4
        for row, i, j in self.flips:
            logits[row, i, j] = -logits[row, i, j]
        return logits


def test_panels_mark_right_missed_and_false_connections(monkeypatch, folders: dict[str, Path]) -> None:
    """A pair is green only when both of its bits are right; a missed pair is solid red, a false one dashed
    red, a pair predicted in one order only is wrong; the titles count bits as ``relnet eval`` does."""
    import relnet.viz.dynamics
    from relnet.cli.show import _dynamics
    from relnet.tasks.dynamics.generator import read_split

    data = read_split(folders["data"], "val")
    scene = next(index for index in range(len(data)) if data.kinds[index].any())
    i, j = (int(ball) for ball in torch.nonzero(torch.from_numpy(data.kinds[scene])).tolist()[0])
    free = next((a, b) for a in range(10) for b in range(a + 1, 10) if not data.kinds[scene, a, b])
    # row 0: one connection missed (both bits), one false (both bits), one false in one order only.
    flips = [(0, i, j), (0, j, i), (0, *free), (0, free[1], free[0])]
    other = next((a, b) for a in range(10) for b in range(a + 1, 10) if not data.kinds[scene, a, b] and (a, b) != free)
    flips.append((0, *other))
    drawn = {}

    def capture(panels, path, **options):
        drawn["panels"], drawn["legend"] = panels, options["legend"]
        return path

    monkeypatch.setattr(relnet.viz.dynamics, "draw_scenes", capture)
    _dynamics("fixed", _Fixed(flips), folders["data"], "val", [scene, scene], Path("unused.png"))
    wrong, right = drawn["panels"]
    assert right["title"].startswith(f"scene {scene}: 100/100 bits right (all right)")
    assert all(pair["true"] and pair["predicted"] and pair["right"] for pair in right["pairs"])
    assert wrong["title"].startswith(f"scene {scene}: 95/100 bits right (wrong)")
    pairs = {pair["balls"]: pair for pair in wrong["pairs"]}
    assert pairs[(min(i, j), max(i, j))] | {"probability": None} == {
        "balls": (min(i, j), max(i, j)),
        "kind": {1: "spring", 2: "rod"}[int(data.kinds[scene, i, j])],
        "true": True,
        "predicted": False,
        "right": False,
        "probability": None,
    }
    assert pairs[free]["true"] is False and pairs[free]["predicted"] and not pairs[free]["right"]
    assert pairs[other]["predicted"] and not pairs[other]["right"] and pairs[other]["probability"] == 0.5
    assert len(pairs) == int((data.kinds[scene] > 0).sum()) // 2 + 2
    assert "dashed: predicted by fixed" in drawn["legend"]


def _one_line_error(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0, err


def test_show_errors_are_one_line(capsys, tmp_path: Path, folders: dict[str, Path]) -> None:
    out = tmp_path / "x.png"
    _one_line_error(capsys, _show(folders, "rn", out, "0,6"), "scene indices [6] are out of range: val has 6 scenes")
    _one_line_error(capsys, _show(folders, "rn", out, "-1"), "scene indices [-1] are out of range")
    _one_line_error(capsys, _show(folders, "rn", tmp_path / "x.txt"), "cannot draw into")
    _one_line_error(capsys, _show(folders, "rn", tmp_path / "x.txt"), "choose .gif")
    frames = _show(folders, "rn-frames", out, "0")
    frames[frames.index("--data") + 1] = str(folders["no-frames"])
    _one_line_error(capsys, frames, "rn-frames reads the rendered frames")
    assert not out.exists() and not (tmp_path / "x.txt").exists()
