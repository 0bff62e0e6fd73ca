"""Wall time of ``log_training_run`` against the bare MLflow calls it replaces.

Same model, same data, same store, measured in the same process, alternating, median of N:

* **bare MLflow**: what a careful user writes by hand for the same questions -- start a run,
  ``log_params`` (every ``get_params()`` value plus sample counts and positive rate),
  f1/precision/recall/ROC AUC with ``log_metrics``, the training set as a dataset input,
  ``mlflow.sklearn.log_model`` with a signature, an input example and explicit pip
  requirements, ``feature_importance.json``, and ``register_model``.
* **modelsteward**: ``log_training_run(..., model_name=..., card=...)``, which on top logs the
  test set as a second input, a digest over all rows, the drift baseline with the concept
  reference, the data characteristics, the model card and the version tags.
* **bare MLflow, fast dataset schema**: the bare calls with the one shortcut modelsteward
  takes (the dataset schema without MLflow's per-value scan), to isolate the cost of the extras.
* **chapter verbatim** (reference only): the same bare calls but letting MLflow infer pip
  requirements, as the chapter's code does.

    python benchmarks/registry_overhead.py [--repeats 5] [--n-estimators 200]

Target: modelsteward within 20 % of bare MLflow. Prints the machine load next to the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def bare_mlflow(model: Any, X_train: Any, y_train: Any, X_test: Any, y_test: Any, name: str,
                infer_requirements: bool = False, fast_schema: bool = False) -> str:
    import cloudpickle
    import mlflow
    import mlflow.sklearn
    import sklearn
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.models import infer_signature
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    with mlflow.start_run() as run:
        params = {k: str(v) for k, v in model.get_params().items()}
        params.update(train_samples=len(X_train), test_samples=len(X_test),
                      positive_rate=float(y_train.mean()))
        mlflow.log_params(params)
        y_pred = model.predict(X_test)
        scores = model.predict_proba(X_test)[:, 1]
        mlflow.log_metrics({
            "f1": f1_score(y_test, y_pred), "precision": precision_score(y_test, y_pred),
            "recall": recall_score(y_test, y_pred), "roc_auc": roc_auc_score(y_test, scores),
        })
        frame = X_train.assign(churned=y_train)
        if fast_schema:  # the same shortcut log_training_run takes (see training._dataset)
            from modelsteward.registry.training import _dataset

            dataset = _dataset(from_pandas, frame, "churned", "train")
        else:
            dataset = from_pandas(frame, targets="churned")
        mlflow.log_input(dataset, context="training")
        signature = infer_signature(X_train.head(100), model.predict(X_train.head(100)))
        reqs = None if infer_requirements else [
            f"scikit-learn=={sklearn.__version__}", f"cloudpickle=={cloudpickle.__version__}"]
        info = mlflow.sklearn.log_model(
            model, name="model", signature=signature, input_example=X_train.head(5),
            pip_requirements=reqs, serialization_format="cloudpickle",
        )
        mlflow.log_dict(dict(zip(X_train.columns, model.feature_importances_.tolist(),
                                 strict=True)), "feature_importance.json")
        mlflow.register_model(info.model_uri, name)
        return str(run.info.run_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-estimators", type=int, default=200)
    args = parser.parse_args()

    import logging

    import mlflow
    from sklearn.ensemble import GradientBoostingClassifier

    from modelsteward.examples.chapter import CHURN_CARD, churn_data
    from modelsteward.registry import log_training_run
    from modelsteward.registry.tracking import tracking_context

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    X_train, X_test, y_train, y_test = churn_data()
    model = GradientBoostingClassifier(n_estimators=args.n_estimators, max_depth=5,
                                       random_state=42).fit(X_train, y_train)
    times: dict[str, list[float]] = {"bare MLflow": [], "modelsteward": [],
                                     "bare MLflow, fast dataset schema": [],
                                     "chapter verbatim (pip inference)": []}
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        with tracking_context(uri):
            from mlflow import MlflowClient

            MlflowClient(uri).search_experiments()  # schema migration, not measured
            exp = MlflowClient(uri).create_experiment("bench", (Path(tmp) / "art").as_uri())
            mlflow.set_experiment(experiment_id=exp)
            # warm-up of both paths (imports, first-use caches), not measured
            with contextlib.redirect_stderr(io.StringIO()):
                bare_mlflow(model, X_train, y_train, X_test, y_test, "bare")
            log_training_run(model, X_train, y_train, X_test, y_test, model_name="ours",
                             experiment="bench", card=CHURN_CARD, tracking_uri=uri)
            for i in range(args.repeats):
                order = ["bare MLflow", "modelsteward", "bare MLflow, fast dataset schema"]
                if i % 2:
                    order.reverse()
                for which in order:
                    start = time.perf_counter()
                    if which.startswith("bare"):
                        with contextlib.redirect_stderr(io.StringIO()):  # MLflow's eprint
                            bare_mlflow(model, X_train, y_train, X_test, y_test, "bare",
                                        fast_schema="fast" in which)
                    else:
                        log_training_run(model, X_train, y_train, X_test, y_test,
                                         model_name="ours", experiment="bench",
                                         card=CHURN_CARD, tracking_uri=uri)
                    times[which].append(time.perf_counter() - start)
            for _ in range(min(2, args.repeats)):
                start = time.perf_counter()
                with contextlib.redirect_stderr(io.StringIO()):
                    bare_mlflow(model, X_train, y_train, X_test, y_test, "chapter",
                                infer_requirements=True)
                times["chapter verbatim (pip inference)"].append(time.perf_counter() - start)

    load = os.getloadavg()
    bare = statistics.median(times["bare MLflow"])
    print(f"GradientBoostingClassifier(n_estimators={args.n_estimators}, max_depth=5), "
          f"8,000 x 20 train / 2,000 test, embedded SQLite store; median of {args.repeats}")
    print(f"load average (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} cores")
    print(f"{'path':<36}{'median s':>10}{'min s':>9}{'vs bare':>10}")
    for which, values in times.items():
        med = statistics.median(values)
        print(f"{which:<36}{med:>10.3f}{min(values):>9.3f}{med / bare:>9.2f}x")
    ours = statistics.median(times["modelsteward"])
    overhead = ours / bare - 1
    verdict = "within" if overhead < 0.20 else "OVER"
    print(f"modelsteward overhead vs bare MLflow: {overhead:+.1%} wall time "
          f"({verdict} the 20 % target)")
    like_for_like = ours / statistics.median(times["bare MLflow, fast dataset schema"]) - 1
    print(f"cost of what modelsteward adds (baseline, card, digests, tags) with the dataset "
          f"shortcut on both sides: {like_for_like:+.1%}")


if __name__ == "__main__":
    main()
