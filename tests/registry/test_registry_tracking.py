"""Where the store is (explicit > env > embedded ./.steward/) and what happens when it is down."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import mlflow
import pytest

from modelsteward.errors import TrackingServerUnavailableError
from modelsteward.registry import (
    describe,
    history,
    list_models,
    log_training_run,
    promote,
    resolve_tracking_uri,
    rollback,
)
from modelsteward.registry.tracking import tracking_context


def test_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path.resolve()}/.steward/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert resolve_tracking_uri() == "http://127.0.0.1:5999"
    assert resolve_tracking_uri("sqlite:////x/y.db") == "sqlite:////x/y.db"


def test_embedded_default_keeps_store_and_artifacts_under_dot_steward(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, template_db: Path, churn_split: tuple,
    tiny_model: object,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".steward").mkdir()
    shutil.copy(template_db, tmp_path / ".steward" / "mlflow.db")
    X_train, X_test, y_train, y_test = churn_split
    rec = log_training_run(tiny_model, X_train, y_train, X_test, y_test, model_name="churn")
    assert [m.name for m in list_models()] == ["churn"]
    artifacts = tmp_path / ".steward" / "artifacts"
    assert list(artifacts.rglob("baseline.json")) and list(artifacts.rglob("MLmodel"))
    assert not (tmp_path / "mlruns").exists()
    assert rec.version == "1"


def test_tracking_context_restores_the_global_uri(sqlite_uri: str) -> None:
    mlflow.set_tracking_uri("sqlite:////tmp/elsewhere.db")
    with tracking_context(sqlite_uri) as uri:
        assert mlflow.get_tracking_uri() == uri == sqlite_uri
    assert mlflow.get_tracking_uri() == "sqlite:////tmp/elsewhere.db"


def _dead_uri() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there now


def test_server_down_is_a_clear_error_after_a_short_retry(
    monkeypatch: pytest.MonkeyPatch, churn_split: tuple, tiny_model: object
) -> None:
    monkeypatch.setenv("STEWARD_TRACKING_RETRIES", "2")
    uri = _dead_uri()
    X_train, X_test, y_train, y_test = churn_split
    calls = [
        lambda: list_models(tracking_uri=uri),
        lambda: promote("churn", 1, "Production", tracking_uri=uri),
        lambda: rollback("churn", tracking_uri=uri),
        lambda: history("churn", tracking_uri=uri),
        lambda: describe("churn", tracking_uri=uri),
        lambda: log_training_run(tiny_model, X_train, y_train, X_test, y_test,
                                 model_name="churn", tracking_uri=uri),
    ]
    for call in calls:
        with pytest.raises(TrackingServerUnavailableError) as info:
            call()
        assert uri in str(info.value) and "2 attempts" in str(info.value)
        assert "MLFLOW_TRACKING_URI" in str(info.value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(TrackingServerUnavailableError):
        list_models()


def test_tracking_context_leaves_the_environment_as_it_was(
    monkeypatch: pytest.MonkeyPatch, sqlite_uri: str
) -> None:
    import os

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    with tracking_context(sqlite_uri):
        assert os.environ["MLFLOW_TRACKING_URI"] == sqlite_uri
    assert os.environ["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:1"
    assert "MLFLOW_REGISTRY_URI" not in os.environ


def test_a_server_that_answers_is_not_called_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy guarding /health with 401 still answers; a 503 (or silence) is down."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from modelsteward.registry.tracking import check_tracking_available

    status = {"code": 401}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            self.send_response(status["code"])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    uri = f"http://127.0.0.1:{server.server_port}"
    try:
        check_tracking_available(uri, attempts=1)
        status["code"] = 503
        from modelsteward.registry.tracking import forget_health

        forget_health(uri)
        with pytest.raises(TrackingServerUnavailableError, match="HTTP 503"):
            check_tracking_available(uri, attempts=2)
    finally:
        server.shutdown()
