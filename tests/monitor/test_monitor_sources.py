"""The monitor on real parts: the prediction log (issue 5 item 4) and the MLflow registry."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from modelsteward.monitor import run_monitor


def _fill_log(url: str, frame: pd.DataFrame, model: str, version: str) -> None:
    from modelsteward.store import PredictionLog

    log = PredictionLog(url)
    features = frame.drop(columns=["timestamp", "prediction", "outcome"])
    records = features.to_dict("records")
    rows = []
    for rec, pred, ts in zip(records, frame["prediction"], frame["timestamp"], strict=True):
        rows += PredictionLog.make_rows(model, version, [rec], [pred], timestamp=ts.timestamp())
    log.write_rows(rows)
    ids = [r["id"] if isinstance(r, dict) else r[0] for r in rows]
    known = {i: y for i, y in zip(ids, frame["outcome"], strict=True) if not np.isnan(y)}
    log.log_outcomes(known)
    log.close()


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_prediction_log_gives_the_same_results_as_the_same_rows_as_a_frame(
        tmp_path, baseline, make_stream, backend, request) -> None:
    frame = make_stream(weeks=6, shift={3: 0.35, 4: 0.7}, null_week=4, concept_from=5,
                        late_weeks={5: 0.6}, seed=40)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/predictions.db"
    else:
        url = request.getfixturevalue("postgres_database")("ms_monitor")
    _fill_log(url, frame, "churn", "2")
    from_log = run_monitor("churn", url, baseline=baseline, model_version="2", sinks=[])
    from_frame = run_monitor("churn", frame, baseline=baseline, model_version="2", sinks=[])

    def key(rep):
        return [(w.label, w.n_rows, w.status,
                 [(f.feature, f.test, round(f.statistic or 0, 12), round(f.psi or 0, 12),
                   f.severity) for f in w.features],
                 sorted(a.key + a.severity for a in w.alerts),
                 (round(w.concept.correlation, 12) if w.concept and w.concept.correlation
                  is not None else None),
                 round(w.concept.coverage, 12) if w.concept else None)
                for w in rep.windows]

    assert key(from_log) == key(from_frame)
    assert [n.title for n in from_log.notifications] == [n.title for n in from_frame.notifications]
    assert from_log.windows[0].model_versions == {"2": 700}


@pytest.mark.integration
def test_monitor_finds_the_serving_version_and_its_baseline(tmp_path, make_stream) -> None:
    from sklearn.linear_model import LogisticRegression

    from modelsteward.registry import log_training_run, promote

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    rng = np.random.default_rng(41)
    train = make_stream(weeks=2, seed=41)
    X = train[[f"f{i}" for i in range(7)]]
    y = (rng.uniform(size=len(X)) < train["prediction"]).astype(int)
    model = LogisticRegression().fit(X.iloc[:1000], y.iloc[:1000])
    rec = log_training_run(model, X.iloc[:1000], y.iloc[:1000], X.iloc[1000:], y.iloc[1000:],
                           model_name="churn_mon", tracking_uri=uri)
    promote("churn_mon", rec.version, "production", reason="test", force=True,
            tracking_uri=uri)

    prod = make_stream(weeks=3, shift={2: 0.7}, seed=42).drop(columns=["plan"])
    prod["prediction"] = model.predict_proba(prod[X.columns])[:, 1]
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils

    # a global registry URI left behind by other code (a served model, another test) must
    # not send the MLflow sink to another registry: tracking_uri= names both
    previous = getattr(registry_utils, "_registry_uri", None)
    previous_env = os.environ.get("MLFLOW_REGISTRY_URI")
    mlflow.set_registry_uri(f"sqlite:///{tmp_path}/elsewhere.db")
    try:
        rep = run_monitor("churn_mon", prod, tracking_uri=uri, sinks=["mlflow"])
    finally:
        registry_utils._registry_uri = previous
        if previous_env is None:
            os.environ.pop("MLFLOW_REGISTRY_URI", None)
        else:
            os.environ["MLFLOW_REGISTRY_URI"] = previous_env
    assert rep.model_version == str(rec.version) and rep.run_id == rec.run_id
    assert rep.description is not None and rep.description["version"] == str(rec.version)
    assert "params" in rep.description and "metrics" in rep.description
    flagged = {a.feature for a in rep.windows[2].alerts if a.severity == "critical"}
    assert flagged == {"f2"}
    assert rep.concept and rep.concept[0].reference_n == 400  # the held-out split
    # the monitoring run is attached to the model version
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version("churn_mon", str(rec.version))
    run_id = mv.tags["modelsteward.monitoring_run_id"]
    assert len(client.get_metric_history(run_id, "psi/f2")) == 3
