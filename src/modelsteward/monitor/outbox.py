"""The outbox on disk: notifications a sink could not take, kept for the next run.

One JSON object per line: the sink's key (a digest of its target, never the URL itself:
webhook URLs hold secrets), its redacted name, when it was queued and the notification.
The file is written atomically and readable by its owner only (0600, folder 0700)::

    >>> import tempfile, pathlib
    >>> box = Outbox(pathlib.Path(tempfile.mkdtemp()) / "outbox.jsonl")
    >>> box.load()
    []
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelsteward.errors import ConfigError

__all__ = ["DEFAULT_OUTBOX", "Outbox", "default_outbox_path"]

#: Where ``steward monitor`` keeps undelivered notifications without --outbox or --log.
DEFAULT_OUTBOX = Path(".steward") / "outbox.jsonl"


def default_outbox_path(data: Any = None) -> Path:
    """Beside the SQLite prediction log when ``data`` is one, else ``./.steward/outbox.jsonl``."""
    if isinstance(data, str) and data.startswith("sqlite:///"):
        db = Path(data.removeprefix("sqlite:///").split("?", 1)[0])
        if db.name and str(db) != ":memory:":
            return db.parent / "outbox.jsonl"
    return DEFAULT_OUTBOX


class Outbox:
    """Load and save the pending notifications of every sink."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise ConfigError(f"outbox {self.path} is a directory; pass a file path such as "
                              f"{self.path / 'outbox.jsonl'}")
        self.unreadable = 0  # lines that could not be read back (kept aside, never fatal)

    def load(self) -> list[dict[str, Any]]:
        """The pending entries; unreadable lines are counted and dropped, never fatal."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"cannot read the outbox {self.path} ({exc.strerror}); check "
                              "its permissions or pass another --outbox") from None
        entries = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):
                self.unreadable += 1
                continue
            if (isinstance(entry, dict) and isinstance(entry.get("sink"), str)
                    and isinstance(entry.get("notification"), dict)):
                if not isinstance(entry.get("id"), str) or not entry["id"]:
                    # a hand-written line: an id derived from its text, the same on every read
                    entry["id"] = "line-" + hashlib.sha256(line.encode()).hexdigest()[:16]
                entries.append(entry)
            else:
                self.unreadable += 1
        return entries

    def save(self, entries: list[dict[str, Any]], *, taken: set[str] | None = None) -> None:
        """Write ``entries`` back (removes the file when nothing is left).

        With ``taken`` (the ids this run loaded), entries another run added to the file in
        the meantime are kept: the file is re-read and merged under an exclusive lock.
        """
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True, mode=0o700)
        with _locked(self.path.with_name(self.path.name + ".lock")):
            if taken is not None:
                mine = {e.get("id") for e in entries}
                entries = entries + [e for e in self.load()
                                     if e.get("id") not in taken and e.get("id") not in mine]
            self._write(entries)

    def _write(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)
            return
        folder = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=".outbox-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for e in entries:
                    fh.write(json.dumps(e, default=str) + "\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def entry(sink_key: str, sink_name: str, notification: dict[str, Any],
              queued_at: str | None = None, entry_id: str | None = None) -> dict[str, Any]:
        return {"id": entry_id or uuid.uuid4().hex, "sink": sink_key, "sink_name": sink_name,
                "queued_at": queued_at or datetime.now(UTC).isoformat(),
                "notification": notification}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (no-op where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # Windows: the atomic replace still keeps the file whole
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
