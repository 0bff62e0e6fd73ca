"""Issue 9 without a server process: serve flags, token sources, log redaction, inference off
the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from modelsteward.cli.serve import command
from modelsteward.errors import ConfigError
from modelsteward.serve.config import ServeConfig


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls of the runner (the service is never started)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("modelsteward.serve.runner.run",
                        lambda config, **kw: calls.append({"config": config, **kw}))
    for name in ("STEWARD_TOKEN", "STEWARD_SERVE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return calls


def _serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    log = f"sqlite:///{tmp_path / 'p.db'}"
    return CliRunner().invoke(command, ["--model", "m", "--log", log, *args], env=env)


@pytest.mark.parametrize(("args", "message"), [
    (["--poll-interval", "nan"], "finite"),
    (["--poll-interval", "inf"], "--poll-interval"),
    (["--poll-interval", "0"], "--poll-interval"),
    (["--poll-interval", "-1"], "--poll-interval"),
    (["--max-body-mb", "nan"], "finite"),
    (["--max-body-mb", "inf"], "--max-body-mb"),
    (["--max-body-mb", "0"], "--max-body-mb"),
    (["--max-body-mb", "-5"], "--max-body-mb"),
    (["--port", "99999"], "--port"),
    (["--port", "0"], "--port"),
    (["--port", "-1"], "--port"),
    (["--workers", "0"], "--workers"),
    (["--token", ""], "token is empty"),
    (["--token", "   "], "token is empty"),
    (["--host", "0.0.0.0"], "--insecure-no-token"),
    (["--host", "192.168.1.10"], "--insecure-no-token"),
    (["--host", "myhost.example"], "--insecure-no-token"),
    (["--token", "a", "--token-file", "README.md"], "not both"),
])
def test_bad_serve_options_fail_before_starting(tmp_path: Path, runs: list[Any],
                                                args: list[str], message: str) -> None:
    result = _serve(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert runs == []


def test_token_sources_and_non_loopback_binds(tmp_path: Path, runs: list[Any]) -> None:
    assert _serve(tmp_path, "--host", "0.0.0.0", "--insecure-no-token").exit_code == 0
    assert runs[-1]["config"].token is None
    assert runs[-1]["config"].allowed_hosts == ("localhost", "127.0.0.1", "::1")
    assert _serve(tmp_path, env={"STEWARD_TOKEN": "from-env"}).exit_code == 0
    assert runs[-1]["config"].token == "from-env"
    assert _serve(tmp_path, env={"STEWARD_SERVE_TOKEN": "old-name"}).exit_code == 0
    assert runs[-1]["config"].token == "old-name"
    secret = tmp_path / "token"
    secret.write_text("from-file\n")
    result = _serve(tmp_path, "--host", "10.1.2.3", "--token-file", str(secret))
    assert result.exit_code == 0, result.output
    assert runs[-1]["config"].token == "from-file" and runs[-1]["host"] == "10.1.2.3"
    assert runs[-1]["config"].allowed_hosts == ("10.1.2.3", "localhost", "127.0.0.1", "::1")
    assert "from-file" not in result.output
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert _serve(tmp_path, "--token-file", str(empty)).exit_code == 2
    result = _serve(tmp_path, "--allowed-hosts", "api.example,10.0.0.1", "--allowed-hosts", "x")
    assert runs[-1]["config"].allowed_hosts == ("api.example", "10.0.0.1", "x")
    assert _serve(tmp_path, "--allowed-hosts", "*").exit_code == 0
    assert runs[-1]["config"].allowed_hosts == ()


def test_config_refuses_what_the_cli_refuses() -> None:
    for bad in (float("nan"), float("inf"), -1.0, 0.0):
        with pytest.raises(ConfigError, match="poll-interval"):
            ServeConfig(model_name="m", poll_interval=bad)
    with pytest.raises(ConfigError, match="token is empty"):
        ServeConfig(model_name="m", token="")
    cfg = ServeConfig(model_name="m", allowed_hosts=("A.example", " localhost "))
    assert cfg.allowed_hosts == ("a.example", "localhost")
    assert ServeConfig.from_json(cfg.to_json()) == cfg


def test_log_records_are_redacted_with_their_traceback(caplog: pytest.LogCaptureFixture) -> None:
    from modelsteward.serve.logs import RedactFilter

    logger = logging.getLogger("test.redact.serve")
    logger.addFilter(RedactFilter(["tok-123456"]))
    try:
        raise ConnectionError("API request to http://admin:hunter2@h:5000/api?token=abc "
                              "failed (Bearer tok-123456)")
    except ConnectionError as exc:
        with caplog.at_level(logging.WARNING, logger="test.redact.serve"):
            logger.exception("tracking server %s down: %s", "http://u:pw@h/?api_key=k", exc)
    text = caplog.text
    assert "tracking server http://u:***@h/?api_key=*** down" in text
    assert "ConnectionError" in text  # the traceback is kept...
    for secret in ("hunter2", "token=abc", "tok-123456", ":pw@", "api_key=k"):
        assert secret not in text  # ...masked


def test_status_and_reasons_are_redacted(tmp_path: Path) -> None:
    from modelsteward.serve.app import _health, _not_ready_reason, create_app

    app = create_app(ServeConfig(model_name="m", log_url=f"sqlite:///{tmp_path / 'p.db'}",
                                 tracking_uri="http://u:hunter2@h:1/?token=q-secret",
                                 token="the-bearer-token"))
    service = app.state.service
    st = service.source.status
    st.tracking_reachable = False
    st.tracking_error = ("API request to http://u:hunter2@h:1/?token=q-secret failed; "
                         "sent Bearer the-bearer-token")
    st.load_error = {"version": "3", "error": "cannot read s3://k:hunter2@b/x?sig=q-secret"}
    text = repr(_health(service)) + _not_ready_reason(service)
    assert "unreachable" in text and "h:1" in text
    for secret in ("hunter2", "q-secret", "the-bearer-token"):
        assert secret not in text


def test_a_large_batch_runs_off_the_event_loop(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """/health answers while the model is busy with a batch: the ordering is the test."""
    import httpx

    from modelsteward.serve import model_source
    from modelsteward.serve.app import create_app

    order: list[str] = []
    started, release = threading.Event(), threading.Event()

    class SlowModel:
        metadata = SimpleNamespace(get_input_schema=lambda: None)

        def predict(self, frame: Any) -> list[int]:
            started.set()
            release.wait(10)  # on the event loop this would hold /health for 10 s
            order.append("model done")
            return [0] * len(frame)

    client = SimpleNamespace(get_model_version_by_alias=lambda name, alias: SimpleNamespace(
        version="1", run_id=None))
    monkeypatch.setattr(model_source.ModelSource, "_mlflow_client", lambda self: client)
    import modelsteward.registry.loading as loading  # the checked loader serve calls

    monkeypatch.setattr(loading, "load_model", lambda *args, **kwargs: SlowModel())
    app = create_app(ServeConfig(model_name="m", log_url=f"sqlite:///{tmp_path / 'p.db'}",
                                 poll_interval=3600))
    service = app.state.service
    service.start()
    try:
        assert service.source.current is not None

        async def main() -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                big = asyncio.create_task(c.post(
                    "/predict", json={"columns": {"x": list(range(100_000))}}))
                while not started.is_set():
                    await asyncio.sleep(0.01)
                health = await c.get("/health")
                order.append("health answered")
                release.set()
                response = await big
                assert health.status_code == 200
                assert response.status_code == 200, response.text
                assert len(response.json()["predictions"]) == 100_000

        asyncio.run(main())
    finally:
        release.set()
        service.stop()
    assert order == ["health answered", "model done"]
