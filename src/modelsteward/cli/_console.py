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
import re
import unicodedata

from rich.console import Console
from rich.markup import escape

__all__ = ["esc", "make_console", "plain"]

# ANSI/VT escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), 2-byte ESC x
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
                   r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")


def plain(text: object, *, keep_newlines: bool = True) -> str:
    """``str(text)`` without terminal escape sequences and control characters."""
    out = _ANSI.sub("", str(text))
    return "".join(
        ch for ch in out
        if (keep_newlines and ch in "\n\t") or unicodedata.category(ch) not in ("Cc", "Cf")
        or ch in "\u200d"  # zero-width joiner keeps emoji sequences whole
    )


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
