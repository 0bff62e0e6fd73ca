"""Fixtures of the prediction-log tests: a private PostgreSQL database per session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest


def _admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            return psycopg.connect(host="127.0.0.1", port=5432, user=user, dbname="test",
                                   autocommit=True, connect_timeout=3), user
        except Exception as exc:  # noqa: BLE001
            last = exc
    raise RuntimeError(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {last}")


@pytest.fixture(scope="session")
def store_pg_url() -> Iterator[str]:
    """URL of a fresh database ms_store_<random>, dropped after the session."""
    try:
        admin, user = _admin_connect()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    name = f"ms_store_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{user}@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
