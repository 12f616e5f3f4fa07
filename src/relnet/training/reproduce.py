"""``relnet reproduce``: generate a task's data, train its models with a preset, evaluate them on test,
and write ``results/<task>/`` (one JSON record and weights file per model, a table and a chart)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from relnet.errors import DataFormatError, RelnetError, shorten
from relnet.runtime import device_description
from relnet.tasks import get_task
from relnet.tasks.base import TrainConfig
from relnet.training.results import git_commit, results_table, write_result
from relnet.training.run import Hardware, evaluate, train
from relnet.viz import metric_bars, metric_curves

GENERATED_MARKER = ".relnet-generated.json"


def default_data_root(
    task_name: str, seed: int, preset: str | None = None, overrides: dict[str, Any] | None = None
) -> Path:
    """Where generated data lives when no ``--data`` is given: ``data/<task>`` (seed 0), ``data/<task>-seed<S>``,
    ``data/<task>-<preset>...`` for a preset with its own data (``Task.preset_data``), and a suffix
    naming the generator-option ``overrides`` (e.g. ``--source FILE``) when there are any: a short stable hash."""
    name = task_name
    if preset is not None and preset in get_task(task_name).preset_data:
        name += f"-{preset}"
    if overrides:
        name += "-" + hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return Path("data") / (name if seed == 0 else f"{name}-seed{seed}")


def dataset_options(task_name: str, preset: str | None = None, overrides: dict[str, Any] | None = None) -> Any:
    """The generator options of ``preset``'s data (the defaults when it has none), with ``overrides``."""
    options = get_task(task_name).default_options(preset)
    if overrides:
        if options is None:
            raise RelnetError(f"{task_name} has no generator options to override")
        options = dataclasses.replace(options, **overrides)
    return options


def ensure_dataset(
    task_name: str,
    root: Path,
    *,
    seed: int,
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    progress_note=print,
) -> None:
    """Generate ``task_name``'s dataset at ``root`` (with ``preset``'s generator options and any
    ``overrides``) unless relnet already generated it there with the same seed and options.

    A folder that exists without relnet's marker (or with another seed or options) is never overwritten.
    """
    root = Path(root)
    marker = root / GENERATED_MARKER
    task = get_task(task_name)
    options = dataset_options(task_name, preset, overrides)
    wanted: dict[str, Any] = {"task": task_name, "seed": seed}
    if preset in task.preset_data or overrides:
        wanted["options"] = json.loads(json.dumps(dataclasses.asdict(options)))
    if task.generator_version > 1:  # version 1 markers predate the field
        wanted["generator_version"] = task.generator_version
    found = None
    if marker.is_file():
        try:
            found = json.loads(marker.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            found = None
        if found == wanted:
            return
    if root.exists() and any(root.iterdir()):
        if isinstance(found, dict) and {**found, "generator_version": 0} == {**wanted, "generator_version": 0}:
            raise RelnetError(
                f"{root} was made by an older {task_name} generator (version {found.get('generator_version', 1)}, "
                f"now {task.generator_version}); remove it to regenerate, or pass it with --data to use it as it is"
            )
        options_text = " and these generator options" if "options" in wanted else ""
        raise RelnetError(
            f"{root} exists but does not hold {task_name} data generated with seed {seed}{options_text}; "
            "pass it with --data to use it, or remove it to regenerate"
        )
    progress_note(f"generating {task_name} (seed {seed}) into {root} ...")
    generate_dataset(task_name, root, seed=seed, options=options, marker=wanted)


def recipe_data(
    task_name: str,
    config: TrainConfig,
    *,
    preset: str,
    seed: int,
    overrides: dict[str, Any] | None = None,
    progress_note=print,
) -> Path:
    """The generated data ``config`` trains on (its ``data`` entry, else ``preset``'s, with the generator
    option ``overrides``), made if missing."""
    name = config.data or preset
    declared = get_task(task_name).preset_data
    if config.data is not None and config.data not in declared:
        known = ", ".join(declared) or "none"
        raise RelnetError(
            f"the recipe asks for {task_name} data {config.data!r}, which is not declared (known: {known})"
        )
    root = default_data_root(task_name, seed, name, overrides)
    ensure_dataset(task_name, root, seed=seed, preset=name, overrides=overrides, progress_note=progress_note)
    return root


def generate_dataset(
    task_name: str,
    out: Path,
    *,
    seed: int,
    options: Any = None,
    force: bool = False,
    marker: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``task_name``'s dataset to ``out`` (``options``: the task's generator options, default its
    defaults); returns the generator's summary.

    The files are written into a hidden folder beside ``out`` that is renamed to ``out`` only when the
    generation is complete, so an interrupted generation leaves nothing a reader would later take for
    a dataset. A non-empty ``out`` is refused unless ``force``; it is then replaced, once the new
    dataset is complete. ``marker``: written as :data:`GENERATED_MARKER` inside the new folder.
    """
    task = get_task(task_name)
    if Path(out).exists() and not Path(out).is_dir():
        raise RelnetError(f"{out} is a file; give a folder to generate into")
    if Path(out).is_dir() and any(Path(out).iterdir()) and not force:
        raise RelnetError(f"{out} exists and is not empty; pass --force to replace it, or choose another --out")
    out = Path(os.path.abspath(out))  # "." or "data/.." get a name, for the hidden folder beside them
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        summary = task.generate(partial, seed=seed, options=task.default_options() if options is None else options)
        if marker is not None:
            (partial / GENERATED_MARKER).write_text(json.dumps(marker))
        if out.exists():
            retired = out.parent / f".{out.name}.replaced-{os.getpid()}"
            out.rename(retired)
            try:
                partial.rename(out)
            except OSError:
                retired.rename(out)
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # left only when something failed
    return summary


def reproduce(
    task_name: str,
    *,
    models: list[str] | None,
    preset: str,
    data_root: Path | None,
    results_dir: Path,
    runs_dir: Path,
    seed: int,
    command: str,
    hardware: Hardware | None = None,
    progress: bool = True,
    overrides: dict[str, Any] | None = None,
    init_weights: Path | None = None,
    data_options: dict[str, Any] | None = None,
    note=print,
) -> list[dict[str, Any]]:
    """Generate (unless ``data_root``), train each model with ``preset``, evaluate on test, and write
    ``results_dir/<task>[/<preset>]/<model>.json`` + weights + a table. Returns the result records."""
    task = get_task(task_name)
    models = models or list(task.preset_models.get(preset, task.models))
    if not models:
        raise RelnetError(f"{task_name} has no models to reproduce yet")
    if init_weights is not None and len(models) != 1:
        raise RelnetError("--init-weights needs exactly one --model")
    for model_name in models:
        task.preset(model_name, preset)  # fail on a bad name before any work
    generated = data_root is None
    out_dir = Path(results_dir) / task_name / ("" if preset == "full" else preset)
    commit = git_commit()  # now: the code that runs was loaded now, and may be committed over meanwhile
    records = []
    for model_name in models:
        config = task.preset(model_name, preset).with_overrides(**(overrides or {}))
        data = data_root or recipe_data(
            task_name, config, preset=preset, seed=seed, overrides=data_options, progress_note=note
        )
        length = f"{config.epochs} epochs"
        if config.time_budget is not None:
            length = f"at most {config.epochs} epochs or {config.time_budget:g} minutes"
        note(f"training {task_name} / {model_name} ({preset} preset, {length}) ...")
        start = time.perf_counter()
        outcome = train(
            task_name,
            model_name,
            data,
            config,
            run_dir=Path(runs_dir) / task_name / preset / model_name,
            seed=seed,
            hardware=hardware,
            progress=progress,
            init_weights=init_weights,
            note=note,
        )
        metrics = evaluate(outcome.module, data, "test", hardware=hardware, progress=progress)
        wall = time.perf_counter() - start
        if not outcome.is_global_zero:
            continue
        weights = out_dir / f"{model_name}.safetensors"
        weights.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(outcome.weights, weights)
        record = {
            "task": task_name,
            "model": model_name,
            "preset": preset,
            "split": "test",
            "metrics": metrics,
            "val_metrics": outcome.val_metrics,
            # None: the last weights were kept (keep="last", or a budgeted run stopped before validating)
            "kept_epoch": outcome.kept_epoch,
            "train_steps": outcome.steps,
            "command": command,
            "commit": commit,
            "device": device_description(),
            # fp32 sums are reduced in a thread-count-dependent order: the same seed reproduces a run
            # bit for bit only with the same number of threads.
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "wall_seconds": round(wall, 1),
            "train_seconds": round(outcome.wall_seconds, 1),
            "seed": seed,
            "data": _data_description(seed, config.data, data_options) if generated else str(data_root),
            "init_weights": None if init_weights is None else str(init_weights),
            "weights": weights.name,
            "train_config": asdict(config),
        }
        write_result(out_dir / f"{model_name}.json", record)
        records.append(record)
        note(
            f"{model_name}: " + ", ".join(f"{k} {task.format_metric(k, metrics.get(k))}" for k in task.headline_metrics)
        )
    if records:
        write_summary(task_name, out_dir)
    return records


#: What a results record must hold to be tabulated: field → (JSON types, what to write in the message).
RESULT_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "model": (str, "a model name"),
    "metrics": (dict, "an object of metrics"),
    "command": (str, "the command that produced it"),
    "device": (str, "the device it ran on"),
    "wall_seconds": ((int, float), "a number of seconds"),
}


def _data_description(seed: int, name: str | None, overrides: dict[str, Any] | None) -> str:
    """``generated with seed 0``, plus the named dataset and the generator options given on the command line."""
    text = f"generated with seed {seed}" + (f" ({name} data)" if name else "")
    if overrides:
        text += " with " + ", ".join(f"{key}={value}" for key, value in sorted(overrides.items()))
    return text


def read_result(path: Path, task_name: str) -> dict[str, Any] | None:
    """The results record in ``path`` if it is one of ``task_name``'s, None for another task's file;
    :class:`DataFormatError` for a file that is not valid JSON or a record that lacks a field."""
    try:
        record = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataFormatError(path, f"not a valid results file ({error})") from None
    if not isinstance(record, dict):
        raise DataFormatError(path, "not a results record (expected a JSON object)")
    if record.get("task") != task_name:
        return None
    for field, (kinds, what) in RESULT_FIELDS.items():
        if not isinstance(record.get(field), kinds) or isinstance(record.get(field), bool):
            raise DataFormatError(path, f'a results record needs "{field}": {what}')
    bad = [name for name, value in record["metrics"].items() if not isinstance(value, (int, float, type(None)))]
    if bad:
        raise DataFormatError(path, f'"metrics" must map names to numbers (or null); {shorten(bad[0])} does not')
    return record


def write_summary(task_name: str, out_dir: Path) -> str:
    """Rebuild ``out_dir/README.md`` (table beside the paper) and ``accuracy.png`` from its JSON results."""
    task = get_task(task_name)
    records = [record for path in sorted(Path(out_dir).glob("*.json")) if (record := read_result(path, task_name))]
    order = {name: index for index, name in enumerate(task.models)}
    records = sorted(records, key=lambda r: order.get(r["model"], 99))
    if not records:
        raise RelnetError(f"no {task_name} results in {out_dir}")
    table = results_table(task, records)
    commands = "\n".join(sorted({f"    {r['command']}" for r in records}))
    # The chart's axis is accuracy in %: fractions only (no counts, errors or real values).
    fractions = [n for n in records[0]["metrics"] if task.metric(n).kind == "fraction" and task.metric(n).table]
    metric_bars(records, fractions, Path(out_dir) / "accuracy.png", title=f"{task_name} (test)")
    pictures = ["![accuracy per question type](accuracy.png)"]
    # A declared family of numbered fractions (jumps_0..7, distance_1..7, step_1..8) is also a curve.
    for family in (m for m in task.metrics if "*" in m.name and m.kind == "fraction" and m.table):
        name = family.name.rstrip("_*")
        drawn = metric_curves(
            records, family.name, Path(out_dir) / f"{name}.png", paper=task.paper_results, title=f"{task_name} (test)"
        )
        if drawn is not None:
            pictures.append(f"![accuracy per {name.replace('_', ' ')}]({drawn.name})")
    devices = ", ".join(sorted({r["device"] for r in records}))
    (Path(out_dir) / "README.md").write_text(
        f"# {task_name}\n\nTest accuracy (%) on {devices}, produced by\n\n{commands}\n\n{table}\n\n"
        + "\n\n".join(pictures)
        + "\n"
    )
    return table
