# mypy: disable-error-code="union-attr,arg-type,operator,attr-defined"
"""log_training_run: what one run holds, for the common model families (embedded store)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from modelsteward.baseline import Baseline
from modelsteward.errors import DataError, InvalidModelNameError, MissingColumnError
from modelsteward.registry import load_baseline, load_model, log_training_run
from modelsteward.registry.data import full_digest

CLASSIFIERS = {
    "logistic": lambda: LogisticRegression(max_iter=200),
    "tree": lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
    "forest": lambda: RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
    "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=3, random_state=0),
    "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(max_iter=3),
    "pipeline": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)),
}


@pytest.mark.parametrize("kind", sorted(CLASSIFIERS))
def test_common_classifiers_log_and_load(kind: str, sqlite_uri: str, churn_split: tuple,
                                         model_name: str) -> None:
    X_train, X_test, y_train, y_test = churn_split
    model = CLASSIFIERS[kind]().fit(X_train, y_train)
    rec = log_training_run(model, X_train, y_train, X_test, y_test, model_name=model_name,
                           params={"owner": "tests"}, tracking_uri=sqlite_uri)
    assert rec.version == "1" and rec.model_uri == f"models:/{model_name}/1"
    run = MlflowClient(tracking_uri=sqlite_uri).get_run(rec.run_id)
    params = run.data.params
    for key, value in model.get_params(deep=False).items():
        if not hasattr(value, "get_params") and key != "steps":
            assert params[key] == str(value), key
    assert params["owner"] == "tests" and params["train_samples"] == "900"
    assert params["n_features"] == "7" and json.loads(params["class_balance"])
    assert set(rec.metrics) >= {"f1", "precision", "recall", "accuracy", "roc_auc"}
    assert all(np.isfinite(v) for v in rec.metrics.values())
    assert run.data.metrics == pytest.approx(rec.metrics)
    assert run.data.tags["steward.serialization"] == "cloudpickle"
    loaded = load_model(model_name, version=1, native=True, tracking_uri=sqlite_uri)
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    files = _artifact_files(sqlite_uri, rec.run_id)
    assert {"baseline/baseline.json", "data/characteristics.json"} <= files
    has_importance = kind != "hist_gradient_boosting"  # HGB has no feature_importances_
    assert ("feature_importance.json" in files) is has_importance


def _artifact_files(uri: str, run_id: str, path: str = "") -> set[str]:
    client = MlflowClient(tracking_uri=uri)
    out: set[str] = set()
    for item in client.list_artifacts(run_id, path or None):
        if item.is_dir:
            out |= _artifact_files(uri, run_id, item.path)
        else:
            out.add(item.path)
    return out


def test_run_holds_signature_datasets_and_baseline(sqlite_uri: str, churn_split: tuple,
                                                   tiny_model: object, model_name: str) -> None:
    X_train, X_test, y_train, y_test = churn_split
    rec = log_training_run(tiny_model, X_train, y_train, X_test, y_test, model_name=model_name,
                           data_source="s3://bucket/churn/2026-11.parquet",
                           tracking_uri=sqlite_uri)
    client = MlflowClient(tracking_uri=sqlite_uri)
    run = client.get_run(rec.run_id)
    inputs = {dict((t.key, t.value) for t in i.tags)["mlflow.data.context"]: i
              for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"training"}
    schema = json.loads(inputs["training"].dataset.schema)["mlflow_colspec"]
    assert [c["name"] for c in schema] == [*X_train.columns, "churned"]
    assert all(c["required"] for c in schema)  # no NaN in these columns
    assert run.data.tags["steward.test_data_digest"] == full_digest(
        X_test.assign(churned=y_test.to_numpy()))
    train_tags = {t.key: t.value for t in inputs["training"].tags}
    assert train_tags["steward.data_digest"] == rec.data_digest == full_digest(
        X_train.assign(churned=y_train.to_numpy()))
    assert train_tags["steward.source"] == "s3://bucket/churn/2026-11.parquet"
    assert run.data.tags["steward.data_source"] == "s3://bucket/churn/2026-11.parquet"
    mv = client.get_model_version(model_name, rec.version)
    assert mv.tags["steward.data_digest"] == rec.data_digest
    mlflow.set_tracking_uri(sqlite_uri)
    info = mlflow.models.get_model_info(rec.model_uri)
    assert info.signature.inputs.input_names() == list(X_train.columns)
    importance = json.loads(Path(client.download_artifacts(
        rec.run_id, "feature_importance.json", str(Path(sqlite_uri[10:]).parent))).read_text())
    assert importance["kind"] == "abs_coef" and set(importance["importance"]) == set(X_train)
    baseline = load_baseline(model_name, version=rec.version, tracking_uri=sqlite_uri)
    assert isinstance(baseline, Baseline) and baseline.feature_names == list(X_train.columns)
    assert baseline.columns["feature_0"].n_rows == 900
    assert baseline.concept is not None and baseline.concept.task == "binary"
    assert baseline.concept.n == 300  # the test split, not the training split
    scores = tiny_model.predict_proba(X_test)[:, 1]
    assert baseline.concept.correlation == pytest.approx(
        np.corrcoef(scores, y_test.to_numpy())[0, 1], abs=1e-9)


def test_data_version_sees_rows_beyond_mlflows_first_10000() -> None:
    from mlflow.data.pandas_dataset import from_pandas

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=12_000), "y": rng.integers(0, 2, 12_000)})
    changed = frame.copy()
    changed.loc[11_500, "x"] += 1.0
    assert from_pandas(frame).digest == from_pandas(changed).digest  # MLflow's blind spot
    assert full_digest(frame) != full_digest(changed)
    assert full_digest(frame) == full_digest(frame.copy())


def test_regression_numpy_inputs_and_no_registration(sqlite_uri: str) -> None:
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=1)
    model = LinearRegression().fit(X[:200], y[:200])
    rec = log_training_run(model, X[:200], y[:200], X[200:], y[200:], experiment="reg",
                           tracking_uri=sqlite_uri)
    assert rec.version is None and rec.model_name is None
    assert set(rec.metrics) == {"rmse", "mae", "r2"} and rec.metrics["r2"] > 0.9
    run = MlflowClient(tracking_uri=sqlite_uri).get_run(rec.run_id)
    assert json.loads(run.data.params["feature_names"]) == [f"feature_{i}" for i in range(4)]
    assert "positive_rate" not in run.data.params
    assert MlflowClient(tracking_uri=sqlite_uri).search_registered_models() == []


def test_multiclass_and_skops_serialization(sqlite_uri: str, model_name: str) -> None:
    X, y = make_classification(n_samples=400, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, random_state=3)
    model = GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X[:300], y[:300])
    rec = log_training_run(model, X[:300], y[:300], X[300:], y[300:], model_name=model_name,
                           serialization="skops", tracking_uri=sqlite_uri)
    assert 0.0 < rec.metrics["f1"] <= 1.0 and "roc_auc" in rec.metrics
    loaded = load_model(model_name, version=1, native=True, tracking_uri=sqlite_uri)
    np.testing.assert_array_equal(loaded.predict(X[300:]), model.predict(X[300:]))
    baseline = load_baseline(model_name, version=1, tracking_uri=sqlite_uri)
    # multiclass: the class probabilities against each outcome's class index
    assert baseline.concept is not None and baseline.concept.task == "multiclass"
    assert baseline.concept.n_classes == 3 and len(baseline.concept.calibrators) == 3
    assert baseline.metadata["classes"] == "[\"0\", \"1\", \"2\"]"


def test_bad_inputs_are_rejected_before_anything_is_logged(sqlite_uri: str,
                                                           churn_split: tuple,
                                                           tiny_model: object) -> None:
    X_train, X_test, y_train, y_test = churn_split
    with pytest.raises(DataError, match="same columns"):
        log_training_run(tiny_model, X_train, y_train, X_test.iloc[:, ::-1], y_test,
                         tracking_uri=sqlite_uri)
    with pytest.raises(DataError, match="one value per row"):
        log_training_run(tiny_model, X_train, y_train[:10], X_test, y_test,
                         tracking_uri=sqlite_uri)
    with pytest.raises(InvalidModelNameError):
        log_training_run(tiny_model, X_train, y_train, X_test, y_test, model_name="a:b",
                         tracking_uri=sqlite_uri)
    with pytest.raises(MissingColumnError, match="subgroup_column 'region'"):
        log_training_run(tiny_model, X_train, y_train, X_test, y_test, model_name="m",
                         card={"intended_use": "x", "subgroup_column": "region"},
                         tracking_uri=sqlite_uri)
    assert MlflowClient(tracking_uri=sqlite_uri).search_registered_models() == []
