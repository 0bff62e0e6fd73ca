"""The docstring examples of the drift core run and hold."""

import doctest
import importlib

import pytest

MODULES = [
    "modelsteward.stats",
    "modelsteward.stats.ks",
    "modelsteward.stats.psi",
    "modelsteward.stats.chi2",
    "modelsteward.stats.correlation",
    "modelsteward.stats.multiple",
    "modelsteward.baseline.baseline",
    "modelsteward.baseline.columns",
    "modelsteward.baseline.profile",
    "modelsteward.baseline.concept",
    "modelsteward.drift.data_drift",
    "modelsteward.drift.degradation",
    "modelsteward.drift.psi",
    "modelsteward._params",
    "modelsteward.baseline.manifest",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
