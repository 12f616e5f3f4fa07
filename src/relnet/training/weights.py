"""Trained weights as safetensors, with the task, model name and model config in the file's metadata.

``load_model(path)`` rebuilds the model from the file alone: no training code state, no pickles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from relnet.errors import RelnetError, shorten
from relnet.tasks import get_task

METADATA_KEY = "relnet"


def save_weights(path: Path, task: str, model_name: str, model_config: dict[str, Any], model: nn.Module) -> Path:
    """Write ``model``'s state dict and ``{"task", "model", "config"}`` to ``path`` (``.safetensors``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    header = {"task": task, "model": model_name, "config": _jsonable(model_config), "format": 1}
    save_file(state, str(path), metadata={METADATA_KEY: json.dumps(header)})
    return path


def read_header(path: Path) -> dict[str, Any]:
    """The ``{"task", "model", "config"}`` stored in a weights file."""
    path = Path(path)
    if not path.is_file():
        raise RelnetError(f"{path}: weights file not found")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise RelnetError(f"{path}: not a safetensors weights file ({error})") from None
    if METADATA_KEY not in metadata:
        raise RelnetError(f"{path}: safetensors file without relnet metadata (not saved by relnet)")
    try:
        header = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as error:
        raise RelnetError(f"{path}: corrupt relnet metadata ({error})") from None
    if not isinstance(header, dict) or not {"task", "model", "config"} <= header.keys():
        raise RelnetError(f'{path}: relnet metadata lacks "task", "model" or "config"')
    for key in ("task", "model"):
        if not isinstance(header[key], str):
            raise RelnetError(f'{path}: relnet metadata "{key}" must be a name, not {shorten(header[key])}')
    if not isinstance(header["config"], dict):
        raise RelnetError(
            f'{path}: relnet metadata "config" must be an object of model arguments, not {shorten(header["config"])}'
        )
    return header


def load_model(
    path: Path, *, expect_task: str | None = None, options: dict[str, Any] | None = None
) -> tuple[dict[str, Any], nn.Module]:
    """Rebuild the model stored in ``path``; returns its header and the model (on CPU, eval mode).

    ``options`` override entries of the saved configuration that leave the weights' shapes alone (e.g.
    the Sudoku RRN's ``eval_steps``); the returned header carries the configuration used.
    """
    header = read_header(path)
    if expect_task is not None and header["task"] != expect_task:
        raise RelnetError(f"{path}: weights of a {header['task']} model, but a {expect_task} model was expected")
    if options:
        header = {**header, "config": {**header["config"], **options}}
    try:
        model = get_task(header["task"]).build_model(header["model"], header["config"])
    except RelnetError as error:
        raise RelnetError(f"{path}: {error}") from None
    except (ValueError, RuntimeError, OverflowError) as error:  # e.g. a negative width
        raise RelnetError(
            f"{path}: cannot build model {shorten(header['model'])} from its saved config ({shorten(str(error), 200)})"
        ) from None
    load_state(path, model, header["model"])
    return header, model.eval()


def load_state(path: Path, model: nn.Module, model_name: str) -> None:
    """Load the tensors of ``path`` into ``model`` (strict), with a clear error when they do not fit."""
    with safe_open(str(path), framework="pt") as handle:
        state = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - safe_open has no iterator
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise RelnetError(f"{path}: weights do not fit model {model_name!r}: {error}") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value
