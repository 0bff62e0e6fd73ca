"""Fixtures of the prediction-log tests: a private PostgreSQL database per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture(scope="session")
def store_pg_url(postgres_database: Callable[[str], str]) -> str:
    """URL of a fresh database ms_store_<random>, dropped after the session."""
    return postgres_database("ms_store")
