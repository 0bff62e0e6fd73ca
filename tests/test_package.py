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


def test_the_function_and_the_subpackage_cannot_collide() -> None:
    """`from modelsteward import monitor` used to give the function or the subpackage depending
    on what was imported first; now the function is `run_monitor` and `monitor` is always the
    package (calling it still works, with a DeprecationWarning, for one release)."""
    import types

    import modelsteward.monitor.policy  # noqa: F401 - the import that used to shadow
    from modelsteward import monitor, run_monitor
    from modelsteward.monitor.core import run_monitor as monitor_function

    assert run_monitor is monitor_function
    assert isinstance(monitor, types.ModuleType) and monitor.__name__ == "modelsteward.monitor"
    assert "monitor" not in __import__("modelsteward").__all__
    with pytest.warns(DeprecationWarning, match="run_monitor"), pytest.raises(TypeError):
        monitor()  # the deprecated callable forwards (and run_monitor needs arguments)
