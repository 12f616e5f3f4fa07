"""Errors meant for the user: the CLI prints their message and exits non-zero, without a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The longest a bad value is echoed in a message: a 1 MB field must not flood the terminal.
ECHO_LIMIT = 80


def shorten(value: Any, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)``, cut to about ``limit`` characters (``'abc…' (1048576 characters)``)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


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


class Interrupted(Exception):  # noqa: N818 - a requested stop, not an error
    """The process was asked to stop (SIGINT or SIGTERM); the message says what was saved.

    Not a :class:`RelnetError`: the CLI exits with the shell's convention for a signal, 128 + its number
    (130 for SIGINT, 143 for SIGTERM), not with the status of a user error.
    """

    def __init__(self, signal_number: int, message: str) -> None:
        super().__init__(message)
        self.signal_number = int(signal_number)

    @property
    def exit_code(self) -> int:
        return 128 + self.signal_number
