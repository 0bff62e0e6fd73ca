"""Group commit: many concurrent callers, one transaction (and one fsync) per batch.

Callers hand rows to :meth:`GroupCommitWriter.submit` and wait on the returned future; a
single writer thread takes everything queued since its last commit, writes it in one
transaction and then completes every waiting future. Under load, the batch grows by
itself while a commit is in flight, so durability costs one fsync per batch, not per
request::

    >>> import tempfile, pathlib
    >>> from modelsteward.store import PredictionLog
    >>> log = PredictionLog(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'p.db'}")
    >>> writer = GroupCommitWriter(log)
    >>> rows = log.make_rows("m", "1", [{"x": 1.0}], [0])
    >>> writer.submit(rows).result(timeout=10)  # returns once committed
    >>> log.count("m")
    1
    >>> writer.close(); log.close()
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from modelsteward.errors import StoreError
from modelsteward.store.prediction_log import PredictionLog, RowList, count_predictions

__all__ = ["GroupCommitWriter"]

_STOP = object()


class GroupCommitWriter:
    """A writer thread that commits concurrently submitted prediction rows together."""

    def __init__(self, log: PredictionLog, *, max_batch_rows: int = 20_000) -> None:
        self.log = log
        self.max_batch_rows = max_batch_rows
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._backlog = 0
        self.commits = 0
        self.rows_committed = 0
        self.failures = 0
        self._closed = False
        self._commit_lock = threading.Lock()  # one committer at a time: thread or caller
        self._thread = threading.Thread(target=self._run, name="steward-log-writer", daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Rows submitted but not yet committed."""
        return self._backlog

    def submit(self, rows: Sequence[tuple[Any, ...]]) -> Future[None]:
        """Queue rows; the future completes once they are committed (or fails with StoreError)."""
        return self.submit_many([rows])[0]

    def submit_many(self, row_lists: Sequence[Sequence[tuple[Any, ...]]]) -> list[Future[None]]:
        """Queue several requests' rows as one item: one wake-up of the writer, one commit
        (each request still fails alone if its rows cannot be written)."""
        futures: list[Future[None]] = [Future() for _ in row_lists]
        if self._closed:
            for fut in futures:
                fut.set_exception(StoreError("the prediction log writer is closed"))
            return futures
        with self._lock:
            self._backlog += sum(count_predictions(rows) for rows in row_lists)
        self._queue.put(list(zip(row_lists, futures, strict=True)))
        return futures

    def try_commit_now(self, rows: Sequence[tuple[Any, ...]]) -> bool:
        """Commit ``rows`` in the calling thread if nothing is queued or being committed.

        Returns False (and does nothing) when the writer is busy: then :meth:`submit`. A lone
        request saves the two thread hand-offs this way; under load the writer thread's group
        commits take over. Raises StoreError when the write fails.
        """
        if self._closed or not self._queue.empty():
            return False
        if not self._commit_lock.acquire(blocking=False):
            return False
        try:
            if not self._queue.empty():
                return False
            self.log.write_rows(rows)
            self.commits += 1
            self.rows_committed += count_predictions(rows)
            return True
        finally:
            self._commit_lock.release()

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = list(item)
            n_rows = sum(count_predictions(rows) for rows, _ in item)
            stop = False
            while n_rows < self.max_batch_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.extend(nxt)
                n_rows += sum(count_predictions(rows) for rows, _ in nxt)
            with self._commit_lock:
                self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[Sequence[tuple[Any, ...]], Future[None]]]) -> None:
        rows = RowList.join(rows for rows, _ in batch)
        try:
            self.log.write_rows(rows)
        except Exception:
            # one bad request must not fail its neighbours: retry each on its own
            for one_rows, fut in batch:
                try:
                    self.log.write_rows(one_rows)
                except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
                    self.failures += 1
                    self._done(count_predictions(one_rows), fut, exc)
                else:
                    self._done(count_predictions(one_rows), fut, None)
            return
        self.commits += 1
        self.rows_committed += count_predictions(rows)
        for one_rows, fut in batch:
            self._done(count_predictions(one_rows), fut, None)

    def _done(self, n: int, fut: Future[None], exc: BaseException | None) -> None:
        with self._lock:
            self._backlog -= n
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc if isinstance(exc, StoreError) else StoreError(str(exc)))
