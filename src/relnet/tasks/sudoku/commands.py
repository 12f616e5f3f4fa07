"""``relnet solve``: the RRN's answer to a puzzle, and optionally how it forms step by step."""

from __future__ import annotations

import argparse

from relnet.tasks.base import CommandHandler


def add_solve_command(commands: argparse._SubParsersAction) -> dict[str, CommandHandler]:
    solve = commands.add_parser("solve", help="solve Sudoku puzzles with a trained RRN")
    solve.add_argument("puzzle", help="81 characters (0 or . for blanks) or a puzzle file")
    return {"solve": lambda args: {"text": "not yet"}}
