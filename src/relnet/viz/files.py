"""Saving a figure to the file the user named, and saying which file that is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from relnet.errors import RelnetError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def save_figure(figure: Figure, path: Path, **options: Any) -> Path:
    """Save ``figure`` to ``path`` and return the file written.

    A name without a suffix gets ``.png`` (as matplotlib would add it, but here the returned path says
    so); a suffix matplotlib cannot write (``x.txt``) is a :class:`RelnetError` listing the ones it can."""
    path = Path(path)
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    formats = figure.canvas.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise RelnetError(
            f"cannot draw into {path}: choose a picture file name ending in "
            + ", ".join(f".{name}" for name in sorted(formats))
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, **options)
    return path
