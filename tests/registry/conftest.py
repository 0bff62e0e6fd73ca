# mypy: disable-error-code="union-attr,arg-type,operator,attr-defined"
"""Fixtures of the registry tests: an embedded SQLite store per test (copied from a migrated
template, since creating MLflow's schema takes ~10 s) and one real ``mlflow server`` per session
on 127.0.0.1 with its own PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

PG = dict(host="127.0.0.1", port=5432, user="postgres")


@pytest.fixture(autouse=True)
def _restore_mlflow_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test leaks a tracking URI, experiment or store into the next."""
    from mlflow.tracking._model_registry import utils as reg_utils
    from mlflow.tracking._tracking_service import utils as trk_utils

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setenv("STEWARD_USER", "tester@registry")
    old_trk, old_reg = trk_utils._tracking_uri, reg_utils._registry_uri
    yield
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(old_trk)
    reg_utils._registry_uri = old_reg
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(key, None)  # monkeypatch puts back any value the session started with


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty MLflow SQLite store, made once."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def sqlite_uri(tmp_path: Path, template_db: Path) -> str:
    """A fresh embedded store in this test's tmp_path (artifacts beside it)."""
    target = tmp_path / "store" / "mlflow.db"
    target.parent.mkdir()
    shutil.copy(template_db, target)
    return f"sqlite:///{target}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on a free port, backed by a PostgreSQL database of its own."""
    psycopg = pytest.importorskip("psycopg")
    db = f"ms_registry_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(dbname="test", autocommit=True, connect_timeout=5, **PG)
    except psycopg.OperationalError as exc:  # pragma: no cover - machine without PostgreSQL
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    admin.execute(f'CREATE DATABASE "{db}"')
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
               MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    env.pop("MLFLOW_TRACKING_URI", None)
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server",
         "--backend-store-uri", f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
         "--artifacts-destination", str(root / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start within 180 s")
            time.sleep(0.5)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("server", marks=pytest.mark.integration)])
def tracking_uri(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: the embedded SQLite store, and a real server on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_uri"))
    return str(request.getfixturevalue("mlflow_server"))


@pytest.fixture
def model_name() -> str:
    """A model name no other test uses (the server is shared by the session)."""
    return f"model_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def churn_split() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """A small version of the chapter's churn data (fixed seed), with a segment column."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=1_200, n_features=6, n_informative=4, n_redundant=1,
                               weights=[0.7, 0.3], random_state=7)
    frame = pd.DataFrame(X, columns=[f"feature_{i}" for i in range(6)])
    frame["segment"] = np.where(frame["feature_5"] > 0, 1.0, 0.0)
    target = pd.Series(y, name="churned")
    X_train, X_test, y_train, y_test = train_test_split(frame, target, test_size=0.25,
                                                        stratify=target, random_state=7)
    return X_train, X_test, y_train, y_test


@pytest.fixture(scope="session")
def tiny_model(churn_split: tuple) -> object:
    """A fitted logistic regression on churn_split."""
    from sklearn.linear_model import LogisticRegression

    X_train, _, y_train, _ = churn_split
    return LogisticRegression(max_iter=200).fit(X_train, y_train)


CARD = {"intended_use": "tests of the registry", "limitations": "tiny synthetic data",
        "owners": ["registry-tests"]}


@pytest.fixture
def register(churn_split: tuple, tiny_model: object):
    """``register(uri, name, n, card=CARD) -> [versions]``: log and register n versions."""
    from modelsteward.registry import log_training_run

    X_train, X_test, y_train, y_test = churn_split

    def _register(uri: str, name: str, n: int = 1, card: dict | None = CARD,
                  model: object = None) -> list[str]:
        """The first version is a full log_training_run; the others are further versions of
        the same logged model (one MLflow call each, to keep the suite fast)."""
        from mlflow import MlflowClient

        rec = log_training_run(model or tiny_model, X_train, y_train, X_test, y_test,
                               model_name=name, card=card, tracking_uri=uri)
        assert rec.version is not None
        out = [rec.version]
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        first = client.get_model_version(name, rec.version)
        from modelsteward.registry.tracking import tracking_context

        with tracking_context(uri):  # MLflow resolves models:/m-... with the global URI
            for _ in range(n - 1):
                mv = client.create_model_version(name, source=first.source,
                                                 run_id=first.run_id, tags=dict(first.tags),
                                                 description=first.description,
                                                 model_id=first.source.split("/", 1)[1])
                out.append(str(mv.version))
        return out

    return _register
