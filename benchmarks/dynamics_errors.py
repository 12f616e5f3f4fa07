"""Which connections does a dynamics connection model miss? Recall per kind, and springs by visibility.

    python benchmarks/dynamics_errors.py --weights results/dynamics/rn.safetensors --data data/dynamics

On one split (validation by default) it prints the share of rods and of springs the model finds (the
two logits of a pair averaged, above 0), the unconnected pairs it marks, and the springs' recall by how
visibly each spring acts: the largest departure of the two balls' distance from the best quadratic in
time (a free pair's distance is close to a quadratic between bounces; a spring's oscillates). If the
missed springs were the invisible ones, the data, not the model, would be the limit.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch

from relnet.tasks.dynamics.generator import read_split
from relnet.tasks.dynamics.simulator import ROD, SPRING
from relnet.tasks.dynamics.task import load_table
from relnet.training import module_from_weights

BINS = (0.0, 0.01, 0.02, 0.04, np.inf)


def distance_departure(positions: np.ndarray, first: int, second: int) -> float:
    """Largest gap between the pair's distance over the frames and its least-squares quadratic."""
    distance = np.linalg.norm(positions[:, first] - positions[:, second], axis=-1)
    time = np.arange(len(distance), dtype=np.float64)
    fitted = np.polyval(np.polyfit(time, distance, 2), time)
    return float(np.abs(distance - fitted).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", required=True, help="a dynamics connection model (rn or mlp)")
    parser.add_argument("--data", default="data/dynamics")
    parser.add_argument("--split", default="val")
    args = parser.parse_args()
    model = module_from_weights(args.weights).eval()
    table = load_table(Path(args.data), args.split)
    with torch.no_grad():
        logits = torch.cat(
            [
                model.model(table.__getitems__(list(range(s, min(len(table), s + 500)))))
                for s in range(0, len(table), 500)
            ]
        )
    found = ((logits + logits.transpose(1, 2)) / 2 > 0).numpy()
    split = read_split(Path(args.data), args.split)
    positions = split.positions.astype(np.float64)
    upper = np.triu_indices(split.kinds.shape[1], 1)
    kinds, marked = split.kinds[:, upper[0], upper[1]], found[:, upper[0], upper[1]]  # (N, 45) each
    for kind, name in ((ROD, "rod"), (SPRING, "spring")):
        print(f"{name}s found: {100 * marked[kinds == kind].mean():.1f}% of {(kinds == kind).sum()}")
    print(f"unconnected pairs marked: {(marked & (kinds == 0)).sum()} of {(kinds == 0).sum()}")
    scenes, pairs = np.nonzero(kinds == SPRING)
    departures = np.array(
        [distance_departure(positions[s], upper[0][p], upper[1][p]) for s, p in zip(scenes, pairs, strict=True)]
    )
    spring_hits = marked[scenes, pairs]
    for low, high in itertools.pairwise(BINS):
        inside = (departures >= low) & (departures < high)
        if inside.any():
            print(
                f"springs whose distance departs {low:.2f}-{high:.2f} from a quadratic: "
                f"{inside.sum()} ({100 * inside.mean():.1f}%), found {100 * spring_hits[inside].mean():.1f}%"
            )


if __name__ == "__main__":
    main()
