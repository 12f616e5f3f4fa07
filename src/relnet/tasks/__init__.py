"""The benchmark registry: ``get_task("sort-of-clevr")`` and friends."""

from __future__ import annotations

from relnet.errors import RelnetError
from relnet.tasks.base import Task, TrainConfig

_REGISTRY: dict[str, type[Task]] = {}


def register(task_class: type[Task]) -> type[Task]:
    """Class decorator adding a task to the registry under ``task_class.name``."""
    _REGISTRY[task_class.name] = task_class
    return task_class


def _load_builtin_tasks() -> None:
    # Importing a task package registers it; adding a task means adding one import here.
    import relnet.tasks.babi
    import relnet.tasks.clevr
    import relnet.tasks.sort_of_clevr
    import relnet.tasks.sudoku  # noqa: F401


def task_names() -> list[str]:
    _load_builtin_tasks()
    return sorted(_REGISTRY)


def get_task(name: str) -> Task:
    """The task registered as ``name``; a :class:`RelnetError` lists the known ones otherwise."""
    _load_builtin_tasks()
    if name not in _REGISTRY:
        raise RelnetError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]()


__all__ = ["Task", "TrainConfig", "get_task", "register", "task_names"]
