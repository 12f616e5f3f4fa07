"""Validation metrics against training time and examples seen, across runs that continue each other.

    python benchmarks/time_to_accuracy.py --out results/sudoku/time-to-accuracy.png \\
        --metrics givens_17,givens_22,givens_28,overall --title "Sudoku RRN: validation grids solved" \\
        --run results/sudoku/logs/rrn-royle17-warm-start-140-min.csv:results/sudoku/royle17-warm-start/rrn.json \\
        --run results/sudoku/logs/rrn-royle17-continued-45-min.csv:results/sudoku/royle17-continued/rrn.json

    python benchmarks/time_to_accuracy.py --out results/babi/time-to-accuracy.png \\
        --metrics tasks_passed,accuracy --title "bAbI RN (full recipe): validation" --scale tasks_passed=20 \\
        --run results/babi/logs/rn-full-105-min-epyc-bf16.csv:results/babi/full/rn.json

Each ``--run`` is a run's per-epoch log (Lightning's metrics.csv) and its results record, in training
order; each run starts from the previous one's weights, or, with ``--separate``, every run starts at
zero and is named by its model, or by its ``:LABEL`` (to compare models or recipes trained side by
side), except that a run whose name was given before continues that line from where it ended. A
validation point is placed at the run's offset plus its share of the run's training seconds (its step
over the run's last step), so runs on different machines join into one time axis that names them;
examples seen are steps times the record's batch size. A run whose log was not kept is given as
``:RECORD.json``: it is drawn as one point at its end, from the record's validation metrics. ``--scale
NAME=N`` divides a count metric by ``N`` (bAbI's tasks passed out of 20) so that every panel reads in
percent. Two figures are written, ``--out`` (against seconds) and ``*-examples.png`` (against examples
seen), and the points beside them as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from relnet.viz.time_to_accuracy import accuracy_over_time


def label(name: str, scale: dict[str, float]) -> str:
    """A panel's title: the metric's name, and the count it is a share of when scaled."""
    return f"{name} (share of {scale[name]:g})" if name in scale else name


def run_points(
    log: Path | None,
    result: dict,
    metrics: list[str],
    scale: dict[str, float],
    offset_seconds: float,
    offset_examples: int,
) -> tuple[list[dict[str, float]], float, int]:
    """The validation points of one run (its log, or None for only the record's kept epoch, and its
    results record), its training seconds and the examples it saw."""
    seconds = float(result["train_seconds"])
    batch_size = int(result["train_config"]["batch_size"])
    if log is None:
        steps = int(result["train_steps"])
        missing = [name for name in metrics if name not in result.get("val_metrics", {})]
        if missing:
            raise SystemExit(f"{result['model']} record: no validation {', '.join(missing)} to draw without a log")
        # The kept epoch's validation, placed at the run's end (the log that said when is gone).
        rows = [{"step": str(steps)} | {f"val/{name}": str(result["val_metrics"][name]) for name in metrics}]
    else:
        rows = [row for row in csv.DictReader(log.open()) if row.get(f"val/{metrics[0]}")]
    if not rows:
        raise SystemExit(f"{log}: no validation rows with val/{metrics[0]}")
    last_step = max(int(row["step"]) for row in rows)
    points = [
        {
            "seconds": offset_seconds + seconds * int(row["step"]) / last_step,
            "examples": offset_examples + batch_size * int(row["step"]),
        }
        | {
            label(name, scale): float(row[f"val/{name}"]) / scale.get(name, 1.0)
            for name in metrics
            if row.get(f"val/{name}")
        }
        for row in rows
    ]
    return points, seconds, batch_size * int(result.get("train_steps") or last_step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="LOG.csv:RECORD.json[:LABEL], in training order")
    parser.add_argument("--metrics", required=True, help="comma-separated validation metrics, one panel each")
    parser.add_argument("--scale", action="append", default=[], help="NAME=N: plot metric NAME divided by N")
    parser.add_argument("--separate", action="store_true", help="runs are separate trainings, not continuations")
    parser.add_argument("--title", required=True)
    parser.add_argument("--out", required=True, help="PNG against seconds; *-examples.png against examples")
    args = parser.parse_args()
    metrics = args.metrics.split(",")
    if any(item.count("=") != 1 for item in args.scale) or any(run.count(":") not in (1, 2) for run in args.run):
        parser.error("--scale wants NAME=N and --run LOG.csv:RECORD.json[:LABEL]")
    scale = {name: float(n) for name, n in (item.split("=") for item in args.scale)}
    curves: dict[str, list[dict[str, float]]] = {}
    # Where the next run of each line starts: one line for all runs, or with --separate one per name.
    offsets: dict[str, tuple[float, int]] = {}
    for number, run in enumerate(args.run, start=1):
        log, record, *named = run.split(":")
        result = json.loads(Path(record).read_text())
        line = (named[0] if named else result["model"]) if args.separate else ""
        continued = line in offsets
        seconds, examples = offsets.get(line, (0.0, 0))
        log_path = Path(log) if log else None
        points, run_seconds, run_examples = run_points(log_path, result, metrics, scale, seconds, examples)
        if args.separate:  # a LABEL tells apart two runs of one model; a repeated LABEL continues its line
            # A third run of a line on the same device extends its "continued" curve, not replaces it.
            curves.setdefault(f"{line}{', continued' if continued else ''}: {result['device']}", []).extend(points)
        else:
            curves[f"run {number}: {result['device']}"] = points
        offsets[line] = (seconds + run_seconds, examples + run_examples)
    out = Path(args.out)
    ylabel = "validation (%)"
    panels = [label(name, scale) for name in metrics]
    accuracy_over_time(curves, panels, out, title=f"{args.title} against training time", ylabel=ylabel)
    by_examples = out.with_name(f"{out.stem}-examples.png")
    accuracy_over_time(
        curves, panels, by_examples, title=f"{args.title} against examples seen", ylabel=ylabel, x="examples"
    )
    out.with_suffix(".json").write_text(
        json.dumps({"runs": args.run, "scale": scale, "curves": curves}, indent=1) + "\n"
    )
    print(f"wrote {out} and {by_examples}")


if __name__ == "__main__":
    main()
