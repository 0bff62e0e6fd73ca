"""One way for every ``steward`` subcommand to report a :class:`StewardError`.

The error's message already names the problem and the fix, so the command prints it as one
line ``error: ...`` on stderr and exits with status 2, never with a traceback::

    @click.command()
    @errors
    def command() -> None: ...
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from modelsteward.errors import StewardError

__all__ = ["errors", "fail"]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    """Print ``error: message`` on stderr and exit with status 2."""
    from modelsteward.cli._console import plain

    click.echo(f"error: {plain(message, keep_newlines=False)}", err=True)
    sys.exit(2)


def errors(func: F) -> F:
    """StewardError -> one line ``error: ...`` on stderr, exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StewardError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]
