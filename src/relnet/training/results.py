"""Results files (``results/<task>/<model>.json``) and the tables made from them."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

from relnet.tasks import Task


def git_commit() -> str | None:
    """The checked-out commit, with ``-dirty`` appended when tracked files differ from it (the run's
    code is then not exactly that commit's); None outside a git checkout."""

    def git(*arguments: str) -> str:
        completed = subprocess.run(
            ["git", *arguments], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        )
        return completed.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def write_result(path: Path, record: dict[str, Any]) -> Path:
    """Write one result record as pretty JSON (NaN metrics become null)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(finite(record), indent=2, allow_nan=False, default=str) + "\n")
    return path


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def results_table(task: Task, records: list[dict[str, Any]]) -> str:
    """A markdown table: one row per model, the task's metrics (fractions in %), the paper's figures beside them."""
    metric_names: list[str] = list(task.headline_metrics)
    for record in records:
        metric_names += [n for n in record["metrics"] if n not in metric_names and task.metric(n).table]
    header = ["model", *metric_names, "paper", "wall time"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for record in records:
        paper = task.paper_results.get(record["model"], {})
        paper_text = ", ".join(f"{name} {task.format_metric(name, value)}" for name, value in paper.items()) or "–"
        cells = [record["model"], *(task.format_metric(name, record["metrics"].get(name)) for name in metric_names)]
        cells += [paper_text, f"{record['wall_seconds'] / 60:.1f} min"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
