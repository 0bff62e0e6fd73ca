r"""The rich console every ``steward`` subcommand prints tables with.

A terminal gets its own width; a pipe or a file (where rich would fall back to 80 columns
and wrap every table cell) gets ``$COLUMNS`` or 120 columns::

    >>> make_console().width >= 80
    True

Every user string (a column name, a model name, a file name, an error text) goes through
:func:`esc` before it is printed with rich markup, and through :func:`plain` before it is
printed without: terminal control sequences are removed and ``[...]`` is escaped, so a
column named ``[/]`` or ``\x1b[31m`` prints as text::

    >>> esc("[/]"), plain("\x1b[31mred\x1b[0m\x07")
    ('\\[/]', 'red')
"""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape

from modelsteward.report.text import strip_controls

__all__ = ["esc", "make_console", "plain"]

def plain(text: object, *, keep_newlines: bool = True) -> str:
    """``str(text)`` without terminal escape sequences and control characters."""
    return strip_controls(text, keep_newlines=keep_newlines)


def esc(text: object) -> str:
    """``text`` safe to embed in rich markup: control characters removed, markup escaped."""
    return escape(plain(text))

PIPE_WIDTH = 120


def make_console(**options: object) -> Console:
    """A Console that does not squeeze tables to 80 columns when output is piped."""
    console = Console(soft_wrap=False, **options)  # type: ignore[arg-type]
    if console.is_terminal:
        return console
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else PIPE_WIDTH
    return Console(soft_wrap=False, width=width, **options)  # type: ignore[arg-type]
