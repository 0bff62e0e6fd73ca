"""Text that is safe on a terminal: escape sequences and control characters removed.

Feature names, model names and error texts come from users and files; printed raw, an
ANSI escape in one of them recolours, clears or retitles the reader's terminal::

    >>> strip_controls("\\x1b[31mred\\x1b[0m\\x07 and \\x1b]0;title\\x07plain")
    'red and plain'
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["strip_controls"]

# ANSI/VT sequences: CSI (ESC [ ... final, or the 8-bit CSI), OSC (ESC ] ... BEL or ESC \),
# and the two-byte ESC x forms
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
                   r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")


def strip_controls(text: object, *, keep_newlines: bool = True) -> str:
    """``str(text)`` without escape sequences and control or format characters.

    Newlines and tabs stay unless ``keep_newlines`` is false; the zero-width joiner stays so
    emoji sequences are not broken.
    """
    out = _ANSI.sub("", str(text))
    return "".join(
        ch for ch in out
        if (keep_newlines and ch in "\n\t") or ch == "\u200d"
        or unicodedata.category(ch) not in ("Cc", "Cf")
    )
