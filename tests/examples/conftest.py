"""Fixtures of the examples' tests."""

from __future__ import annotations

from typing import Any

import pytest


class _QuietSink:
    """A console sink that prints nothing (the demo's tests read the report instead)."""

    name = "quiet"

    def send(self, notification: Any) -> None:
        return None

    def on_window(self, window: Any) -> None:
        return None

    def close(self, report: Any) -> None:
        return None


@pytest.fixture
def quiet_sink() -> _QuietSink:
    return _QuietSink()
