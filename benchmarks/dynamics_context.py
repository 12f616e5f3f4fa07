"""Give dynamics state-RN weights a context layer (``context_widths``) without changing their function.

    python benchmarks/dynamics_context.py --weights results/dynamics/rn.safetensors --widths 256,256 \\
        --out /tmp/rn-context.safetensors

The new model appends to each ball's row ``c_i = mean_j g_c(o_i, o_j)`` from a fresh context layer. Its
RN's first layer gains columns for ``c_i`` and ``c_j``, set to zero, so the widened model computes
exactly what the old one did (checked on validation scenes) and training starts from the old model's
accuracy; the context layer's output starts to matter as soon as those columns move off zero.
The new weights load into a recipe whose model config has the same ``context_widths``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from relnet.tasks.dynamics.models import MODELS
from relnet.tasks.dynamics.task import load_table
from relnet.training.weights import load_model, save_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", required=True, help="rn or rn-count weights without a context layer")
    parser.add_argument("--widths", required=True, help="the context layer's g widths, e.g. 256,256")
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default="data/dynamics", help="a folder whose validation split checks it")
    args = parser.parse_args()
    header, old = load_model(Path(args.weights), expect_task="dynamics")
    name, config = header["model"], dict(header["config"])
    if name not in ("rn", "rn-count") or config.get("context_widths"):
        raise SystemExit(f"{args.weights}: {name!r} weights; expected rn or rn-count without a context layer")
    config["context_widths"] = [int(width) for width in args.widths.split(",")]
    torch.manual_seed(0)
    new = MODELS[name](**config)
    state = old.state_dict()
    weight = state["relation.g_first.weight"]  # (h, 2d): [o_i; o_j]
    d, extra = weight.shape[1] // 2, config["context_widths"][-1]
    zeros = weight.new_zeros(weight.shape[0], extra)
    state["relation.g_first.weight"] = torch.cat([weight[:, :d], zeros, weight[:, d:], zeros], dim=1)
    state |= {key: value for key, value in new.state_dict().items() if key.startswith("context.")}
    new.load_state_dict(state)
    batch = load_table(Path(args.data), "val").__getitems__(list(range(256)))
    old.eval(), new.eval()
    with torch.no_grad():
        before, after = old(batch), new(batch)
    difference = (before - after).abs().max().item()
    if not torch.allclose(before, after, rtol=1e-4, atol=1e-4):
        raise SystemExit(f"the widened model's logits differ by {difference:.2e}: not the same function")
    save_weights(Path(args.out), "dynamics", name, config, new)
    print(f"{args.out}: context_widths {config['context_widths']}, max logit difference {difference:.1e}")


if __name__ == "__main__":
    main()
