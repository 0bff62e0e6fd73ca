"""The docstring examples of the monitor, report and concept-drift modules run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "modelsteward.drift.concept", "modelsteward.monitor.policy", "modelsteward.monitor.alerts",
    "modelsteward.monitor.checks", "modelsteward.monitor.sinks", "modelsteward.monitor.data",
    "modelsteward.monitor.core", "modelsteward.monitor.calibrate", "modelsteward.report.page",
    "modelsteward.report.svg", "modelsteward.monitor.rows", "modelsteward.monitor.outbox",
    "modelsteward.report.text", "modelsteward.cli._console", "modelsteward.monitor.state",
    "modelsteward.monitor.windows", "modelsteward.monitor.concept", "modelsteward.monitor.measure",
    "modelsteward.monitor.judge", "modelsteward.monitor.bins", "modelsteward.monitor.sources",
    "modelsteward.monitor",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
