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
    predict = verbs.add_parser(
        "predict", help="answer every question of a split with saved weights (also a split without answers)"
    )
    predict.add_argument("--weights", required=True, help="a CLEVR model's .safetensors file")
    predict.add_argument("--data", required=True, help="a CLEVR v1.0 folder (real or generated)")
    predict.add_argument("--split", default="test")
    predict.add_argument("--out", default="clevr-predictions.json", help="JSON file to write")
    predict.add_argument("--batch-size", type=int, default=512)
    cache = verbs.add_parser("cache", help="decode every split's images once into uint8 arrays")
    cache.add_argument("path")
    cache.add_argument("--size", default="128x128", help="WIDTHxHEIGHT (default 128x128)")
    bench = verbs.add_parser("bench", help="time scene generation + rendering + PNG writing")
    bench.add_argument("--images", type=int, default=200)
    bench.add_argument("--size", default="128x128")
    bench.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    bench.add_argument("--supersample", type=int, default=2)
    for sub in (answer, stats, show, predict, cache, bench):
        # SUPPRESS: an absent verb-level flag must not overwrite `relnet clevr --json VERB`.
        sub.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object on stdout"
        )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    verbs = {"answer": _answer, "stats": _stats, "show": _show, "predict": _predict, "cache": _cache, "bench": _bench}
    return verbs[args.clevr_command](args)


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


def _predict(args: argparse.Namespace) -> dict[str, Any]:
    """One predicted answer per question, with its ``question_index``, as JSON (CLEVR v1.0's test split
    has no answers; the predictions file is what its evaluation server took)."""
    import json

    import torch

    from relnet.tasks.clevr.dataset import IGNORE, load_table
    from relnet.tasks.clevr.vocab import ANSWERS
    from relnet.training.weights import load_model

    if args.batch_size < 1:
        raise RelnetError("--batch-size must be at least 1")
    header, model = load_model(Path(args.weights), expect_task="clevr")
    root = Path(args.data)
    table = load_table(root, args.split)
    questions = read_questions(questions_path(root, args.split), None, args.split).questions
    predicted: list[int] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(table), args.batch_size):
            batch = table.__getitems__(list(range(start, min(start + args.batch_size, len(table)))))
            predicted += model(batch).argmax(-1).tolist()
    rows = [
        {"question_index": q["question_index"], "image_index": q["image_index"], "answer": ANSWERS[p]}
        for q, p in zip(questions, predicted, strict=True)
    ]
    out = Path(args.out)
    out.write_text(json.dumps({"weights": str(args.weights), "split": args.split, "predictions": rows}) + "\n")
    known = table.columns["answer"] != IGNORE
    result: dict[str, Any] = {"out": str(out), "questions": len(rows), "with_answers": int(known.sum())}
    text = f"wrote {len(rows)} predicted answers ({header['model']}, {args.split}) to {out}"
    if known.any():
        right = torch.tensor(predicted)[known] == table.columns["answer"][known]
        result["accuracy"] = float(right.float().mean())
        text += f"; accuracy on the {int(known.sum())} with a recorded answer: {100 * result['accuracy']:.1f}%"
    return {**result, "text": text}


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
