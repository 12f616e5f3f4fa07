"""Re-evaluate every committed weights file on regenerated data and compare with the metrics beside it.

    python benchmarks/check_results.py                         # all of results/, fp32 on this CPU
    python benchmarks/check_results.py --only sort-of-clevr/quick --json
    python benchmarks/check_results.py --save now.json         # every metric, for an exact comparison
    python benchmarks/check_results.py --against before.json   # ... with a run of another checkout

Each ``results/**/<model>.json`` names the data it was tested on: ``generated with seed S`` (the task's
default generator options) or a folder such as ``data/babi-1k``. That data is regenerated once into
``--data-dir`` with the ``relnet`` command, and the weights are scored with ``relnet eval --json`` in
fp32, through the command line alone, so the same script also checks an older checkout
(``--relnet "env PYTHONPATH=/old/src relnet"``): a refactoring that changes no number gives identical
metrics (``--against``). Against the committed records the tolerance is ``--tolerance`` (records made
on a GPU in bf16, or with another thread count, may differ by an answer or two).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Data folders named in results records, as ``relnet generate`` arguments (seed 0).
KNOWN_FOLDERS = {
    "data/sort-of-clevr": ("sort-of-clevr", []),
    "data/sudoku": ("sudoku", []),
    "data/babi": ("babi", []),
    "data/babi-1k": ("babi", ["--size", "1k"]),
}


def data_arguments(record: dict) -> tuple[str, list[str], int] | None:
    """``(task, generator flags, seed)`` of the data a record was tested on, or None when unknown."""
    data = str(record.get("data", ""))
    if data.startswith("generated with seed "):
        return record["task"], [], int(data.rsplit(" ", 1)[1])
    if data in KNOWN_FOLDERS:
        task, flags = KNOWN_FOLDERS[data]
        return task, flags, 0
    return None


def run_json(command: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(ROOT / "results"))
    parser.add_argument("--only", default="", help="check only records whose path contains this text")
    parser.add_argument("--data-dir", default=str(ROOT / "data" / "check"), help="where regenerated data lives")
    parser.add_argument("--relnet", default="relnet", help="the relnet command (e.g. of another checkout)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=0.01, help="largest metric difference accepted")
    parser.add_argument("--save", help="write every re-evaluated metric to this JSON file")
    parser.add_argument("--against", help="a --save file to compare with exactly")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    relnet = shlex.split(args.relnet)

    rows, measured = [], {}
    for path in sorted(Path(args.results).rglob("*.json")):
        record = json.loads(path.read_text())
        name = str(path.relative_to(args.results))
        if "metrics" not in record or not record.get("weights") or args.only not in name:
            continue
        weights = path.with_name(str(record["weights"]))
        if not weights.is_file():
            continue
        source = data_arguments(record)
        if source is None:
            rows.append({"record": name, "status": f"skipped: unknown data {record.get('data')!r}"})
            continue
        task, flags, seed = source
        folder = Path(args.data_dir) / "-".join([task, *[f.strip("-") for f in flags], f"seed{seed}"])
        if not (folder / ".complete").is_file():
            print(f"generating {folder} ...", file=sys.stderr, flush=True)
            command = [*relnet, "generate", task, "--out", str(folder), "--seed", str(seed), *flags, "--json"]
            run_json(command, args.threads)
            (folder / ".complete").write_text("")
        print(f"evaluating {name} ...", file=sys.stderr, flush=True)
        command = [*relnet, "eval", "--weights", str(weights), "--data", str(folder), "--split", "test"]
        metrics = run_json([*command, "--precision", "32-true", "--no-progress", "--json"], args.threads)["metrics"]
        measured[name] = metrics
        committed = record["metrics"]
        shared = [k for k in committed if committed[k] is not None and metrics.get(k) is not None]
        worst = max((abs(committed[k] - metrics[k]) for k in shared), default=0.0)
        missing = [k for k in committed if k not in metrics]
        ok = worst <= args.tolerance and not missing
        status = "ok" if ok else "differs"
        rows.append({"record": name, "largest_difference": worst, "device": record.get("device"), "status": status})
    if args.save:
        Path(args.save).write_text(json.dumps(measured, indent=1, sort_keys=True))
    identical = None
    if args.against:
        before = json.loads(Path(args.against).read_text())

        def same(a: float | None, b: float | None) -> bool:
            return a == b or ((a is None or math.isnan(a)) and (b is None or math.isnan(b)))

        identical = {
            name: before.get(name) is not None
            and before[name].keys() == metrics.keys()
            and all(same(before[name][k], metrics[k]) for k in metrics)
            for name, metrics in measured.items()
        }
    failed = [r for r in rows if r["status"] == "differs"] + [n for n, same_ in (identical or {}).items() if not same_]
    if args.json:
        print(json.dumps({"rows": rows, "identical_to_against": identical, "ok": not failed}, indent=1))
    else:
        for row in rows:
            difference = row.get("largest_difference")
            shown = "" if difference is None else f"largest difference {100 * difference:.2f} points"
            print(f"{row['status']:<8} {row['record']:<55} {shown}")
        if identical is not None:
            print(f"identical to {args.against}: {sum(identical.values())}/{len(identical)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
