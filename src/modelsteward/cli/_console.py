"""The rich console every ``steward`` subcommand prints tables with.

A terminal gets its own width; a pipe or a file (where rich would fall back to 80 columns
and wrap every table cell) gets ``$COLUMNS`` or 120 columns::

    >>> make_console().width >= 80
    True
"""

from __future__ import annotations

import os

from rich.console import Console

__all__ = ["make_console"]

PIPE_WIDTH = 120


def make_console(**options: object) -> Console:
    """A Console that does not squeeze tables to 80 columns when output is piped."""
    console = Console(soft_wrap=False, **options)  # type: ignore[arg-type]
    if console.is_terminal:
        return console
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else PIPE_WIDTH
    return Console(soft_wrap=False, width=width, **options)  # type: ignore[arg-type]
