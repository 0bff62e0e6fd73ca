"""The chapter's example functions live in modelsteward.examples with the chapter's
signatures; the library's top level and the registry do not carry them."""

from __future__ import annotations

import inspect
import subprocess
import sys

import modelsteward
import modelsteward.registry
from modelsteward.examples import load_production_model, train_and_register


def test_chapter_signatures_and_churn_defaults() -> None:
    defaults = {k: v.default for k, v in inspect.signature(train_and_register).parameters.items()}
    assert defaults["n_estimators"] == 200 and defaults["max_depth"] == 5
    assert defaults["learning_rate"] == 0.1 and defaults["experiment_name"] == "churn_prediction"
    assert defaults["model_name"] == "churn_model"
    assert inspect.signature(load_production_model).parameters["model_name"].default == (
        "churn_model")


def test_examples_are_not_part_of_the_library_api() -> None:
    for name in ("train_and_register", "load_production_model", "churn_data", "run_demo"):
        assert name not in modelsteward.__all__
        assert name not in modelsteward.registry.__all__
    assert "load_model" in modelsteward.__all__ and "promote" in modelsteward.__all__


def test_no_library_part_imports_the_examples() -> None:
    """Imports point down: cli may use examples, nothing below it does."""
    code = ("import sys, modelsteward.registry, modelsteward.monitor, modelsteward.serve, "
            "modelsteward.drift, modelsteward.baseline, modelsteward.report, modelsteward.io; "
            "print(any(m.startswith('modelsteward.examples') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
