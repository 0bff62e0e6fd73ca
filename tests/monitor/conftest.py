"""Simulated production streams with planted events, shared by the monitor tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelsteward.baseline import Baseline

N_FEATURES = 8


def _features(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    cols = {f"f{i}": rng.normal(size=n) for i in range(N_FEATURES - 1)}
    cols["plan"] = rng.choice(np.array(["basic", "plus", "pro"]), size=n, p=[0.5, 0.3, 0.2])
    return cols


def _score(cols: dict[str, Any]) -> np.ndarray:
    z = 1.2 * np.nan_to_num(cols["f0"]) - 0.8 * np.nan_to_num(cols["f1"])
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="session")
def baseline() -> Baseline:
    rng = np.random.default_rng(100)
    cols = _features(rng, 6_000)
    p = _score(cols)
    y = (rng.uniform(size=p.size) < p).astype(float)
    return Baseline.fit(cols, predictions=p, outcomes=y)


@pytest.fixture(scope="session")
def make_stream() -> Callable[..., pd.DataFrame]:
    """A weekly production frame; events are dicts of week index -> change."""

    def make(weeks: int = 8, per_week: int = 700, *, seed: int = 1, shift: dict[int, float] | None
             = None, null_week: int | None = None, const_week: int | None = None,
             concept_from: int | None = None, late_weeks: dict[int, float] | None = None,
             start: str = "2026-01-05") -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        n = weeks * per_week
        cols = _features(rng, n)
        week = np.arange(n) // per_week
        for w, delta in (shift or {}).items():
            cols["f2"] = np.where(week == w, cols["f2"] + delta, cols["f2"])
        if null_week is not None:
            cols["f3"] = np.where(week == null_week, np.nan, cols["f3"])
        if const_week is not None:
            cols["f4"] = np.where(week == const_week, 0.5, cols["f4"])
        p = _score(cols)
        y = (rng.uniform(size=n) < p).astype(float)
        if concept_from is not None:
            late = week >= concept_from
            y[late] = (rng.uniform(size=int(late.sum())) < 0.3).astype(float)
        for w, coverage in (late_weeks or {}).items():
            idx = np.flatnonzero(week == w)
            y[idx[int(coverage * idx.size):]] = np.nan
        step = pd.Timedelta(days=7) / per_week
        ts = pd.Timestamp(start, tz="UTC") + step * np.arange(n)
        frame = pd.DataFrame(cols)
        frame.insert(0, "timestamp", ts)
        frame["prediction"] = p
        frame["outcome"] = y
        return frame

    return make


@pytest.fixture(autouse=True)
def _own_cwd(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder: the default state store ./.steward/monitor.db and
    outbox are never shared between tests (nor written into the checkout)."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
