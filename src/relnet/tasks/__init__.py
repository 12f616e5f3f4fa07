"""The benchmark registry: ``get_task("sort-of-clevr")`` and friends.

Every package under ``relnet/tasks/`` is imported on first use, and defining a :class:`Task` subclass
with a ``name`` registers it, so a new task touches no file outside its package. Tasks from other
distributions register through the ``relnet.tasks`` entry-point group.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from relnet.errors import RelnetError
from relnet.tasks.base import _REGISTRY, Metric, Records, Task, TrainConfig

_loaded = False


def _load_tasks() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            importlib.import_module(f"{__name__}.{module.name}")
    for entry in entry_points(group="relnet.tasks"):
        entry.load()


def task_names() -> list[str]:
    _load_tasks()
    return sorted(_REGISTRY)


def get_task(name: str) -> Task:
    """The task registered as ``name``; a :class:`RelnetError` lists the known ones otherwise."""
    _load_tasks()
    if name not in _REGISTRY:
        raise RelnetError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]()


__all__ = ["Metric", "Records", "Task", "TrainConfig", "get_task", "task_names"]
