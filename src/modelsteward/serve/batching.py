"""Concurrent requests merged into one model call.

Requests queue their validated columns; while the model is busy with one batch, the next
ones accumulate and go in together. A lone request is not delayed: it runs at once.

With an executor, a model call runs on the event loop itself only while it is known to be
short (the last call, scaled up to this call's rows, took under 2 ms): the requests that
arrive meanwhile wait in the socket buffers and join the next call, and no thread hand-off
is paid, which costs more than a small model call on a busy 2-core machine (a 1,000-row
call of a linear model takes about 0.5 ms). Large batches, a model's first call and slow
models run in the executor, so health checks and small requests keep being answered while
they run. Without an executor every call runs on the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.serve.validation import ParsedBatch

__all__ = ["MicroBatcher", "split_predictions"]

#: a model call runs on the event loop when its expected duration (the last call's, scaled
#: up by rows) is below this
INLINE_MAX_SECONDS = 0.002


def split_predictions(output: Any, n_rows: int) -> list[Any]:
    """Model output as one JSON-ready value per row (numbers, strings, lists or dicts)."""
    if isinstance(output, pd.DataFrame):
        if output.shape[1] == 1:
            values = output.iloc[:, 0].tolist()
        else:
            values = output.to_dict(orient="records")
    elif isinstance(output, pd.Series):
        values = output.tolist()
    elif isinstance(output, np.ndarray):
        values = output.tolist()
    elif isinstance(output, list):
        values = [v.tolist() if hasattr(v, "tolist") else v for v in output]
    else:
        raise TypeError(f"the model returned {type(output).__name__}, not one value per row")
    if len(values) != n_rows:
        raise ValueError(f"the model returned {len(values)} predictions for {n_rows} rows")
    return values


class MicroBatcher:
    """Merges concurrent predict calls for one loaded model into single model calls."""

    def __init__(
        self,
        predict: Callable[[dict[str, list[Any]]], Any],
        executor: Executor | None = None,
        *,
        max_rows: int = 10_000,
    ) -> None:
        self._predict = predict
        self._executor = executor
        self.max_rows = max_rows
        self._pending: list[tuple[ParsedBatch, asyncio.Future[tuple[list[Any], int]]]] = []
        self._running = False
        self.calls = 0
        self.rows = 0
        self.offloaded = 0  # calls run in the executor
        self._last_seconds: float | None = None  # duration of the last model call...
        self._last_rows = 1  # ...and its rows

    async def predict(self, batch: ParsedBatch) -> list[Any]:
        """Predictions for the batch's rows (possibly computed together with others)."""
        return (await self.predict_grouped(batch))[0]

    async def predict_grouped(self, batch: ParsedBatch) -> tuple[list[Any], int]:
        """Predictions and the number of requests that shared the model call."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[list[Any], int]] = loop.create_future()
        self._pending.append((batch, fut))
        if not self._running:
            self._running = True
            loop.create_task(self._drain())
        return await fut

    def _take(self) -> list[tuple[ParsedBatch, asyncio.Future[tuple[list[Any], int]]]]:
        taken: list[tuple[ParsedBatch, asyncio.Future[tuple[list[Any], int]]]] = []
        rows = 0
        while self._pending and (not taken or rows + self._pending[0][0].n_rows <= self.max_rows):
            item = self._pending.pop(0)
            taken.append(item)
            rows += item[0].n_rows
        return taken

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                group = self._take()
                try:
                    merged = _merge([b for b, _ in group])
                    out = await self._call(loop, merged)
                except Exception as exc:
                    if len(group) == 1:
                        if not group[0][1].done():
                            group[0][1].set_exception(exc)
                        continue
                    # a failing row must not fail its neighbours: run each request alone
                    for batch, fut in group:
                        try:
                            one = await self._call(loop, batch)
                        except Exception as exc:  # noqa: BLE001
                            if not fut.done():
                                fut.set_exception(exc)
                        else:
                            if not fut.done():
                                fut.set_result((one, 1))
                    continue
                start = 0
                for batch, fut in group:
                    end = start + batch.n_rows
                    if not fut.done():
                        fut.set_result((out[start:end], len(group)))
                    start = end
        finally:
            self._running = False

    def _inline(self, batch: ParsedBatch) -> bool:
        """Whether this call is expected to be short enough to run on the event loop."""
        last = self._last_seconds
        if self._executor is None:
            return True
        if last is None:
            return False
        expected = last * max(1.0, batch.n_rows / self._last_rows)
        return expected < INLINE_MAX_SECONDS

    async def _call(self, loop: asyncio.AbstractEventLoop, batch: ParsedBatch) -> list[Any]:
        if self._inline(batch):
            return self._run(batch)
        self.offloaded += 1
        return await loop.run_in_executor(self._executor, self._run, batch)

    def _run(self, batch: ParsedBatch) -> list[Any]:
        self.calls += 1
        self.rows += batch.n_rows
        started = time.perf_counter()
        try:
            output = self._predict(batch.columns)
        finally:
            self._last_seconds = time.perf_counter() - started
            self._last_rows = max(1, batch.n_rows)
        return split_predictions(output, batch.n_rows)


def _merge(batches: list[ParsedBatch]) -> ParsedBatch:
    if len(batches) == 1:
        return batches[0]
    names = list(batches[0].columns)
    if any(list(b.columns) != names for b in batches):
        raise ValueError("requests with different columns are predicted one by one")
    columns: dict[str, list[Any]] = {n: [] for n in names}
    for b in batches:
        for n in names:
            columns[n].extend(b.columns[n])
    return ParsedBatch(columns, sum(b.n_rows for b in batches))
