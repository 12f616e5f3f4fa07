"""Drive the demo's page in a headless Chromium (the system's package), standard library only.

The page takes links that preset a page's fields and ask at once (``/?page=babi&story=...&question=...&ask=1``),
so one Chromium run per link is enough: ``--virtual-time-budget`` holds the page's clock while a request is
pending, then ``--dump-dom`` prints the page as the answer left it, or ``--screenshot`` draws it. Used by
``tests/test_demo_browser.py`` and by ``python -m relnet.demo.screenshots``.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

from relnet.demo.server import make_server

#: The names Chromium's command goes by, the first found on ``PATH`` is used.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chromium-headless-shell")
#: Virtual milliseconds the page runs after loading; the clock stops while a request is pending, so a slow
#: model does not need a longer budget.
BUDGET_MS = 10_000


def find_chromium() -> str | None:
    """The path of the first of :data:`CHROMIUM_NAMES` on ``PATH``, or ``None``."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def link(base: str, page: str, *, ask: bool = True, **fields: object) -> str:
    """The demo's link to ``page`` (sudoku, sort-of-clevr, babi, clevr) with its fields preset."""
    params = {"page": page, **{name: str(value) for name, value in fields.items()}}
    if ask:
        params["ask"] = "1"
    return f"{base}/?{urlencode(params)}"


def run_chromium(chromium: str, url: str, *args: str, timeout: float = 180) -> str:
    """Run headless Chromium on ``url`` with ``args`` (``--dump-dom``, ``--screenshot=...``); its stdout."""
    with tempfile.TemporaryDirectory(prefix="relnet-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",  # needed as root (containers, CI); the page is our own
            "--no-first-run",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={BUDGET_MS}",
            *args,
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{chromium} failed ({done.returncode}) on {url}: {done.stderr[-2000:]}")
    return done.stdout


def dump_dom(chromium: str, url: str) -> str:
    """The page's HTML once ``url`` has loaded and its question has been answered."""
    return run_chromium(chromium, url, "--dump-dom")


def screenshot(chromium: str, url: str, out: Path, width: int = 1000, *, tallest: int = 4000) -> Path:
    """A PNG of the page at ``url`` (answered), ``width`` pixels wide, written to ``out``: drawn ``tallest``
    pixels high, then cut below the page's last non-white row (and a margin)."""
    from PIL import Image, ImageChops

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="relnet-shot-") as folder:
        drawn = Path(folder) / "page.png"
        run_chromium(chromium, url, f"--screenshot={drawn}", f"--window-size={width},{tallest}")
        if not drawn.is_file():
            raise RuntimeError(f"{chromium} wrote no screenshot of {url}")
        with Image.open(drawn) as image:
            image = image.convert("RGB")
            box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
            bottom = min(image.height, (box[3] if box else 0) + 24)
            image.crop((0, 0, image.width, bottom)).save(out, optimize=True)
    return out


@dataclass
class Element:
    """An element of a page, by its ``id``: its text (that of everything inside it) and attributes."""

    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return "hidden" in self.attrs


class _Elements(HTMLParser):
    #: Elements that have no end tag.
    VOID = frozenset(
        ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr")
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, Element] = {}
        self.open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        if self.open:
            self.open[-1].children.append(element)
        if element.attrs.get("id"):
            self.by_id.setdefault(element.attrs["id"] or "", element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data


def elements(dom: str) -> dict[str, Element]:
    """The elements of the HTML ``dom`` that have an ``id``, by id."""
    parser = _Elements()
    parser.feed(dom)
    parser.close()
    return parser.by_id


@contextlib.contextmanager
def serving(results: Path, clevr_data: Path | None = None) -> Iterator[str]:
    """The demo served on 127.0.0.1 (a free port) in a thread, its models loaded; yields its base URL."""
    server = make_server("127.0.0.1", 0, results, clevr_data=clevr_data)
    server.RequestHandlerClass.log_request = lambda *args: None  # type: ignore[method-assign]  # errors still print
    server.demo.warm()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
