"""Is the pixel RN's plateau the 25-cell pair grid, or the CNN's cell features? A diagnostic.

    python benchmarks/soc_grid_state.py --data data/sort-of-clevr --steps 1500

Trains the same narrow RN as the quick pixel recipe (g 4×64, f 256/256, Adam 1e-3 unless ``--lr``, batch 64) on
Sort-of-CLEVR's state descriptions, twice, with the same seed and batches:

- ``objects``: one row per object (6 objects, 36 pairs), as the state-description RN;
- ``grid``: the 5×5 cells the pixel RN's CNN produces (625 pairs), each holding the exact colour and
  shape one-hots of the object whose centre lies in it (zeros when none), tagged with the cell's
  centre, as the pixel RN's objects would look if its CNN had already learnt clean features.

Validation accuracy (first 4,000 questions, never test) is printed every 250 steps. If ``grid`` left
the plateau as early as ``objects``, the number of pairs is not what holds the pixel RN back; the CNN's
features are. Results are appended to ``--out`` as JSON.

Three more modes each add one property of the CNN's cells to the exact ``grid``, to see which one
slows the binding down: ``grid-background`` (empty cells share a nonzero feature vector instead of
zeros), ``grid-noise`` (16 features of noise per cell beside the exact ones) and ``grid-spread`` (an
object's one-hots shared among the cells its square overlaps, by overlap, instead of all in the
cell of its centre).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from relnet.nn import RelationNetwork
from relnet.nn.objects import coordinate_grid
from relnet.runtime import device_description
from relnet.tasks.sort_of_clevr.dataset import load_table
from relnet.tasks.sort_of_clevr.format import ALL_SUBTYPES, ANSWERS, COLORS, SHAPES

NON_RELATIONAL = ("query_shape", "query_horizontal", "query_vertical")
GRID = 5


def grid_cells(state: torch.Tensor) -> torch.Tensor:
    """``(B, 6, 10)`` object rows (colour, shape, x, y in [-1, 1]) → ``(B, 25, 10)`` cells: each object's
    one-hots in the cell holding its centre, every cell tagged with the (x, y) in [-1, 1] that
    :func:`relnet.nn.objects.coordinate_grid` gives the pixel RN's cells."""
    batch, features = state.shape[0], len(COLORS) + len(SHAPES)
    cells = torch.zeros(batch, GRID * GRID, state.shape[-1], dtype=state.dtype)
    cells[:, :, features:] = coordinate_grid(GRID, GRID).to(state.dtype)
    column = ((state[..., features] + 1) / 2 * GRID).clamp(0, GRID - 1e-3).long()
    row = ((state[..., features + 1] + 1) / 2 * GRID).clamp(0, GRID - 1e-3).long()
    cells[torch.arange(batch)[:, None], row * GRID + column, :features] = state[..., :features]
    return cells


def spread_cells(state: torch.Tensor, image_size: int = 75, size: int = 10) -> torch.Tensor:
    """Like :func:`grid_cells`, but each object's one-hots are shared among the cells its 10×10-pixel
    square overlaps, in proportion to the overlap, as a CNN cell sees an object that straddles cells."""
    features = len(COLORS) + len(SHAPES)
    centre = (state[..., features:] + 1) / 2 * image_size  # (B, 6, 2) in pixels
    edges = torch.arange(GRID + 1, dtype=state.dtype) * image_size / GRID  # cell borders
    low, high = centre[..., None] - size / 2, centre[..., None] + size / 2  # (B, 6, 2, 1)
    overlap = (torch.minimum(high, edges[1:]) - torch.maximum(low, edges[:-1])).clamp(min=0) / size  # (B, 6, 2, GRID)
    share = overlap[:, :, 1, :, None] * overlap[:, :, 0, None, :]  # (B, 6, rows, columns)
    cells = torch.einsum("bor,bof->brf", share.flatten(2), state[..., :features])
    coords = coordinate_grid(GRID, GRID).to(state.dtype).expand(state.shape[0], -1, -1)
    return torch.cat([cells, coords], dim=-1)


def with_background(cells: torch.Tensor, level: float = 0.5) -> torch.Tensor:
    """Empty cells given the same nonzero features in the object slots (``level`` each), as the CNN
    gives its background cells, instead of zeros."""
    features = len(COLORS) + len(SHAPES)
    empty = cells[..., :features].sum(-1, keepdim=True) == 0
    return torch.cat([cells[..., :features] + level * empty, cells[..., features:]], dim=-1)


def with_noise(cells: torch.Tensor, generator: torch.Generator, width: int = 16) -> torch.Tensor:
    """``width`` more features per cell, Gaussian noise that carries nothing, as distractors."""
    noise = torch.randn(*cells.shape[:-1], width, generator=generator, dtype=cells.dtype)
    return torch.cat([noise, cells], dim=-1)


#: mode -> the objects it gives the RN, from the state rows (and a noise generator).
MODES = {
    "objects": lambda state, noise: state,
    "grid": lambda state, noise: grid_cells(state),
    "grid-background": lambda state, noise: with_background(grid_cells(state)),
    "grid-noise": lambda state, noise: with_noise(grid_cells(state), noise),
    "grid-spread": lambda state, noise: spread_cells(state),
}


def run(
    mode: str, data: Path, steps: int, seed: int, reduction: str = "sum", lr: float = 1e-3, pair_norm: bool = False
) -> list[dict[str, float]]:
    torch.manual_seed(seed)
    train, val = load_table(data, "train", with_images=False), load_table(data, "val", with_images=False)
    noise = torch.Generator().manual_seed(seed + 1)
    rn = RelationNetwork(
        MODES[mode](train.__getitems__([0])["state"], noise).shape[-1],
        len(ANSWERS),
        condition_dim=11,
        g_widths=(64,) * 4,
        f_widths=(256, 256),
        reduction=reduction,
    )
    # Optionally a LayerNorm between the pair sum and f (its input's scale grows with the pairs).
    norm = torch.nn.LayerNorm(rn.relation_dim) if pair_norm else torch.nn.Identity()
    optimiser = torch.optim.Adam([*rn.parameters(), *norm.parameters()], lr)

    def answer(objects: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        return rn.f(norm(rn.pair_sum(objects, question)))

    relational = torch.tensor([subtype not in NON_RELATIONAL for subtype in ALL_SUBTYPES])
    order = torch.Generator().manual_seed(seed)
    held_out = val.__getitems__(list(range(min(4000, len(val)))))

    def objects(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return MODES[mode](batch["state"], noise)

    rows, start = [], time.perf_counter()
    for step in range(1, steps + 1):
        batch = train.__getitems__(torch.randint(len(train), (64,), generator=order).tolist())
        loss = F.cross_entropy(answer(objects(batch), batch["question"]), batch["answer"])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 250 == 0:
            with torch.no_grad():
                correct = answer(objects(held_out), held_out["question"]).argmax(-1) == held_out["answer"]
            kind = relational[held_out["subtype"]]
            row = {
                "step": step,
                "relational": round(correct[kind].float().mean().item(), 4),
                "non_relational": round(correct[~kind].float().mean().item(), 4),
                "seconds": round(time.perf_counter() - start, 1),
            }
            rows.append(row)
            print(
                f"{mode:<8} step {step:5d}  relational {100 * row['relational']:5.1f}  "
                f"non-relational {100 * row['non_relational']:5.1f}",
                file=sys.stderr,
                flush=True,
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a Sort-of-CLEVR folder (relnet generate sort-of-clevr)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--modes", default="objects,grid", help="comma-separated: " + ", ".join(MODES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reduction", choices=("sum", "mean"), default="sum", help="over the pairs")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (constant)")
    parser.add_argument("--pair-norm", action="store_true", help="a LayerNorm between the pair sum and f")
    parser.add_argument("--out", default="results/sort-of-clevr/grid-state.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    record = {
        "command": "python " + " ".join(sys.argv),
        "device": device_description(),
        "threads": 1,
        "split": "val (first 4,000 questions)",
        "reduction": args.reduction,
        "lr": args.lr,
        "pair_norm": args.pair_norm,
        "runs": {
            mode: run(mode, Path(args.data), args.steps, args.seed, args.reduction, args.lr, args.pair_norm)
            for mode in args.modes.split(",")
        },
    }
    out = Path(args.out)
    # Runs accumulate: each command's record is appended to the file's list.
    previous = json.loads(out.read_text()) if out.is_file() else []
    previous = previous if isinstance(previous, list) else [previous]
    out.write_text(json.dumps([*previous, record], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
