"""Fixtures of the serving tests: a tmp MLflow store with a registered model, real uvicorn
processes of ``steward serve`` on free ports, and a private PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serve_harness import MODEL, Registry, ServerFactory, _Launcher, _train


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Version 1 (y = age > 40) and 2 (the opposite) of MODEL; production -> 1; and version
    3 whose files are gone (it cannot load)."""
    import mlflow

    root = tmp_path_factory.mktemp("serve_registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    previous_registry = mlflow.get_registry_uri()
    old_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    # an earlier test may have pointed the registry elsewhere (the service sets it in-process)
    mlflow.set_registry_uri(uri)
    try:
        mlflow.create_experiment("serve", artifact_location=str(root / "artifacts"))
        reg = Registry(root, uri)
        reg.versions["v1"] = _train(uri, root, flip=False)
        reg.versions["v2"] = _train(uri, root, flip=True)
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        broken = client.create_model_version(MODEL, source=str(root / "no-such-model"))
        reg.versions["broken"] = str(broken.version)
        reg.set_alias(reg.versions["v1"])
        yield reg
    finally:
        mlflow.set_tracking_uri(previous)
        mlflow.set_registry_uri(previous_registry)
        if old_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_env


@pytest.fixture
def start_server(registry: Registry, tmp_path: Path) -> Iterator[ServerFactory]:
    """Start ``steward serve`` processes; every one is killed at teardown."""
    launcher = _Launcher(registry, tmp_path)
    yield launcher
    launcher.close()


@pytest.fixture(scope="module")
def start_module_server(registry: Registry,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Like start_server, for servers shared by the tests of one module."""
    launcher = _Launcher(registry, tmp_path_factory.mktemp("serve_module"))
    yield launcher
    launcher.close()


@pytest.fixture(scope="session")
def serve_pg_url(postgres_database: Callable[[str], str]) -> str:
    """URL of a fresh database ms_serve_<random>, dropped after the session."""
    return postgres_database("ms_serve")
