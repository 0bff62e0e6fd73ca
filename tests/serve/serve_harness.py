"""Helpers of the serving tests (imported by conftest and the tests; a unique module name,
so it never clashes with another directory's conftest)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

MODEL = "serve_churn"
FEATURES = {"age": "double", "income": "double", "visits": "long", "plan": "string"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    """A tmp SQLite MLflow store holding versions of MODEL."""

    root: Path
    uri: str
    versions: dict[str, str] = field(default_factory=dict)  # label -> version

    def set_alias(self, version: str, alias: str = "production") -> None:
        import mlflow

        mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri) \
            .set_registered_model_alias(MODEL, alias, version)


def _train(uri: str, root: Path, flip: bool) -> str:
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X = pd.DataFrame({
        "age": rng.normal(40, 10, 300), "income": rng.normal(50, 8, 300),
        "visits": rng.integers(0, 20, 300).astype("int64"),
        "plan": rng.choice(["a", "b", "c"], 300),
    })
    y = ((X["age"] > 40) ^ flip).astype("int64")
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    model = make_pipeline(
        ColumnTransformer([("num", "passthrough", ["age", "income", "visits"]),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])]),
        LogisticRegression(max_iter=500),
    ).fit(X, y)
    with mlflow.start_run(experiment_id=mlflow.get_experiment_by_name("serve").experiment_id):
        info = mlflow.sklearn.log_model(
            model, name="model", signature=infer_signature(X, y),
            pip_requirements=["scikit-learn"], serialization_format="cloudpickle")
    return str(mlflow.register_model(info.model_uri, MODEL).version)


@dataclass
class Server:
    """One running ``steward serve`` process."""

    proc: subprocess.Popen[bytes]
    port: int
    log_url: str
    token: str | None
    stderr_path: Path
    args: list[str]
    env: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=self.headers(), timeout=30, **kw)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("steward serve exited:\n" + self.stderr_path.read_text())
            try:
                r = httpx.get(f"{self.base}/ready", headers=self.headers(), timeout=2)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("steward serve not ready:\n" + self.stderr_path.read_text())

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the server's whole process group (its uvicorn workers too), wait for the
        server, then kill whatever of the group is left: no worker outlives its test."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        _signal_group(self.proc.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


ServerFactory = Callable[..., Server]


class _Launcher:
    """Starts ``steward serve`` processes in one directory and kills them all at the end."""

    def __init__(self, registry: Registry, directory: Path) -> None:
        self.registry = registry
        self.directory = directory
        self.started: list[Server] = []

    def __call__(self, *, log_url: str | None = None, token: str | None = None,
                 tracking_uri: str | None = None, port: int | None = None,
                 extra: list[str] | None = None, wait: bool = True) -> Server:
        port = port or _free_port()
        log_url = log_url or f"sqlite:///{self.directory / 'predictions.db'}"
        args = [sys.executable, "-c", "from modelsteward.cli import main; main()", "serve",
                "--model", MODEL, "--port", str(port), "--log", log_url,
                "--tracking-uri", tracking_uri or self.registry.uri, "--poll-interval", "0.25",
                *(extra or [])]
        if token:
            args += ["--token", token]
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
        env.pop("STEWARD_SERVE_TOKEN", None)
        env.pop("STEWARD_TOKEN", None)
        err = self.directory / f"serve_{port}_{len(self.started)}.err"
        proc = subprocess.Popen(args, env=env, cwd=self.directory, stdout=subprocess.DEVNULL,
                                stderr=err.open("wb"), start_new_session=True)
        server = Server(proc, port, log_url, token, err, args, env)
        self.started.append(server)
        if wait:
            server.wait_ready()
        return server

    def close(self) -> None:
        for server in self.started:
            server.kill()


def until(check: Callable[[], bool], timeout: float = 90.0, what: str = "") -> None:
    """Wait until ``check()`` is true, polling every 50 ms; fail the test after ``timeout``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def row(i: int = 0) -> dict[str, Any]:
    """A valid record; age alternates around the decision boundary."""
    return {"age": 25.0 + (i % 2) * 40.0, "income": 50.0 + i % 7, "visits": i % 5,
            "plan": "abc"[i % 3]}
