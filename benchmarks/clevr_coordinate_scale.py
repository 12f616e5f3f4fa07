"""Re-express CLEVR state-RN weights for another ``coordinate_scale``, computing the same function.

    python benchmarks/clevr_coordinate_scale.py --weights results/clevr/rn-state.safetensors --scale 3 \\
        --out /tmp/rn-state-scale-3.safetensors

The state RN's first layer reads each object's coordinates (CLEVR's 3D coordinates / 3) times
``coordinate_scale``. Multiplying the scale by ``k`` and dividing the first layer's coordinate weights
by ``k`` leaves every output unchanged (the script checks it on validation questions), but Adam's
steps then move the coordinate part of the first layer ``k`` times faster relative to its size: a
warm start for testing whether sharper spatial steps help counting after a relation. The new weights
load into a recipe whose model config has the new ``coordinate_scale``.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

from relnet.tasks.clevr.dataset import load_table
from relnet.training.weights import load_model, save_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", required=True, help="rn-state weights")
    parser.add_argument("--scale", type=float, required=True, help="the new coordinate_scale")
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default="data/clevr-states", help="a folder whose validation split checks it")
    args = parser.parse_args()
    header, old = load_model(Path(args.weights), expect_task="clevr")
    if header["model"] != "rn-state":
        raise SystemExit(f"{args.weights}: weights of {header['model']!r}, not of rn-state")
    config = dict(header["config"])
    factor = args.scale / config.get("coordinate_scale", 1.0)
    config["coordinate_scale"] = args.scale
    new = copy.deepcopy(old)
    new.coordinate_scale = args.scale
    with torch.no_grad():
        if isinstance(new.objects.embed, torch.nn.Linear):  # the rows' own embedding reads them first
            new.objects.embed.weight[:, :3] /= factor
        else:  # g's first layer over [o_i; o_j; q], coordinates first in each object's part
            weight, d = new.relation.g_first.weight, new.objects.object_dim
            for start in (0, d):
                weight[:, start : start + 3] /= factor
    batch = load_table(Path(args.data), "val").__getitems__(list(range(256)))
    old.eval(), new.eval()
    with torch.no_grad():
        before, after = old(batch), new(batch)
    difference = (before - after).abs().max().item()
    # fp32 rounding only: the logits reach the hundreds, so the tolerance is relative.
    if not torch.allclose(before, after, rtol=1e-4, atol=1e-3):
        raise SystemExit(f"the rescaled model's logits differ by {difference:.2e}: not the same function")
    save_weights(Path(args.out), "clevr", "rn-state", config, new)
    print(f"{args.out}: coordinate_scale {args.scale}, max logit difference {difference:.1e} on 256 questions")


if __name__ == "__main__":
    main()
