"""Screenshots of each demo page after it has answered, taken in headless Chromium (docs/images/demo-*.png).

    python -m relnet.demo.screenshots --out docs/images [--results results] [--clevr-data DIR]

The demo is served on a free port of 127.0.0.1 over the weights in ``--results``; each page is opened with
a link that presets its fields and asks (see :func:`relnet.demo.browser.link`). The CLEVR page uses
``--clevr-data`` or, by default, a small folder generated with seed 0 (4 scenes, val split only) in a
temporary folder, and asks the folder's first question about scene 0, so that the true answer is known.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

from relnet.demo.browser import find_chromium, link, screenshot, serving

#: 30 givens; the committed Sudoku RRN solves it within 32 steps.
PUZZLE = "000000907000420180000705026100904000050000040000507009920108000034059000507000000"
STORY = (
    "Mary went to the kitchen.\nJohn picked up the football.\nJohn went to the garden.\n"
    "Mary travelled to the office.\nDaniel moved to the hallway."
)
#: Each page's fields, as the page's links take them (the CLEVR question is filled in from the folder).
FIELDS: dict[str, dict[str, object]] = {
    "sudoku": {"puzzle": PUZZLE, "steps": 32},
    "sort-of-clevr": {"seed": 3, "color": "red", "subtype": "closest_to"},
    "babi": {"story": STORY, "question": "Where is the football?"},
    "clevr": {"scene": 0},
}


def first_question(base: str, scene: int = 0) -> str:
    """The CLEVR folder's first question about ``scene``, as the demo lists it."""
    body = json.dumps({"scene": scene, "question": "How many things are there?"}).encode()
    call = urllib.request.Request(f"{base}/api/clevr", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(call, timeout=300) as response:
        examples = json.load(response)["examples"]
    if not examples:
        raise SystemExit(f"the CLEVR folder has no questions about scene {scene}")
    return examples[0]


def take(out: Path, results: Path, clevr_data: Path, chromium: str) -> list[Path]:
    """One PNG per page, ``out/demo-<page>.png``."""
    written = []
    with serving(results, clevr_data) as base:
        for page, fields in FIELDS.items():
            if page == "clevr":
                fields = {**fields, "question": first_question(base, int(fields["scene"]))}  # type: ignore[call-overload]
            url = link(base, page, **fields)
            written.append(screenshot(chromium, url, out / f"demo-{page}.png"))
            print(f"{written[-1]}  <- {url.removeprefix(base)}", file=sys.stderr, flush=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m relnet.demo.screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"), help="folder of the PNGs (docs/images)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="folder of weights (results)")
    parser.add_argument("--clevr-data", type=Path, help="CLEVR folder (default: generate a small one, seed 0)")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        parser.error("no Chromium on PATH: apt-get install chromium")
    if not args.results.is_dir():
        parser.error(f"--results {args.results}: no such folder")
    with tempfile.TemporaryDirectory(prefix="relnet-clevr-") as folder:
        clevr_data = args.clevr_data
        if clevr_data is None:
            from relnet.tasks.clevr.generate import GenerateConfig, generate

            clevr_data = Path(folder) / "clevr-demo"
            generate(clevr_data, seed=0, config=GenerateConfig(images=4, splits=("val",)))
        take(args.out, args.results, clevr_data, chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
