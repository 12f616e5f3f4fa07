"""The demo's HTTP server: the standard library's ``ThreadingHTTPServer``, one HTML page and JSON endpoints.

    GET  /                     the page (HTML + JS, no external resources)
    GET  /api/info             which weights each page uses
    POST /api/sudoku           {"puzzle": "81 chars", "steps": 32}
    POST /api/sort-of-clevr    {"seed": 0, "color": "red", "subtype": "closest_to"}
    POST /api/babi             {"story": "one sentence per line", "question": "Where is Mary?"}
    POST /api/clevr            {"data": "clevr-quick", "scene": 0, "question": "How many cubes are there?"}

Every bad request gets a 4xx and ``{"error": "message"}``; the server never reads a path from a request.
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from relnet.demo.babi import BabiPage
from relnet.demo.clevr import ClevrPage
from relnet.demo.errors import BadRequestError
from relnet.demo.page import PAGE
from relnet.demo.sort_of_clevr import SortOfClevrPage
from relnet.demo.sudoku import SudokuPage

#: The largest request body accepted, in bytes.
MAX_BODY = 16_384


class Demo:
    """The pages, each loading its model on first use; one model runs at a time. ``clevr_data``: the
    CLEVR folder of the CLEVR page (default: the folders found under ``data/``)."""

    def __init__(self, results: Path, clevr_data: Path | None = None) -> None:
        self.pages = {
            "sudoku": SudokuPage(results),
            "sort-of-clevr": SortOfClevrPage(results),
            "babi": BabiPage(results),
            "clevr": ClevrPage(results, clevr_data),
        }
        self.lock = threading.Lock()

    def info(self) -> dict[str, Any]:
        return {name: page.info() for name, page in self.pages.items()}

    def warm(self) -> None:
        """Load every page's models now (seconds), so that the first question is answered at once."""
        for page in self.pages.values():
            with contextlib.suppress(BadRequestError):
                page.models()

    def answer(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return self.pages[name].answer(request)


class Handler(BaseHTTPRequestHandler):
    server_version = "relnet-demo"
    timeout = 30  # seconds a client may stall mid-request
    demo: Demo  # set by make_server on a subclass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/api/info":
            self._json(200, self.demo.info())
        else:
            self._json(404, {"error": f"no page {self.path[:80]!r}"})

    def do_POST(self) -> None:
        name = self.path.removeprefix("/api/")
        if not self.path.startswith("/api/") or name not in self.demo.pages:
            self._json(404, {"error": f"no endpoint {self.path[:80]!r}"})
            return
        try:
            self._json(200, self.demo.answer(name, self._body()))
        except BadRequestError as error:
            self._json(error.status, {"error": error.message})
        except Exception as error:  # a bug: a message on the page, the traceback only in the terminal
            self.log_error("%s failed: %r", self.path, error)
            self._json(500, {"error": f"internal error ({type(error).__name__}); see the server's terminal"})

    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise BadRequestError("the request needs a Content-Length", 411) from None
        if length > MAX_BODY:
            self.rfile.read(min(length, 64 * MAX_BODY))  # read what was sent, so the client gets the answer
            raise BadRequestError(f"the request is too large ({length} bytes; at most {MAX_BODY})", 413)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BadRequestError("the request is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequestError("the request must be a JSON object")
        return body

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload, allow_nan=False).encode(), "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def make_server(
    host: str = "127.0.0.1", port: int = 8000, results: Path = Path("results"), *, clevr_data: Path | None = None
) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0: any free port), not yet serving; ``clevr_data``: the
    CLEVR page's folder (default: the CLEVR folders under ``data/`` beside ``results`` and here)."""
    demo = Demo(results, clevr_data)
    server = ThreadingHTTPServer((host, port), type("DemoHandler", (Handler,), {"demo": demo}))
    server.daemon_threads = True
    server.demo = demo  # type: ignore[attr-defined]
    return server
