"""The package surface: lazy exports and the CLI entry point."""

import subprocess
import sys

import pytest

import modelsteward
from modelsteward.errors import MissingColumnError, StewardError


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        modelsteward.nope  # noqa: B018


def test_import_does_not_pull_mlflow() -> None:
    code = "import sys, modelsteward; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_export_resolves() -> None:
    missing = []
    for name in modelsteward.__all__:
        try:
            getattr(modelsteward, name)
        except (AttributeError, ImportError) as exc:
            missing.append(f"{name}: {exc}")
    assert not missing, missing


def test_missing_column_error_message_is_not_quoted() -> None:
    err = MissingColumnError("column 'age' is missing; add it or drop it from the baseline")
    assert isinstance(err, StewardError)
    assert str(err).startswith("column 'age'")


def test_monitor_is_callable_whatever_was_imported_first() -> None:
    """`from modelsteward import monitor` used to give the subpackage (not callable) once any
    modelsteward.monitor.* module had been imported."""
    import modelsteward.monitor.policy  # noqa: F401 - the import that shadowed the function
    from modelsteward import monitor, run_monitor
    from modelsteward.monitor.core import monitor as monitor_function

    assert run_monitor is monitor_function
    assert callable(monitor)
