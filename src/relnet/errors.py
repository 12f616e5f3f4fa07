"""Errors meant for the user: the CLI prints their message and exits non-zero, without a traceback."""

from __future__ import annotations

from pathlib import Path


class RelnetError(Exception):
    """A problem the user can fix (bad input, missing file, unknown name)."""


class DataFormatError(RelnetError):
    """A dataset file that does not follow its format; the message names the file and record."""

    def __init__(self, path: str | Path, problem: str, *, record: str | None = None) -> None:
        where = f"{path}" if record is None else f"{path}, {record}"
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.record = record
        self.problem = problem
