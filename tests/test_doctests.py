"""Every module's docstring examples run, collected from the package (a new module's
examples run the moment it exists). Modules left out are listed with the reason."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import modelsteward

#: modules whose examples are not run here, and why (keep this list short and current)
EXCLUDED: set[str] = set()


def _modules() -> list[str]:
    found = pkgutil.walk_packages(modelsteward.__path__, prefix="modelsteward.")
    return ["modelsteward", *sorted(m.name for m in found)]


MODULES = _modules()


def test_the_exclusions_name_existing_modules() -> None:
    assert EXCLUDED <= set(MODULES)
    assert len(MODULES) > 90  # the walk found the package, not an empty path


@pytest.mark.parametrize("name", [m for m in MODULES if m not in EXCLUDED])
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples fail in {name}"


def test_the_examples_are_many() -> None:
    """Most modules document themselves with an example (62 of 99 when this was written)."""
    with_examples = 0
    finder = doctest.DocTestFinder()
    for name in MODULES:
        if any(t.examples for t in finder.find(importlib.import_module(name))):
            with_examples += 1
    assert with_examples >= 60
