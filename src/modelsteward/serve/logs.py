"""Log lines of the service pass through :func:`modelsteward.redact.redact_text`.

A tracking URI with ``user:pass@`` or ``?token=``, or the bearer token itself, may be in an
exception text; every handler the service's records reach gets a :class:`RedactFilter`, so
neither the message nor a traceback carries it to the server log::

    >>> import logging
    >>> record = logging.LogRecord("x", logging.WARNING, "", 0, "down: %s", ("http://u:pw@h",),
    ...                            None)
    >>> RedactFilter(["tok"]).filter(record), record.getMessage()
    (True, 'down: http://u:***@h')
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from modelsteward.redact import redact_text

__all__ = ["RedactFilter", "install_redaction"]

_FORMATTER = logging.Formatter()


class RedactFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with secrets masked; never drops one."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_steward_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: log it as it is
            message = str(record.msg)
        record.msg, record.args = redact_text(message, self.secrets), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, self.secrets)
        record._steward_redacted = True
        return True


def _add(target: logging.Filterer, secrets: list[str | None]) -> None:
    for existing in target.filters:
        if isinstance(existing, RedactFilter):
            existing.secrets = list(dict.fromkeys([*existing.secrets,
                                                   *(s for s in secrets if s)]))
            return
    target.addFilter(RedactFilter(secrets))


def install_redaction(secrets: Iterable[str | None] = ()) -> None:
    """Redact every record of the service and of the libraries it logs through.

    The filter goes on the ``modelsteward.serve`` logger (its own lines, whatever the
    handlers) and on the handlers of the root, uvicorn and MLflow loggers and the last-resort
    handler (tracebacks of other libraries). uvicorn's access handler is left alone: its
    formatter needs the record's arguments, and it logs no URI but the request's.
    """
    values = list(secrets)
    _add(logging.getLogger("modelsteward.serve"), values)
    handlers: list[logging.Handler] = []
    for name in ("", "uvicorn", "uvicorn.error", "mlflow", "modelsteward"):
        handlers += logging.getLogger(name).handlers
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in dict.fromkeys(handlers):
        _add(handler, values)
