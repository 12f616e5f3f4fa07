"""``relnet explain``: which object pairs decided a Relation Network's answers, exactly.

    relnet explain --weights results/sort-of-clevr/rn-state.safetensors --data data/soc --index 12 --out q12.png
    relnet explain --weights results/babi/gpu/rn.safetensors --data data/babi/en-valid-10k --stride 10 --json

An RN answers ``f(S)`` with ``S`` the sum of ``g`` over every object pair, so removing any set of pairs
gives ``f(S - their terms)`` exactly, without re-running ``g`` (:mod:`relnet.nn.attribution`). For one
question (``--index``) this prints the pairs whose removal moves the answer's logit most, the pairs
greedy deletion keeps (the answer survives on them alone) and the answer's probability as pairs are
removed; for a split (or ``--limit``/``--stride`` of it) a table per question type: how many pairs
carry the decision, how often the deciding pairs involve the objects the question is about, and how
far the norm of ``g``'s output (``relnet show``'s heuristic) agrees with the exact effect.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from relnet.errors import RelnetError

VERB = "explain"
#: Questions between two progress lines on stderr.
PROGRESS_EVERY = 500


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "explain", help="the object pairs that decided an RN's or MLRN's answers: exact pair attributions"
    )
    parser.add_argument(
        "--weights",
        required=True,
        help="weights of an RN or MLRN model (any task), or an RRN (Sudoku, bAbI, Pretty-CLEVR, age arithmetic)",
    )
    parser.add_argument("--data", required=True, help="a dataset folder of the model's task")
    parser.add_argument("--split", default="test")
    parser.add_argument("--index", type=int, help="explain this question (a row of the split) in detail")
    parser.add_argument("--limit", type=int, help="summarise only the first N questions (after --stride)")
    parser.add_argument("--stride", type=int, default=1, help="summarise every K-th question (default 1: all)")
    parser.add_argument(
        "--out",
        help="draw the question's figure here (with a split: the first --figures questions, as OUT_<index>.png)",
    )
    parser.add_argument("--figures", type=int, default=4, help="figures drawn for a split with --out (default 4)")
    rrn = parser.add_argument_group("Sudoku RRN weights: beliefs step by step")
    rrn.add_argument("--steps", type=int, help="message-passing steps (default: the model's evaluation steps)")
    rrn.add_argument(
        "--silence",
        choices=("row", "column", "box"),
        help="drop the edges between cells sharing this unit (a split reports every kind unless one is given)",
    )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.explain.rrn_steps import answers_every_step, rrn_answer_steps
    from relnet.explain.run import open_explainer
    from relnet.training.weights import read_header

    if args.stride < 1 or (args.limit is not None and args.limit < 1) or args.figures < 0:
        raise RelnetError("--stride and --limit must be at least 1, --figures at least 0")
    if args.index is not None and (args.limit is not None or args.stride != 1):
        raise RelnetError("--index explains one question; leave out --limit and --stride")
    header = read_header(Path(args.weights))
    if header["task"] == "sudoku":
        return _sudoku_steps(args)
    if args.steps is not None or args.silence is not None:
        raise RelnetError("--steps and --silence are for Sudoku RRN weights")
    if answers_every_step(header):  # bAbI, Pretty-CLEVR, age-arithmetic RRNs: the answer after every step
        if args.out:
            raise RelnetError("--out draws figures for RN, MLRN and Sudoku RRN weights, not for this RRN's steps")
        return rrn_answer_steps(
            Path(args.weights), Path(args.data), args.split, index=args.index, limit=args.limit, stride=args.stride
        )
    explainer = open_explainer(Path(args.weights), Path(args.data), args.split)
    payload: dict[str, Any] = {
        "task": explainer.task.name,
        "model": explainer.model_name,
        "weights": str(args.weights),
        "data": str(args.data),
        "split": args.split,
        "relevant": explainer.view.relevant,
        "empty_sum_answer": explainer.view.answer_name(explainer.empty_sum_answer),
    }
    if args.index is not None:
        return payload | _one_question(explainer, args)
    return payload | _split(explainer, args)


def _one_question(explainer: Any, args: argparse.Namespace) -> dict[str, Any]:
    from relnet.explain.run import question_record

    size = len(explainer.table)
    if not 0 <= args.index < size:
        raise RelnetError(f"--index {args.index} is out of range: {args.split} has {size} questions (0 to {size - 1})")
    item = next(explainer.explain([args.index]))
    record = question_record(explainer, item, detail=True)
    result: dict[str, Any] = {"question": record}
    if args.out:
        result["figures"] = [str(_draw(explainer, item, Path(args.out)))]
    result["text"] = _question_text(record, explainer.view.relevant) + _figures_text(result)
    return result


def _split(explainer: Any, args: argparse.Namespace) -> dict[str, Any]:
    from relnet.explain.run import question_record, summarize, summary_text

    indices = range(0, len(explainer.table), args.stride)[: args.limit]
    records, figures = [], []
    out = Path(args.out) if args.out else None

    def progress(done: int) -> None:
        if done % PROGRESS_EVERY < 8 or done == len(indices):  # batches of 8 questions
            print(f"explained {done}/{len(indices)} questions", file=sys.stderr, flush=True)

    for item in explainer.explain(indices, progress):
        records.append(question_record(explainer, item))
        if out is not None and len(figures) < args.figures:
            suffix = out.suffix or ".png"
            figures.append(str(_draw(explainer, item, out.with_name(f"{out.stem}_{item.index}{suffix}"))))
    groups = summarize(records, explainer.view.supergroups)
    result: dict[str, Any] = {"questions_explained": len(records), "groups": groups, "questions": records}
    if figures:
        result["figures"] = figures
    view_answer = explainer.view.answer_name(explainer.empty_sum_answer)
    relevant = explainer.view.relevant or "the objects the question is about (this task cannot say)"
    legend = "\n\n" + "; ".join(
        [
            "kept: pairs greedy deletion keeps (the answer survives on them alone; 0 where it is the answer "
            "left with every pair removed)",
            "kept≠∅: the same over the questions whose answer is not that one",
            "flip@: median pairs removed, largest effect first, until the answer changes",
            f"top∋rel / top⊂rel: the top pair involves / lies within {relevant}",
            "kept∋rel: share of kept pairs that involve it",
            "chance∋ / chance⊂: the same shares over all pairs",
            "ρ: Spearman of ‖g‖ (relnet show's heuristic) with the exact effect",
            "top5∩: overlap of the top 5 pairs by ‖g‖ and by |effect|.",
        ]
    )
    header = (
        f"{explainer.task.name} {explainer.model_name} on {args.data} ({args.split}), {len(records)} questions; "
        f"with every pair removed the model answers {view_answer!r}\n"
    )
    result["text"] = header + summary_text(groups) + legend + _figures_text(result)
    return result


def _draw(explainer: Any, item: Any, path: Path) -> Path:
    from relnet.viz.explain import draw_explanation

    view, explanation = explainer.view, item.explanation
    n = explanation.pair_mask.shape[0]
    verdict = "" if item.truth < 0 else f" (truth {view.answer_name(item.truth)})"
    panel: dict[str, Any] = {
        "title": f"#{item.index} {view.question(item.index)}  {explainer.model_name} says "
        f"{view.answer_name(explanation.answer)}{verdict}",
        "effects": explanation.effects.numpy(),
        "norms": explanation.norms.numpy(),
        "pair_mask": explanation.pair_mask.numpy(),
        "top": explanation.top.tolist(),
        "labels": _marked(view.object_labels(item.index, n), view.relevant_objects(item.index, n)),
        "curve": explanation.curve.numpy(),
        "flip_after": explanation.flip_after,
        "kept": len(explanation.kept),
    }
    picture = view.picture(item.index, item.batch, item.row)
    if picture is not None:
        panel["image"], panel["positions"] = picture
    return draw_explanation(panel, path)


def _marked(labels: list[str], relevant: Any) -> list[str]:
    """Object labels with a star on those the question is about (``relevant`` ``(n,)`` bool or None)."""
    if relevant is None:
        return labels
    return [f"★ {label}" if flag else label for label, flag in zip(labels, relevant.tolist(), strict=True)]


def _question_text(record: dict[str, Any], relevant: str | None) -> str:
    verdict = (
        "" if record["truth"] is None else f" (truth {record['truth']}, {'right' if record['correct'] else 'wrong'})"
    )
    answer = record["answer"]
    flip = record["flip_after"]
    lines = [
        f"#{record['index']} [{record['group']}] {record['question']}  →  {answer}{verdict}",
        f"{record['valid_pairs']} pairs; greedy deletion keeps "
        + (
            f"{record['kept_pairs']} (the answer is still {record['kept_answer']} on them alone); "
            if record["kept_pairs"]
            else f"none (with every pair removed the answer is still {record['kept_answer']}); "
        )
        + (
            f"removing the {flip} most supportive pair(s) changes the answer"
            if flip
            else "removing pairs in order of effect never changes it"
        ),
        f"pairs by |exact effect| on {answer!r} (the drop of its margin over the next answer, and of its logit, "
        "when the pair alone is removed):",
    ]
    for rank, pair in enumerate(record["top"], 1):
        i, j = pair["pair"]
        lines.append(
            f"  {rank}. ({i},{j}) {pair['objects'][0]} — {pair['objects'][1]}: "
            f"effect {pair['effect']:+.4g} (logit {pair['logit_effect']:+.4g}), ‖g‖ {pair['norm']:.4g}"
        )
    removed = record["top_removed"]
    lines.append(
        f"removing these {removed['pairs']} together changes the margin of {answer!r} by "
        f"{removed['answer_margin_change']:+.4g}, its logit by {removed['answer_logit_change']:+.4g} "
        f"(answer then {removed['answer_after']})"
    )
    kept = "; ".join(f"({p['pair'][0]},{p['pair'][1]})" for p in record["kept"])
    lines.append(f"kept pairs: {kept or 'none (the answer is the one left with every pair removed)'}")
    if "top_touches_relevant" in record:
        lines.append(
            f"the top pair {'involves' if record['top_touches_relevant'] else 'does not involve'} {relevant} "
            f"(objects {record['relevant_objects']})"
        )
    lines.append(
        f"norm heuristic vs exact effect: Spearman {record['spearman_norm_effect']} "
        f"(with |effect|: {record['spearman_norm_abs_effect']}), top-5 overlap {record['top5_overlap']:.0%}"
    )
    return "\n".join(lines)


def _figures_text(result: dict[str, Any]) -> str:
    return "".join(f"\nwrote {path}" for path in result.get("figures", []))


# ---------------------------------------------------------------------------- Sudoku RRN: beliefs by step
def _sudoku_steps(args: argparse.Namespace) -> dict[str, Any]:
    """Each cell's digit distribution after every step, when cells settle, and silenced edge kinds."""
    from relnet.explain.steps import EDGE_KINDS, check_sudoku_rrn, puzzle_record, run_batches, silencing_summary
    from relnet.tasks import get_task
    from relnet.training.weights import load_model

    _, model = load_model(Path(args.weights), expect_task="sudoku")
    check_sudoku_rrn(model, str(args.weights))
    steps = model.eval_steps if args.steps is None else args.steps
    if steps < 1:
        raise RelnetError(f"--steps must be at least 1, not {steps}")
    task = get_task("sudoku")
    if args.split not in task.splits:
        raise RelnetError(f"unknown split {args.split!r} for sudoku; choose one of {', '.join(task.splits)}")
    table = task.load(Path(args.data), args.split)
    payload: dict[str, Any] = {"task": "sudoku", "model": "rrn", "weights": str(args.weights), "data": str(args.data)}
    payload |= {"split": args.split, "steps": steps, "silenced": args.silence}
    if args.index is not None:
        if not 0 <= args.index < len(table):
            raise RelnetError(
                f"--index {args.index} is out of range: {args.split} has {len(table)} puzzles (0 to {len(table) - 1})"
            )
        batch, found = next(run_batches(model, table, [args.index], steps, args.silence))
        record = puzzle_record(batch, found, 0, detail=True)
        payload["puzzle"] = {"index": args.index, **record}
        text = _steps_text(record, steps, args.silence)
        if args.out:
            curves = {"none": record["right_cells"]}
            for kind in EDGE_KINDS:
                if kind != args.silence:
                    _, other = next(run_batches(model, table, [args.index], steps, kind))
                    curves[kind] = other.right[0].sum(dim=-1).tolist()
            payload["figures"] = [str(_draw_steps(record, curves, args, Path(args.out)))]
        payload["text"] = text + _figures_text(payload)
        return payload
    indices = range(0, len(table), args.stride)[: args.limit]
    kinds = [None, *(EDGE_KINDS if args.silence is None else (args.silence,))]
    summaries, records = {}, []
    for kind in kinds:
        print(f"running {len(indices)} puzzles with {kind or 'no'} edges silenced", file=sys.stderr, flush=True)
        summaries[kind or "none"], found = silencing_summary(model, table, indices, steps, kind)
        records = records or found
    payload |= {"puzzles_explained": len(indices), "silencing": summaries, "puzzles": records}
    payload["text"] = silencing_text(payload)
    return payload


def silencing_text(payload: dict[str, Any]) -> str:
    """The table of a Sudoku RRN's solve rates with each edge kind silenced (from the JSON payload)."""
    steps, reported = payload["steps"], _reported(payload["steps"])
    lines = [
        f"Sudoku RRN on {payload['data']} ({payload['split']}), {payload['puzzles_explained']} puzzles, {steps} steps",
        f"{'silenced':<10}{'solved':>8}{'cells':>8}{'settle':>8}   solved after steps " + ", ".join(map(str, reported)),
    ]
    for kind, row in payload["silencing"].items():
        by_step = "  ".join(f"{row['solved_by_step'][step - 1]:.1%}" for step in reported)
        lines.append(f"{kind:<10}{row['solved']:>8.1%}{row['cells']:>8.1%}{row['blank_settle_mean']:>8.1f}   {by_step}")
    lines.append(
        "\nsolved: whole grids right at the last step; cells: blank cells right; settle: mean step from which a "
        "blank cell's most probable digit no longer changes; silenced: the edges between cells sharing that unit "
        "dropped (648 of 1,620 each)."
    )
    return "\n".join(lines)


def _reported(steps: int) -> list[int]:
    from relnet.tasks.sudoku.metrics import REPORTED_STEPS

    return sorted({step for step in REPORTED_STEPS if step <= steps} | {steps})


def _steps_text(record: dict[str, Any], steps: int, silence: str | None) -> str:
    solved = record["solved_at_step"]
    lines = [
        f"{record['givens']} givens, {steps} steps"
        + (f", {silence} edges silenced" if silence else "")
        + ": "
        + (
            f"solved from step {solved} on"
            if solved
            else f"not solved ({record['blank_cells_right']} of {record['blank_cells']} blank cells right)"
        ),
        "the digits after the last step (* marks a wrong one):",
    ]
    digits, truth, settled = record["final_digits"], record["solution"], record["settled"]
    for row in range(9):
        cells = [
            digits[9 * row + col] + ("*" if digits[9 * row + col] != truth[9 * row + col] else " ") for col in range(9)
        ]
        lines.append((" ".join(cells[0:3]) + " | " + " ".join(cells[3:6]) + " | " + " ".join(cells[6:9])).rstrip())
    lines.append("the step from which each cell keeps its last digit:")
    for row in range(9):
        cells = [f"{settled[9 * row + col]:3d}" for col in range(9)]
        lines.append("".join(cells[0:3]) + " |" + "".join(cells[3:6]) + " |" + "".join(cells[6:9]))
    right = record["right_cells"]
    lines.append("cells right after steps " + ", ".join(f"{step}: {right[step - 1]}" for step in _reported(steps)))
    return "\n".join(lines)


def _draw_steps(record: dict[str, Any], curves: dict[str, list[int]], args: argparse.Namespace, path: Path) -> Path:
    from relnet.viz.explain import draw_steps

    title = f"puzzle #{args.index} ({record['givens']} givens)" + (
        f", {args.silence} edges silenced" if args.silence else ""
    )
    return draw_steps(
        {
            "title": title,
            "settled": record["settled"],
            "digits": record["final_digits"],
            "solution": record["solution"],
            "quiz": record["quiz"],
            "curves": curves,
        },
        path,
    )
