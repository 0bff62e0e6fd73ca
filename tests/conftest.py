"""Fixtures shared by every part's tests."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest


def _admin_connection() -> tuple[Any, str]:
    """An autocommit connection to the machine's PostgreSQL (database ``test``) and its user."""
    import psycopg

    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            conn = psycopg.connect(host="127.0.0.1", port=5432, user=user, dbname="test",
                                   autocommit=True, connect_timeout=3)
            return conn, user
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            last = exc
    raise RuntimeError(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {last}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Callable[[str], str]]:
    """A factory: ``postgres_database("ms_store")`` creates a fresh database named
    ``ms_store_<random>`` and returns its URL; every database made is dropped after the
    session. Other engineers and CI use the same server at once, hence the random names."""
    try:
        admin, user = _admin_connection()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"postgresql://{user}@127.0.0.1:5432/{name}"

    try:
        yield make
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
