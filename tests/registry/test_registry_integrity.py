"""SHA-256 of a version's model and baseline files, recorded at registration and checked
before loading: a file changed in the artifact store is refused."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from modelsteward.errors import IntegrityError
from modelsteward.examples import load_production_model
from modelsteward.registry import load_baseline, load_model, promote
from modelsteward.registry.integrity import (
    BASELINE_DIGEST_TAG,
    MODEL_DIGEST_TAG,
    UnverifiedArtifactWarning,
    file_manifest,
    manifest_digest,
)


def _store(uri: str) -> Path:
    return Path(uri[len("sqlite:///"):]).parent


def _one(store: Path, pattern: str) -> Path:
    found = sorted(store.joinpath("artifacts").rglob(pattern))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def registered(sqlite_uri: str, register, model_name: str) -> tuple[str, str, Path]:
    (version,) = register(sqlite_uri, model_name, 1)
    return sqlite_uri, version, _store(sqlite_uri)


def test_registration_records_digests_and_manifest(registered, model_name: str) -> None:
    from mlflow import MlflowClient

    uri, version, store = registered
    mv = MlflowClient(uri, uri).get_model_version(model_name, version)
    recorded = json.loads(_one(store, "integrity.json").read_text())
    assert "model.pkl" in recorded["model"] and "MLmodel" in recorded["model"]
    assert "baseline.json" in recorded["baseline"]
    assert mv.tags[MODEL_DIGEST_TAG] == manifest_digest(recorded["model"])
    assert mv.tags[BASELINE_DIGEST_TAG] == manifest_digest(recorded["baseline"])
    model_dir = _one(store, "model.pkl").parent
    assert manifest_digest(file_manifest(model_dir)) == mv.tags[MODEL_DIGEST_TAG]


def test_untampered_model_and_baseline_load(registered, model_name: str) -> None:
    uri, version, _ = registered
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedArtifactWarning)
        model = load_model(model_name, version=version, native=True, tracking_uri=uri)
        baseline = load_baseline(model_name, version=version, tracking_uri=uri)
    assert hasattr(model, "predict_proba") and baseline.columns


def test_tampered_model_is_refused_naming_version_and_file(registered, model_name: str) -> None:
    uri, version, store = registered
    pkl = _one(store, "model.pkl")
    pkl.write_bytes(pkl.read_bytes() + b"\x00")
    promote(model_name, version, "Production", tracking_uri=uri)
    with pytest.raises(IntegrityError) as info:
        load_model(model_name, version=version, tracking_uri=uri)
    text = str(info.value)
    assert f"{model_name!r} version {version}" in text and "changed: model.pkl" in text
    assert "allow_unverified=True" in text and "re-register" in text
    with pytest.raises(IntegrityError):
        load_production_model(model_name, tracking_uri=uri)
    with pytest.warns(UnverifiedArtifactWarning, match="model.pkl"):
        model = load_production_model(model_name, tracking_uri=uri, allow_unverified=True)
    assert hasattr(model, "predict")


def test_added_file_and_rewritten_manifest_are_refused(registered, model_name: str) -> None:
    uri, version, store = registered
    model_dir = _one(store, "model.pkl").parent
    (model_dir / "extra.py").write_text("print('hi')")
    integrity = _one(store, "integrity.json")  # the attacker rewrites the manifest too
    data = json.loads(integrity.read_text())
    data["model"] = file_manifest(model_dir)
    integrity.write_text(json.dumps(data))
    with pytest.raises(IntegrityError, match="altered too"):
        load_model(model_name, version=version, tracking_uri=uri)


def test_tampered_baseline_is_refused(registered, model_name: str) -> None:
    uri, version, store = registered
    manifest = _one(store, "baseline.json")
    manifest.write_text(manifest.read_text() + " ")
    with pytest.raises(IntegrityError, match=r"changed: baseline\.json"):
        load_baseline(model_name, version=version, tracking_uri=uri)
    with pytest.warns(UnverifiedArtifactWarning):
        assert load_baseline(model_name, version=version, tracking_uri=uri,
                             allow_unverified=True).columns


def test_version_without_checksum_warns_or_is_refused_when_strict(registered,
                                                                 model_name: str) -> None:
    from mlflow import MlflowClient

    uri, version, _ = registered
    client = MlflowClient(uri, uri)
    client.delete_model_version_tag(model_name, version, MODEL_DIGEST_TAG)
    with pytest.warns(UnverifiedArtifactWarning, match="registered before"):
        load_model(model_name, version=version, native=True, tracking_uri=uri)
    with pytest.raises(IntegrityError, match="no recorded model SHA-256"):
        load_model(model_name, version=version, tracking_uri=uri, strict=True)


def test_serve_load_path_refuses_a_tampered_model(registered, model_name: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsteward.serve.config import ServeConfig
    from modelsteward.serve.model_source import ModelSource

    uri, version, store = registered
    source = ModelSource(ServeConfig(model_name=model_name, tracking_uri=uri), None)
    assert source.load(version, None).version == version
    pkl = _one(store, "model.pkl")
    pkl.write_bytes(pkl.read_bytes() + b"\x00")
    monkeypatch.delenv("STEWARD_ALLOW_UNVERIFIED", raising=False)
    with pytest.raises(IntegrityError, match="model.pkl"):
        source.load(version, None)
    monkeypatch.setenv("STEWARD_ALLOW_UNVERIFIED", "1")
    with pytest.warns(UnverifiedArtifactWarning):
        assert source.load(version, None).version == version


def test_serve_cli_has_allow_unverified_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from modelsteward.cli import main

    monkeypatch.delenv("STEWARD_ALLOW_UNVERIFIED", raising=False)
    out = CliRunner().invoke(main, ["serve", "--help"])
    assert "--allow-unverified" in out.output
