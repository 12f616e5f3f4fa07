"""A task's generator options, declared once as a dataclass, turned into ``relnet generate`` flags.

Each field becomes ``--field-name``: its type gives the parser (``bool`` fields become
``--x/--no-x``), ``metadata["help"]`` the help text, ``metadata["choices"]`` the allowed values and
``metadata["parse"]`` a function from the typed text to the value (for tuples, sizes, ranges). Only
the flags a user gives are passed on, so the dataclass's defaults and checks are the only ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any

_DEST_PREFIX = "option_"


def _plain_type(hint: Any) -> Any:
    """``int | None`` → ``int``; other hints unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        arguments = [a for a in typing.get_args(hint) if a is not type(None)]
        return arguments[0] if len(arguments) == 1 else hint
    return hint


def add_option_arguments(parser: argparse.ArgumentParser, options: type) -> None:
    """Add one flag per field of the dataclass ``options`` to ``parser``."""
    hints = typing.get_type_hints(options)
    group = parser.add_argument_group(f"{options.__name__} (the generator's options)")
    for field in dataclasses.fields(options):
        kind = _plain_type(hints[field.name])
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()  # type: ignore[misc]
        keywords: dict[str, Any] = {"dest": _DEST_PREFIX + field.name, "default": None}
        help_text = field.metadata.get("help", "")
        if kind is bool:
            keywords["action"] = argparse.BooleanOptionalAction
        else:
            parse = field.metadata.get("parse", kind if kind in (int, float, str) else None)
            if parse is None:
                raise TypeError(f"{options.__name__}.{field.name}: give metadata['parse'] for type {kind}")
            keywords["type"] = parse
            keywords["choices"] = field.metadata.get("choices")
            keywords["metavar"] = field.name.upper()
            if not (isinstance(default, tuple) or default is None):
                help_text = f"{help_text} (default {default})".strip()
        group.add_argument("--" + field.name.replace("_", "-"), help=help_text, **keywords)


def given_options(options: type, args: argparse.Namespace) -> dict[str, Any]:
    """``{field: value}`` for the fields of ``options`` whose flags were given in ``args``."""
    return {
        field.name: getattr(args, _DEST_PREFIX + field.name)
        for field in dataclasses.fields(options)
        if getattr(args, _DEST_PREFIX + field.name, None) is not None
    }


def options_from_args(options: type, args: argparse.Namespace) -> Any:
    """An instance of ``options`` with the flags given in ``args`` (the rest at their defaults)."""
    return options(**given_options(options, args))
