"""Sudoku grids solved at 17, 22 and 28 givens against training time, across runs that continue each other.

    python benchmarks/sudoku_time_to_accuracy.py \\
        --run results/sudoku/logs/rrn-royle17-warm-start-140-min.csv:results/sudoku/royle17-warm-start/rrn.json \\
        --run results/sudoku/logs/rrn-royle17-continued-45-min.csv:results/sudoku/royle17-continued/rrn.json \\
        --out results/sudoku/time-to-accuracy.png

Each ``--run`` is a run's per-epoch log (Lightning's metrics.csv) and its results record, in training
order; each run starts from the previous one's weights. A validation point is placed at the run's
offset plus its share of the run's training seconds (its step over the run's last step), so runs on
different machines join into one time axis that names them. The points go to ``--out`` as a figure
and beside it as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from relnet.viz.time_to_accuracy import accuracy_over_time

LEVELS = ("givens_17", "givens_22", "givens_28")


def run_points(log: Path, record: Path, offset_seconds: float) -> tuple[list[dict[str, float]], float]:
    """The validation points of one run, and the run's training seconds."""
    rows = [row for row in csv.DictReader(log.open()) if row.get("val/overall")]
    result = json.loads(record.read_text())
    seconds = float(result["train_seconds"])
    last_step = max(int(row["step"]) for row in rows)
    points = [
        {"seconds": offset_seconds + seconds * int(row["step"]) / last_step}
        | {level: float(row[f"val/{level}"]) for level in (*LEVELS, "overall")}
        for row in rows
    ]
    return points, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="LOG.csv:RECORD.json, in training order")
    parser.add_argument("--out", default="results/sudoku/time-to-accuracy.png")
    args = parser.parse_args()
    curves, offset = {}, 0.0
    for number, run in enumerate(args.run, start=1):
        log, record = (Path(part) for part in run.split(":"))
        points, seconds = run_points(log, record, offset)
        device = json.loads(record.read_text())["device"]
        curves[f"run {number}: {device}"] = points
        offset += seconds
    out = Path(args.out)
    accuracy_over_time(
        curves,
        [*LEVELS, "overall"],
        out,
        title="Sudoku RRN: validation grids solved against training time (runs continue each other)",
        ylabel="grids solved (%)",
    )
    out.with_suffix(".json").write_text(json.dumps({"runs": args.run, "curves": curves}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
