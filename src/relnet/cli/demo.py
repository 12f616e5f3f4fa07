"""``relnet demo``: serve the local web demo over the committed weights (see docs/demo.md).

relnet demo                      # http://127.0.0.1:8000/
relnet demo --port 8080 --results results
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from relnet.errors import RelnetError

VERB = "demo"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("demo", help="a local web page: Sudoku RRN beliefs, Sort-of-CLEVR and bAbI pairs")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    parser.add_argument("--results", help="folder of committed weights (default: ./results, else the checkout's)")
    return parser


def results_folder(given: str | None) -> Path:
    if given is not None:
        folder = Path(given)
        if not folder.is_dir():
            raise RelnetError(f"--results {given}: no such folder")
        return folder
    checkout = next((p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()), Path.cwd())
    return next((base / "results" for base in (Path.cwd(), checkout) if (base / "results").is_dir()), Path("results"))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.demo import make_server

    if not 0 <= args.port <= 65535:
        raise RelnetError(f"--port must lie in 0..65535, not {args.port}")
    results = results_folder(args.results)
    server = make_server(args.host, args.port, results)
    host, port = server.server_address[:2]
    print("relnet demo: loading the models…", flush=True)
    server.demo.warm()
    print(f"relnet demo: http://{host}:{port}/ (weights from {results}; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return {"url": f"http://{host}:{port}/", "text": "relnet demo stopped"}
