"""Where does a CLEVR model's counting go wrong? Accuracy by the true count, and comparisons by the gap.

    python benchmarks/clevr_count_errors.py --weights results/clevr/rn-state.safetensors --data data/clevr-states

On one split (validation by default) it runs the model on every question whose outermost function is
``count``, ``equal_integer``, ``less_than`` or ``greater_than``, executes each question's program on its
scene (``relnet.tasks.clevr.executor``) and prints, per question family:

- count questions: accuracy by the true answer (0, 1, ..., 6 and more);
- integer comparisons: accuracy by the gap between the two counts compared (0, 1, 2, 3 and more);
- count questions with one spatial relation (one hop): accuracy by how close the object nearest to
  the anchor's dividing line lies to it, along the relation's direction (CLEVR keeps every pair of
  objects at least 0.4 apart along each direction). A model with a sharp "left of" step does not care.

A model that counts exactly gets comparisons right whatever the gap; one that counts to within one
fails mostly where the gap is 0 or 1.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from relnet.tasks.clevr.dataset import load_table
from relnet.tasks.clevr.executor import execute, function_name
from relnet.tasks.clevr.format import questions_path, scenes_path
from relnet.tasks.clevr.templates import FAMILIES
from relnet.training import module_from_weights

COMPARISONS = ("equal_integer", "less_than", "greater_than")
CAP = {"count": 6, "gap": 3}  # answers and gaps at or above these are pooled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", required=True, help="a CLEVR model's weights")
    parser.add_argument("--data", default="data/clevr-states", help="a CLEVR folder with scenes and programs")
    parser.add_argument("--split", default="val")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    root = Path(args.data)
    module = module_from_weights(Path(args.weights)).eval()
    table = load_table(root, args.split)
    questions = json.loads(questions_path(root, args.split).read_text())["questions"]
    scenes = {s["image_index"]: s for s in json.loads(scenes_path(root, args.split).read_text())["scenes"]}
    chosen = [
        row
        for row, question in enumerate(questions)
        if function_name(question["program"][-1]) in ("count", *COMPARISONS)
    ]
    right: dict[tuple[int, str, int], list[int]] = defaultdict(lambda: [0, 0])  # (family, kind, bin) -> n, right
    by_margin: dict[float, list[int]] = defaultdict(lambda: [0, 0])  # one-hop counts: closest distance -> n, right
    with torch.no_grad():
        for start in range(0, len(chosen), args.batch_size):
            rows = chosen[start : start + args.batch_size]
            batch = table.__getitems__(rows)
            hits = (module.model(batch).argmax(dim=-1) == batch["answer"]).tolist()
            for row, hit in zip(rows, hits, strict=True):
                question = questions[row]
                values = execute(question["program"], scenes[question["image_index"]])
                last = question["program"][-1]
                if function_name(last) == "count":
                    key = ("count", min(values[-1], CAP["count"]))
                    margin = closest_to_dividing_line(question["program"], values, scenes[question["image_index"]])
                    if margin is not None:
                        tally = by_margin[min(margin // 0.25 * 0.25, 1.0)]
                        tally[0] += 1
                        tally[1] += int(hit)
                else:
                    first, second = (values[i] for i in last["inputs"])
                    key = ("gap", min(abs(first - second), CAP["gap"]))
                tally = right[(question["question_family_index"], *key)]
                tally[0] += 1
                tally[1] += int(hit)
    for family in sorted({family for family, _, _ in right}):
        bins = sorted((kind, value) for f, kind, value in right if f == family)
        kind = bins[0][0]
        name = FAMILIES[family].structure + " " + FAMILIES[family].question_type if family < len(FAMILIES) else ""
        cells = []
        for _, value in bins:
            count, hits = right[(family, kind, value)]
            label = f"{value}+" if value == CAP[kind] else str(value)
            cells.append(f"{label}: {100 * hits / count:.0f}% of {count}")
        print(f"family {family:2d} ({name}), by {'true count' if kind == 'count' else 'gap'}: " + ", ".join(cells))
    cells = [
        f"{low:.2f}{'+' if low == 1.0 else f'-{low + 0.25:.2f}'}: {100 * hits / count:.0f}% of {count}"
        for low, (count, hits) in sorted(by_margin.items())
    ]
    print("one-hop counts, by the closest object's distance to the anchor's dividing line: " + ", ".join(cells))


def closest_to_dividing_line(program: list[dict], values: list, scene: dict) -> float | None:
    """For a program with exactly one ``relate``: the smallest distance, along the relation's direction,
    between the anchor and any other object of the scene (None for other programs)."""
    relates = [node for node in program if function_name(node) == "relate"]
    if len(relates) != 1:
        return None
    relate = relates[0]
    anchor = values[relate["inputs"][0]]
    direction = np.array(scene["directions"][(relate.get("side_inputs") or relate.get("value_inputs"))[0]])
    coordinates = np.array([obj["3d_coords"] for obj in scene["objects"]])
    along = np.delete((coordinates - coordinates[anchor]) @ direction, anchor)
    return float(np.abs(along).min())


if __name__ == "__main__":
    main()
