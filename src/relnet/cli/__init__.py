"""The ``relnet`` command line: generate | inspect | train | eval | reproduce.

Every command that reports numbers takes ``--json`` and then prints exactly one JSON object on stdout;
progress and messages go to stderr. Exit status: 0 done, 2 a user error (one line on stderr, no
traceback), 130 stopped by SIGINT (Ctrl-C), 143 stopped by SIGTERM; 1 only for a bug (a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from relnet.errors import Interrupted, RelnetError, shorten

EXIT_USER_ERROR = 2
EXIT_SIGINT = 128 + signal.SIGINT
#: Seeds seed numpy, Python and torch, which all take 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1
#: An error message is one line of at most this many characters (a bad value may be huge).
MESSAGE_LIMIT = 600


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _raise_interrupted(signal_number: int, frame: FrameType | None) -> None:
    raise Interrupted(signal_number, f"stopped by {signal.Signals(signal_number).name}")


@contextlib.contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    """SIGTERM raises :class:`Interrupted` (as SIGINT raises KeyboardInterrupt), so that cleanups run
    (a half-generated dataset is removed) and the exit status says what happened. Training installs
    its own handler, which stops at the next step and saves a checkpoint first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _one_line(message: str) -> str:
    """``message`` on one line (line breaks become spaces), cut to :data:`MESSAGE_LIMIT` characters."""
    line = message.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return line if len(line) <= MESSAGE_LIMIT else f"{line[: MESSAGE_LIMIT - 1]}…"


def _is_global_zero() -> bool:
    """False in the extra processes of a multi-device run, which must not print results again."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    from relnet.training.results import finite

    if _is_global_zero():
        print(json.dumps(finite(payload), default=str, allow_nan=False) if args.json else text, flush=True)


# ---------------------------------------------------------------------------- commands
def cmd_generate(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.cli.options import options_from_args
    from relnet.tasks import get_task
    from relnet.training.reproduce import generate_dataset

    task = get_task(args.task)
    options = None if task.options is None else options_from_args(task.options, args)
    summary = generate_dataset(task.name, Path(args.out), seed=args.seed, options=options, force=args.force)
    return {"task": task.name, "out": str(args.out), "seed": args.seed, "summary": summary}


def cmd_inspect(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.tasks import get_task

    return get_task(args.task).inspect(Path(args.path))


def _hardware(args: argparse.Namespace):
    from relnet.training import Hardware

    devices: str | int = int(args.devices) if str(args.devices).isdigit() else args.devices
    return Hardware(accelerator=args.accelerator, devices=devices, strategy=args.strategy, num_nodes=args.num_nodes)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = ("epochs", "batch_size", "lr", "warmup_steps", "schedule", "precision", "augment", "time_budget", "compile")
    overrides = {name: getattr(args, name) for name in names}
    return {**overrides, "curriculum": () if args.no_curriculum else None, "model": _model_options(args)}


def _model_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--model-option`` flags as a dict of model arguments (None when none are given)."""
    return dict(_model_option(text) for text in args.model_option) if args.model_option else None


def _model_option(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` → ``(NAME, VALUE)``, the value read as JSON (``128``, ``[128, 128]``, ``true``) or
    else kept as a string (``onehot``)."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise RelnetError(f"--model-option wants NAME=VALUE, not {text!r}")
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value


def _data_options(args: argparse.Namespace, task: Any) -> dict[str, Any]:
    """The generator flags given to train or reproduce; they make no sense beside --data."""
    from relnet.cli.options import given_options

    given = given_options(task.options, args) if task.options is not None else {}
    if given and args.data:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise RelnetError(f"{flags} change the generated data; with --data nothing is generated: give one or the other")
    return given


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.tasks import get_task
    from relnet.training import train
    from relnet.training.reproduce import recipe_data

    task = get_task(args.task)
    config = task.preset(args.model, args.preset).with_overrides(**_overrides(args))
    overrides = _data_options(args, task)
    if args.data:
        data = Path(args.data)
    else:
        data = recipe_data(
            task.name, config, preset=args.preset, seed=args.seed, overrides=overrides, progress_note=note
        )
    run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / task.name / args.preset / args.model
    outcome = train(
        task.name,
        args.model,
        data,
        config,
        run_dir=run_dir,
        seed=args.seed,
        hardware=_hardware(args),
        resume=args.resume,
        init_weights=Path(args.init_weights) if args.init_weights else None,
        progress=not args.no_progress,
        note=note,
    )
    return {
        "task": task.name,
        "model": args.model,
        "val_metrics": outcome.val_metrics,
        "weights": str(outcome.weights),
        "run_dir": str(run_dir),
        "train_seconds": round(outcome.wall_seconds, 1),
    }


def cmd_eval(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.training import evaluate, module_from_weights

    options = _model_options(args)
    module = module_from_weights(Path(args.weights), options=options)
    metrics = evaluate(
        module,
        Path(args.data),
        args.split,
        hardware=_hardware(args),
        precision=args.precision,
        progress=not args.no_progress,
        recalibrate_batch_norm=args.recalibrate_bn,
    )
    return {
        "task": module.task.name,
        "model": module.model_name,
        "split": args.split,
        "data": args.data,
        **({"model_options": options} if options else {}),
        "metrics": metrics,
    }


def cmd_reproduce(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.tasks import get_task
    from relnet.training import reproduce

    if args.quick and args.preset not in ("full", "quick"):
        raise RelnetError(f"--quick and --preset {args.preset} contradict each other; give one")
    preset = "quick" if args.quick else args.preset
    data_options = _data_options(args, get_task(args.task))
    records = reproduce(
        args.task,
        models=args.model,
        preset=preset,
        data_root=Path(args.data) if args.data else None,
        results_dir=Path(args.results),
        runs_dir=Path(args.runs),
        seed=args.seed,
        command="relnet " + shlex.join(sys.argv[1:]),
        hardware=_hardware(args),
        progress=not args.no_progress,
        overrides=_overrides(args),
        init_weights=Path(args.init_weights) if args.init_weights else None,
        data_options=data_options,
        note=note,
    )
    return {"task": args.task, "preset": preset, "results": records}


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.cli.show import show
    from relnet.training import module_from_weights

    module = module_from_weights(Path(args.weights))
    try:
        indices = [int(part) for part in args.questions.split(",") if part.strip()]
    except ValueError:
        raise RelnetError(f"--questions must be comma-separated integers, got {args.questions!r}") from None
    if not indices:
        raise RelnetError("--questions names no question; give comma-separated indices such as 0,1,2")
    out = show(module.task.name, module.model_name, module.model, Path(args.data), args.split, indices, Path(args.out))
    return {"task": module.task.name, "model": module.model_name, "out": str(out), "questions": indices}


def cmd_bench(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.bench import run_bench

    return run_bench(args.what, quick=args.quick, note=note, figure=Path(args.figure) if args.figure else None)


def cmd_results(args: argparse.Namespace) -> dict[str, Any]:
    from relnet.training.reproduce import write_summary

    folder = Path(args.dir)
    table = write_summary(args.task, folder)
    return {"task": args.task, "dir": str(folder), "table": table}


# ---------------------------------------------------------------------------- text output
def _format_metrics(metrics: dict[str, float], task_name: str) -> str:
    from relnet.tasks import get_task

    task = get_task(task_name)  # fractions print as percentages, counts and values as numbers
    shown = {name: value for name, value in metrics.items() if task.metric(name).table}
    lines = [
        f"  {name:<18} {task.format_metric(name, value):>6}{'%' if task.metric(name).is_percentage else ''}"
        for name, value in shown.items()
    ]
    if len(shown) < len(metrics):
        lines.append(f"  (and {len(metrics) - len(shown)} more metrics with --json)")
    return "\n".join(lines)


def _text(args: argparse.Namespace, payload: dict[str, Any]) -> str:
    if args.command == "generate":
        sizes = ", ".join(f"{split} {count}" for split, count in payload["summary"].items())
        return f"wrote {payload['task']} to {payload['out']} (seed {payload['seed']}): {sizes}"
    if args.command == "inspect":
        return json.dumps(payload, indent=2)
    if args.command == "train":
        metrics = _format_metrics(payload["val_metrics"], payload["task"])
        return f"val metrics:\n{metrics}\nweights: {payload['weights']}"
    if args.command == "eval":
        metrics = _format_metrics(payload["metrics"], payload["task"])
        return f"{payload['model']} on {payload['data']} ({payload['split']}):\n{metrics}"
    if args.command == "results":
        return payload["table"]
    if args.command == "show":
        return f"wrote {payload['out']}"
    if "text" in payload:  # bench and the tasks' own verbs format themselves
        return str(payload.pop("text"))
    if args.command == "reproduce":
        from relnet.tasks import get_task
        from relnet.training.results import results_table

        return results_table(get_task(args.task), payload["results"]) if payload["results"] else ""
    return json.dumps(payload, indent=2)


# ---------------------------------------------------------------------------- parser
def _add_hardware(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("hardware (Lightning)")
    group.add_argument("--accelerator", default="auto", help="cpu, gpu, auto (default)")
    group.add_argument("--devices", default="1", help="devices per node: a number or 'auto' (default 1)")
    group.add_argument("--strategy", default="auto", help="e.g. ddp for several devices or nodes")
    group.add_argument("--num-nodes", type=int, default=1)
    group.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_recipe(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("recipe overrides")
    group.add_argument("--epochs", type=int)
    group.add_argument("--batch-size", type=int)
    group.add_argument("--lr", type=float)
    group.add_argument("--warmup-steps", type=int)
    group.add_argument(
        "--init-weights",
        metavar="FILE",
        help="start from this weights file (same model) with a fresh optimiser and schedule",
    )
    group.add_argument(
        "--time-budget",
        type=float,
        metavar="MINUTES",
        help="stop training after this many minutes and decay the learning rate to fit them",
    )
    group.add_argument("--schedule", choices=("constant", "cosine"), help="learning-rate schedule after warm-up")
    group.add_argument(
        "--model-option",
        action="append",
        metavar="NAME=VALUE",
        help="set one of the model's constructor arguments over the recipe's (repeatable; VALUE as JSON, "
        "e.g. hidden_dim=128 or mlp_widths=[128])",
    )
    group.add_argument(
        "--no-curriculum",
        action="store_true",
        help="train on every example from the first epoch, skipping the recipe's curriculum (e.g. to continue "
        "from --init-weights that have been through it)",
    )
    group.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        help="train on the task's answer-preserving transforms of each batch (Sort-of-CLEVR: mirror images)",
    )
    group.add_argument(
        "--precision", help="auto (default: bf16-mixed on fast-bf16 hardware, else 32-true), bf16-mixed, 32-true"
    )
    group.add_argument(
        "--compile",
        nargs="?",
        const="default",
        metavar="MODE",
        help="run the model through torch.compile (MODE: default, reduce-overhead for CUDA graphs, max-autotune)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relnet", description="Relational reasoning: models, benchmarks, reproductions."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="write a dataset in the task's canonical format")
    generate.add_argument("task")
    generate.add_argument("--out", required=True)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument(
        "--force", action="store_true", help="replace OUT if it is not empty (once the new dataset is complete)"
    )

    inspect = commands.add_parser("inspect", help="validate a dataset and print its statistics")
    inspect.add_argument("task")
    inspect.add_argument("path")

    train = commands.add_parser("train", help="train a model (Lightning: progress, checkpoints, logs, DDP)")
    train.add_argument("task")
    train.add_argument("--model", required=True)
    train.add_argument("--data", help="dataset folder (default: generate into data/TASK)")
    train.add_argument("--preset", default="full", help="quick | full (default) | gpu | paper")
    train.add_argument("--run-dir", help="checkpoints, logs and weights (default runs/TASK/PRESET/MODEL)")
    train.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoints/last.ckpt")
    train.add_argument("--seed", type=int, default=0)
    _add_recipe(train)
    _add_hardware(train)

    evaluate = commands.add_parser("eval", help="score saved weights on a dataset of their task")
    evaluate.add_argument("--weights", required=True)
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--precision", help="default: the recipe's (auto)")
    evaluate.add_argument(
        "--recalibrate-bn", action="store_true", help="recompute batch-norm statistics on DATA's train split first"
    )
    evaluate.add_argument(
        "--model-option",
        action="append",
        metavar="NAME=VALUE",
        help="override a saved model argument that leaves the weights alone (VALUE as JSON), e.g. eval_steps=64",
    )
    _add_hardware(evaluate)

    reproduce = commands.add_parser("reproduce", help="generate, train, evaluate and write results/")
    reproduce.add_argument("task")
    reproduce.add_argument(
        "--model", action="append", help="model(s) to run (default: the preset's default models, else all)"
    )
    reproduce.add_argument("--quick", action="store_true", help="the quick preset (minutes on a CPU)")
    reproduce.add_argument("--preset", default="full", help="quick | full (default) | gpu | paper")
    reproduce.add_argument("--data", help="use this dataset instead of generating one")
    reproduce.add_argument("--results", default="results")
    reproduce.add_argument("--runs", default="runs")
    reproduce.add_argument("--seed", type=int, default=0)
    _add_recipe(reproduce)
    _add_hardware(reproduce)

    results = commands.add_parser("results", help="rebuild the table and plot of a results folder")
    results.add_argument("task")
    results.add_argument("dir", help="e.g. results/sort-of-clevr")

    show = commands.add_parser("show", help="draw a model's answers and the object pairs that drove them")
    show.add_argument("--weights", required=True)
    show.add_argument("--data", required=True)
    show.add_argument("--split", default="val")
    show.add_argument("--questions", default="0,1,2,3,10,11,12,13", help="question indices, comma-separated")
    show.add_argument("--out", default="show.png")

    from relnet.bench import bench_names

    bench = commands.add_parser("bench", help="side-by-side speed and memory of relnet's kernels vs naive ones")
    bench.add_argument("what", help="what to benchmark: " + ", ".join(bench_names()))
    bench.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes (seconds)")
    bench.add_argument("--figure", metavar="FILE", help="rn-training: draw accuracy against training seconds (PNG)")

    subs = [generate, inspect, train, evaluate, reproduce, results, show, bench]
    for verb, (sub, handler) in _task_commands(commands).items():
        COMMANDS[verb] = handler
        subs.append(sub)
    for sub in subs:
        if not any(action.dest == "json" for action in sub._actions):
            sub.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def _task_commands(commands: argparse._SubParsersAction) -> dict[str, tuple[argparse.ArgumentParser, Any]]:
    """The task-specific verbs (``relnet solve``, ``relnet clevr ...``) with their parsers."""
    from relnet.cli import clevr, demo, explain, solve

    return {module.VERB: (module.add_parser(commands), module.run) for module in (solve, clevr, explain, demo)}


COMMANDS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "generate": cmd_generate,
    "inspect": cmd_inspect,
    "train": cmd_train,
    "eval": cmd_eval,
    "reproduce": cmd_reproduce,
    "results": cmd_results,
    "show": cmd_show,
    "bench": cmd_bench,
}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    if len(argv) > 1 and argv[0] in ("generate", "train", "reproduce") and not argv[1].startswith("-"):
        # A task's generator flags come from its options dataclass, once the task is known (before
        # parsing, so that `relnet generate TASK --help` lists them). For train and reproduce they
        # change the data generated when no --data is given.
        from relnet.cli.options import add_option_arguments
        from relnet.tasks import get_task

        task = get_task(argv[1])
        if task.options is not None:
            command_parser = next(action for action in parser._subparsers._group_actions).choices[argv[0]]
            add_option_arguments(command_parser, task.options)
    return parser.parse_args(argv)


def _check_seed(args: argparse.Namespace) -> None:
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise RelnetError(f"--seed must be an integer from 0 to {MAX_SEED}, not {shorten(seed, 40)}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from relnet.runtime import keep_freed_memory

    keep_freed_memory()
    try:
        with _sigterm_as_exception():
            args = _parse(argv)
            _check_seed(args)
            # While a command works, anything printed (progress bars, logs) goes to stderr: stdout holds only
            # the result, printed afterwards (so ``relnet ... > result.txt`` captures just that).
            with contextlib.redirect_stdout(sys.stderr):
                payload = COMMANDS[args.command](args)
            _emit(args, payload, _text(args, payload))
    except (RelnetError, OSError) as error:  # OSError: an unwritable output folder, a full disk, ...
        print(f"relnet: error: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Interrupted as stop:
        print(f"relnet: {_one_line(str(stop))}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print("relnet: interrupted by SIGINT", file=sys.stderr)
        return EXIT_SIGINT
    return 0


if __name__ == "__main__":
    sys.exit(main())
