"""One benchmark run as a record appended to a results JSON file (``{"runs": [...]}``), shared by the
variant benchmarks (``soc_plateau.py``, ``pretty_clevr_learning.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from relnet.runtime import device_description


def append_run(out: Path, **fields: Any) -> dict[str, Any]:
    """Append ``{command, device, threads, **fields}`` to the runs of ``out`` (created if missing)."""
    record = {
        "command": "python " + " ".join(sys.argv),
        "device": device_description(),
        "threads": torch.get_num_threads(),
        **fields,
    }
    previous = json.loads(out.read_text()) if out.is_file() else {"runs": []}
    previous["runs"].append(record)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(previous, indent=1) + "\n")
    return record
