"""Tracking URIs with ``user:pass@``: the password is sent as Basic auth (probe and MLflow
calls), never printed, never in an exception message."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.errors import RegistryError, TrackingServerUnavailableError
from modelsteward.registry import list_models
from modelsteward.registry.mlflow_errors import translate_errors
from modelsteward.registry.tracking import check_tracking_available, forget_health

GOOD = "Basic " + base64.b64encode(b"admin:hunter2").decode()


class _FakeTracking(BaseHTTPRequestHandler):
    """Answers /health and the registered-model search, only with Basic admin:hunter2;
    records every path and Authorization header it is sent."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        auth = self.headers.get("Authorization")
        type(self).seen.append((self.path, auth))
        if auth != GOOD:
            self._answer(401, b'{"error_code": "UNAUTHENTICATED", "message": "login"}')
        elif self.path.startswith("/health"):
            self._answer(200, b"OK")
        elif "/registered-models/search" in self.path:
            self._answer(200, b"{}")
        else:
            self._answer(404, b'{"error_code": "ENDPOINT_NOT_FOUND"}')

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[tuple[int, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []
    handler = type("Handler", (_FakeTracking,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    forget_health()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
        forget_health()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_userinfo_is_sent_as_basic_auth_by_probe_and_mlflow(fake_server, monkeypatch) -> None:
    port, seen = fake_server
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    uri = f"http://admin:hunter2@127.0.0.1:{port}"
    assert list_models(tracking_uri=uri) == []
    paths = [p for p, _ in seen]
    assert paths[0] == "/health" and any("/registered-models/search" in p for p in paths)
    assert all(auth == GOOD for _, auth in seen), seen
    # the credentials were scoped to the call: nothing left in the environment
    import os

    assert "MLFLOW_TRACKING_PASSWORD" not in os.environ


def test_cli_with_userinfo_lists_and_never_prints_the_password(fake_server) -> None:
    port, seen = fake_server
    result = CliRunner().invoke(
        main, ["registry", "--tracking-uri", f"http://admin:hunter2@127.0.0.1:{port}", "list"])
    assert result.exit_code == 0, result.output
    assert "no registered models" in result.output and "hunter2" not in result.output
    result = CliRunner().invoke(
        main, ["registry", "--tracking-uri", f"http://admin:hunter2@127.0.0.1:{port}", "list",
               "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert seen and all(auth == GOOD for _, auth in seen)


def test_mlflow_env_credentials_are_sent_by_the_probe(fake_server, monkeypatch) -> None:
    port, seen = fake_server
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "hunter2")
    assert list_models(tracking_uri=f"http://127.0.0.1:{port}") == []
    assert seen[0] == ("/health", GOOD) and all(auth == GOOD for _, auth in seen)


def test_wrong_password_is_a_clear_error_without_the_password(fake_server) -> None:
    port, _ = fake_server
    with pytest.raises(RegistryError) as info:
        list_models(tracking_uri=f"http://admin:wrongpass@127.0.0.1:{port}")
    text = str(info.value)
    assert "wrongpass" not in text and "refused the credentials" in text
    assert "user:password@host" in text and "MLFLOW_TRACKING_USERNAME" in text


def test_unreachable_server_error_never_holds_the_password(monkeypatch) -> None:
    monkeypatch.setenv("STEWARD_TRACKING_RETRIES", "1")
    uri = f"http://admin:hunter2@127.0.0.1:{_dead_port()}/?token=s3cr3tvalue"
    with pytest.raises(TrackingServerUnavailableError) as info:
        check_tracking_available(uri)
    assert "hunter2" not in str(info.value) and "s3cr3tvalue" not in str(info.value)
    assert "admin:***@127.0.0.1" in str(info.value)
    result = CliRunner().invoke(
        main, ["registry", "--tracking-uri", f"http://admin:hunter2@127.0.0.1:{_dead_port()}",
               "list"])
    assert result.exit_code == 2
    assert "did not answer" in result.stderr and "hunter2" not in result.output + result.stderr


def test_translated_mlflow_errors_are_redacted() -> None:
    from mlflow.exceptions import MlflowException

    uri = "http://admin:hunter2@10.0.0.5:5000"
    with pytest.raises(RegistryError) as info, translate_errors(uri, "list models"):
        raise MlflowException(f"API request to {uri}/api?password=topsecret failed")
    assert "hunter2" not in str(info.value) and "topsecret" not in str(info.value)
    with pytest.raises(TrackingServerUnavailableError) as down, translate_errors(uri, "x"):
        raise MlflowException(f"Max retries exceeded with url {uri}/api (connection refused)")
    assert "hunter2" not in str(down.value) and "admin:***@10.0.0.5" in str(down.value)
    with pytest.raises(TrackingServerUnavailableError) as oserr, translate_errors(uri, "x"):
        raise ConnectionRefusedError(f"connection refused: {uri}")
    assert "hunter2" not in str(oserr.value)


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "0", "-3"])
def test_bad_retry_settings_are_config_errors(monkeypatch, value: str) -> None:
    from modelsteward.errors import ConfigError

    monkeypatch.setenv("STEWARD_TRACKING_RETRIES", value)
    with pytest.raises(ConfigError, match="STEWARD_TRACKING_RETRIES"):
        check_tracking_available(f"http://127.0.0.1:{_dead_port()}")
    monkeypatch.delenv("STEWARD_TRACKING_RETRIES")
    monkeypatch.setenv("STEWARD_TRACKING_TIMEOUT", value)
    with pytest.raises(ConfigError, match="STEWARD_TRACKING_TIMEOUT"):
        check_tracking_available(f"http://127.0.0.1:{_dead_port()}")


def test_use_tracking_with_userinfo_sets_mlflow_credentials(fake_server, monkeypatch) -> None:
    import mlflow

    from modelsteward.registry import use_tracking

    port, seen = fake_server
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    use_tracking(f"http://admin:hunter2@127.0.0.1:{port}")
    assert mlflow.get_tracking_uri() == f"http://127.0.0.1:{port}"
    assert mlflow.MlflowClient().search_registered_models() == []  # plain MLflow authenticates
    assert seen and all(auth == GOOD for _, auth in seen)
