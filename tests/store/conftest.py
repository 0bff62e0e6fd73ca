"""Fixtures of the prediction-log tests: a private PostgreSQL database per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelsteward.store import PredictionLog


@pytest.fixture(scope="session")
def store_pg_url(postgres_database: Callable[[str], str]) -> str:
    """URL of a fresh database ms_store_<random>, dropped after the session."""
    return postgres_database("ms_store")


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PredictionLog]:
    """An empty prediction log on SQLite, then on the session's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'preds.db'}"
    else:
        url = request.getfixturevalue("store_pg_url")
    plog = PredictionLog(url)
    if request.param == "postgresql":  # the session database is shared: start empty
        from sqlalchemy import text

        with plog._writer_engine.begin() as conn:
            conn.execute(text("DELETE FROM outcomes"))
            conn.execute(text("DELETE FROM predictions"))
            conn.execute(text("DELETE FROM feature_batches"))
    yield plog
    plog.close()
