"""The chapter's workflow end to end: train_and_register -> promote -> load_production_model,
on the embedded SQLite store and on a real mlflow server backed by PostgreSQL."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from modelsteward.errors import NoVersionInStageError
from modelsteward.examples import churn_data, load_production_model, train_and_register
from modelsteward.registry import (
    current_version,
    describe,
    history,
    load_baseline,
    load_model,
    promote,
    rollback,
)


@pytest.mark.slow
def test_chapter_workflow(tracking_uri: str, model_name: str) -> None:
    run_1 = train_and_register(n_estimators=5, max_depth=2, model_name=model_name,
                               tracking_uri=tracking_uri)
    run_2 = train_and_register(n_estimators=8, max_depth=3, learning_rate=0.2,
                               model_name=model_name, tracking_uri=tracking_uri)
    assert run_1 != run_2 and len(run_1) == 32
    with pytest.raises(NoVersionInStageError):
        load_production_model(model_name, tracking_uri=tracking_uri)

    promote(model_name, 1, "Production", reason="first model", tracking_uri=tracking_uri)
    promote(model_name, 2, "Staging", reason="candidate", tracking_uri=tracking_uri)
    promote(model_name, 2, "Production", reason="better", tracking_uri=tracking_uri)

    _, X_test, _, y_test = churn_data()
    model = load_production_model(model_name, tracking_uri=tracking_uri)
    assert model.get_params()["n_estimators"] == 8        # the version that holds Production
    proba = model.predict_proba(X_test)[:, 1]
    assert proba.shape == (2000,) and 0.0 <= proba.min() <= proba.max() <= 1.0

    # plain MLflow users load the same version through the alias
    mlflow.set_tracking_uri(tracking_uri)
    plain = mlflow.pyfunc.load_model(f"models:/{model_name}@production")
    ours = load_model(model_name, tracking_uri=tracking_uri)
    np.testing.assert_array_equal(plain.predict(X_test.head(50)), ours.predict(X_test.head(50)))
    np.testing.assert_array_equal(ours.predict(X_test.head(50)), model.predict(X_test.head(50)))

    d = describe(model_name, tracking_uri=tracking_uri)
    assert (d.version, d.run_id, d.stage) == ("2", run_2, "Production")
    assert d.params["n_estimators"] == "8" and d.params["learning_rate"] == "0.2"
    assert d.data["positive_rate"].startswith("0.30") and d.data["train_samples"] == "8000"
    assert "make_classification" in d.data_source
    assert d.metrics["roc_auc"] > 0.8 and set(d.metrics) >= {"f1", "precision", "recall"}

    baseline = load_baseline(model_name, tracking_uri=tracking_uri)
    assert baseline.feature_names == [f"feature_{i}" for i in range(20)]
    assert baseline.concept is not None and baseline.concept.n == 2000
    assert baseline.concept.correlation > 0.3
    assert baseline.metadata["run_id"] == run_2

    rollback(model_name, reason="alert", tracking_uri=tracking_uri)
    assert current_version(model_name, tracking_uri=tracking_uri).version == "1"
    assert load_production_model(model_name, tracking_uri=tracking_uri).get_params()[
        "n_estimators"] == 5
    assert [m.to_stage for m in history(model_name, tracking_uri=tracking_uri)] == [
        "Production", "Staging", "Production", "Archived", "Production", "Archived"]

