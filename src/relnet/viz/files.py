"""Saving a figure to the file the user named, and saying which file that is."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relnet.errors import RelnetError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figure_file(path: Path, formats: Iterable[str] | None = None) -> Path:
    """The file a figure saved to ``path`` goes to: a name without a suffix gets ``.png`` (as matplotlib
    would add it, but here the returned path says so); a suffix not in ``formats`` (default: those the Agg
    canvas writes), e.g. ``x.txt``, is a :class:`RelnetError` listing them. Call it before a long run."""
    if formats is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        formats = FigureCanvasAgg.get_supported_filetypes()
    path = Path(path)
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    if path.suffix[1:].lower() not in formats:
        raise RelnetError(
            f"cannot draw into {path}: choose a picture file name ending in "
            + ", ".join(f".{name}" for name in sorted(formats))
        )
    return path


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only, no display), imported only when called."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Figure, path: Path, **options: Any) -> Path:
    """Save ``figure`` to :func:`figure_file` ``(path)``, close it (also on an error) and return the file."""
    import matplotlib.pyplot as plt

    try:
        path = figure_file(path, figure.canvas.get_supported_filetypes())
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, **options)
        return path
    finally:
        plt.close(figure)
