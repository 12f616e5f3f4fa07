"""``relnet clevr answer | stats | show | cache | bench``: CLEVR's own command-line tools."""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from relnet.errors import RelnetError
from relnet.tasks.clevr.cache import load_images
from relnet.tasks.clevr.format import find_splits, questions_path, read_questions, read_scenes, scenes_path
from relnet.tasks.clevr.generate import parse_size
from relnet.tasks.clevr.stats import agreement, format_report, inspect_folder

VERB = "clevr"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("clevr", help="CLEVR tools: answer programs, statistics, pictures, caches")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    verbs = parser.add_subparsers(dest="clevr_command", required=True, metavar="VERB")
    answer = verbs.add_parser("answer", help="run every question's program on its scene; report agreement")
    answer.add_argument("--scenes", required=True, help="a CLEVR_<split>_scenes.json file")
    answer.add_argument("--questions", required=True, help="a CLEVR_<split>_questions.json file")
    stats = verbs.add_parser("stats", help="validate a CLEVR folder and print its statistics")
    stats.add_argument("path")
    show = verbs.add_parser("show", help="draw an image with its objects, questions and answers")
    show.add_argument("path")
    show.add_argument("--split", default=None, help="default: the folder's first split")
    show.add_argument("--image", type=int, default=0, help="image_index")
    show.add_argument("--questions", type=int, default=10, help="how many of its questions to list")
    show.add_argument("--out", default="clevr-show.png")
    cache = verbs.add_parser("cache", help="decode every split's images once into uint8 arrays")
    cache.add_argument("path")
    cache.add_argument("--size", default="128x128", help="WIDTHxHEIGHT (default 128x128)")
    bench = verbs.add_parser("bench", help="time scene generation + rendering + PNG writing")
    bench.add_argument("--images", type=int, default=200)
    bench.add_argument("--size", default="128x128")
    bench.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    bench.add_argument("--supersample", type=int, default=2)
    for sub in (answer, stats, show, cache, bench):
        # SUPPRESS: an absent verb-level flag must not overwrite `relnet clevr --json VERB`.
        sub.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object on stdout"
        )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    return {"answer": _answer, "stats": _stats, "show": _show, "cache": _cache, "bench": _bench}[args.clevr_command](
        args
    )


def _answer(args: argparse.Namespace) -> dict[str, Any]:
    scenes = read_scenes(Path(args.scenes))
    questions = read_questions(Path(args.questions), scenes)
    result = agreement(scenes, questions)
    lines = [
        f"{result['questions']} questions, {result['answered']} with a recorded answer and program: "
        f"the executor agrees on {result['agree']} ({100 * (result['agreement'] or 0):.2f}%), "
        f"disagrees on {result['disagree']} (ill-posed: {result['ill_posed']})"
    ]
    lines += [f"  {kind:<15} {t.get('agree', 0)}/{t['questions']}" for kind, t in result["by_type"].items()]
    lines += [
        f"  question {d['question']}: {d['text']} recorded {d['recorded']!r}, executed {d['executed']!r}"
        for d in result["disagreements"]
    ]
    return {**result, "text": "\n".join(lines)}


def _stats(args: argparse.Namespace) -> dict[str, Any]:
    report = inspect_folder(Path(args.path))
    return {**report, "text": format_report(report)}


def _show(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.viz.clevr_scene import draw_scene

    root = Path(args.path)
    splits = find_splits(root)
    split = args.split or (splits[0] if splits else "val")
    scenes = read_scenes(scenes_path(root, split), split)
    by_index = scenes.by_index
    if args.image not in by_index:
        raise RelnetError(f"{split} has no image_index {args.image} (it has {len(by_index)} scenes)")
    questions = []
    if questions_path(root, split).is_file():
        questions = [
            q
            for q in read_questions(questions_path(root, split), scenes, split).questions
            if q["image_index"] == args.image
        ]
    out = draw_scene(root, split, by_index[args.image], questions[: args.questions], Path(args.out))
    return {"out": str(out), "split": split, "image_index": args.image, "text": f"wrote {out}"}


def _cache(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(args.path)
    width, height = parse_size(args.size)
    made = {}
    for split in find_splits(root):
        scenes = read_scenes(scenes_path(root, split), split) if scenes_path(root, split).is_file() else None
        indices, images = load_images(
            root, split, width, height, [s["image_index"] for s in scenes.scenes] if scenes else None
        )
        made[split] = {"images": len(indices), "shape": list(images.shape)}
    text = "\n".join(f"{split}: {info['shape']} uint8" for split, info in made.items())
    return {"path": str(root), "size": [width, height], "splits": made, "text": text}


def _bench_job(job: tuple[int, int, int, int, str]) -> int:
    from relnet.tasks.clevr.generate import GenerateConfig, _make_image

    index, width, height, supersample, folder = job
    config = GenerateConfig(image_size=(width, height), cache_size=None, supersample=supersample)
    _make_image((0, "bench", index, config, Path(folder)))
    return index


def _bench(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    width, height = parse_size(args.size)
    if args.images < 1 or args.workers < 1:
        raise RelnetError("--images and --workers must be at least 1")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "images" / "bench").mkdir(parents=True)
        jobs = [(i, width, height, args.supersample, folder) for i in range(args.images)]
        _bench_job(jobs[0])  # warm caches outside the timing
        start = time.perf_counter()
        if args.workers > 1:
            with ProcessPoolExecutor(args.workers) as pool:
                list(pool.map(_bench_job, jobs, chunksize=4))
        else:
            list(map(_bench_job, jobs))
        seconds = time.perf_counter() - start
    rate = args.images / seconds
    result = {
        "images": args.images,
        "size": [width, height],
        "workers": args.workers,
        "supersample": args.supersample,
        "seconds": round(seconds, 2),
        "images_per_second": round(rate, 2),
        "minutes_for_10000": round(10000 / rate / 60, 2),
        "cpu_count": os.cpu_count(),
    }
    result["text"] = (
        f"{args.images} scenes generated, rendered at {width}x{height} (supersample {args.supersample}) and written "
        f"as PNG in {seconds:.1f} s with {args.workers} worker(s): {rate:.1f} images/s, "
        f"{result['minutes_for_10000']:.1f} min per 10,000 images"
    )
    return result
