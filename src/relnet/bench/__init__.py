"""``relnet bench``: side-by-side speed and memory measurements of relnet's kernels against naive ones.

Each benchmark is a function ``(quick, note) -> payload`` registered under a name; the payload is one
JSON-able dict whose ``"text"`` entry is the human-readable table. Benchmarks import their module
lazily, so adding one costs nothing at CLI start-up.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relnet.errors import RelnetError

Note = Callable[[str], None]
BenchFunction = Callable[..., dict[str, Any]]

# name -> "module:function"; the module is imported only when that benchmark runs.
_BENCHMARKS: dict[str, str] = {
    "rn": "relnet.bench.rn:bench_rn",
    "rn-profile": "relnet.bench.rn_profile:bench_rn_profile",
    "rn-training": "relnet.bench.rn_training:bench_rn_training",
    "rrn": "relnet.bench.rrn:bench_rrn",
}


def bench_names() -> list[str]:
    return sorted(_BENCHMARKS)


def run_bench(name: str, *, quick: bool = False, note: Note = print, figure: Path | None = None) -> dict[str, Any]:
    """Run benchmark ``name``; a :class:`RelnetError` lists the known ones otherwise.

    ``figure``: the file the benchmark draws its figure into (only benchmarks with a ``figure``
    parameter draw one; asking another is a :class:`RelnetError`)."""
    if name not in _BENCHMARKS:
        raise RelnetError(f"unknown benchmark {name!r}; known benchmarks: {', '.join(bench_names())}")
    module_name, function_name = _BENCHMARKS[name].split(":")
    function: BenchFunction = getattr(importlib.import_module(module_name), function_name)
    if figure is None:
        return function(quick=quick, note=note)
    if "figure" not in inspect.signature(function).parameters:
        raise RelnetError(f"relnet bench {name} draws no figure; drop --figure")
    return function(quick=quick, note=note, figure=Path(figure))
