"""Log a training run: everything needed to answer the four questions, in one MLflow run.

>>> # record = log_training_run(model, X_train, y_train, X_test, y_test,
>>> #                           model_name="churn_model", card={"intended_use": "..."})
>>> # record.version  -> '1'
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelsteward.baseline import Baseline
from modelsteward.errors import DataError, MissingColumnError, RegistryError, StewardError
from modelsteward.redact import redact_text
from modelsteward.registry.cards import (
    CARD_TAG,
    ModelCard,
    card_description,
    coerce_card,
    subgroup_performance,
    write_card_files,
)
from modelsteward.registry.data import as_frame, as_target, data_characteristics, full_digest
from modelsteward.registry.integrity import (
    BASELINE_ARTIFACT_PATH,
    BASELINE_DIGEST_TAG,
    INTEGRITY_FILE,
    MODEL_DIGEST_TAG,
    file_manifest,
    manifest_digest,
)
from modelsteward.registry.lookup import validate_model_name
from modelsteward.registry.metrics import (
    evaluation_metrics,
    feature_importance,
    predict_with_scores,
    task_of,
)
from modelsteward.registry.mlflow_errors import error_code, translate_errors
from modelsteward.registry.records import TrainingRunRecord
from modelsteward.registry.serialization import (
    choose_serialization,
    pip_requirements_for,
    skops_trusted_types,
)
from modelsteward.registry.stages import STAGE_TAG
from modelsteward.registry.tracking import (
    artifact_root_for,
    mlflow_uri,
    tracking_context,
    with_tracking_credentials,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

# MLflow is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["ensure_experiment", "log_training_run", "model_params"]

_PARAM_VALUE_LIMIT = 500
_FOLDER_LIMIT = 100  # characters of an experiment's artifact folder name
_log = logging.getLogger(__name__)


def model_params(model: Any) -> dict[str, str]:
    """Every hyperparameter (``get_params()``), as strings MLflow accepts."""
    get_params = getattr(model, "get_params", None)
    if get_params is None:
        return {}
    try:
        raw = get_params(deep=True)
    except TypeError:
        raw = get_params()
    out: dict[str, str] = {}
    for key, value in raw.items():
        if hasattr(value, "get_params") or key in ("steps", "transformers"):
            value = type(value).__name__ if hasattr(value, "get_params") else _short(value)
        out[str(key)] = _short(value)
    return out


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _PARAM_VALUE_LIMIT else text[: _PARAM_VALUE_LIMIT - 3] + "..."


def ensure_experiment(client: MlflowClient, name: str, uri: str) -> str:
    """The experiment's id, created (with artifacts beside a SQLite store) when missing."""
    from mlflow.exceptions import MlflowException

    existing = client.get_experiment_by_name(name)
    if existing is not None:
        if existing.lifecycle_stage == "deleted":
            raise RegistryError(
                f"experiment {name!r} is deleted; restore it (MlflowClient().restore_experiment"
                f"({existing.experiment_id!r})) or choose another experiment name"
            )
        return str(existing.experiment_id)
    root = artifact_root_for(uri)
    location = None
    if root is not None:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "experiment"
        if len(safe) > _FOLDER_LIMIT:  # a file name holds 255 bytes: keep it short and unique
            safe = f"{safe[:_FOLDER_LIMIT - 13]}_{hashlib.sha256(name.encode()).hexdigest()[:12]}"
        location = f"{root}/{safe}"
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException as exc:
        if error_code(exc) != "RESOURCE_ALREADY_EXISTS":
            raise
        again = client.get_experiment_by_name(name)
        assert again is not None
        return str(again.experiment_id)


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """Silence MLflow's pickle warning (the choice is documented) and its info chatter."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pickle.*")
            warnings.filterwarnings("ignore", category=FutureWarning, module="mlflow")
            warnings.filterwarnings("ignore", message=".*has feature names.*")
            warnings.filterwarnings("ignore", message=".*Inferred schema contains integer.*")
            yield
    finally:
        logger.setLevel(level)


def _concept_inputs(
    task: str, y_test: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None,
    classes: Any = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Predictions and outcomes as numbers for the concept reference (multiclass: the class
    probabilities and each outcome's index in the model's ``classes``; None without them)."""
    if task == "regression":
        return np.asarray(y_pred, dtype=float), np.asarray(y_test, dtype=float)
    if task != "binary":
        if scores is None or classes is None or np.ndim(scores) != 2 \
                or np.shape(scores)[1] != len(classes):
            return None
        index = {c: i for i, c in enumerate(np.asarray(classes).tolist())}
        outcomes = np.array([index.get(v, np.nan) for v in np.asarray(y_test).tolist()],
                            dtype=float)
        return np.asarray(scores, dtype=float), outcomes
    positive = np.unique(np.concatenate([y_test, y_pred])).max()
    outcomes = (y_test == positive).astype(float)
    preds = scores if scores is not None else (y_pred == positive).astype(float)
    return np.asarray(preds, dtype=float), outcomes


def _fit_baseline(
    X_train: pd.DataFrame, concept: tuple[np.ndarray, np.ndarray] | None,
    metadata: dict[str, str], kinds: Mapping[str, str] | None,
) -> tuple[Any, str]:
    note = "fitted with concept reference (test split)"
    if concept is None:
        return Baseline.fit(X_train, kinds, metadata=metadata), "fitted; no concept reference " \
            "(a multiclass model without class probabilities)"
    try:
        baseline = Baseline.fit(X_train, kinds, predictions=concept[0], outcomes=concept[1],
                                metadata=metadata)
    except StewardError as exc:
        baseline = Baseline.fit(X_train, kinds, metadata=metadata)
        note = f"fitted; concept reference skipped: {exc}"
    return baseline, note


def _register(client: MlflowClient, name: str, info: Any, run_id: str,
              tags: dict[str, str], description: str | None) -> Any:
    """Create the registered model when missing, then a new version of it (quietly)."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if error_code(exc) not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    return client.create_model_version(
        name, source=info.model_uri, run_id=run_id, tags=tags, description=description,
        model_id=getattr(info, "model_id", None),
    )


def _log_batch(client: MlflowClient, run_id: str, params: Mapping[str, str],
               metrics: Mapping[str, float], tags: Mapping[str, str]) -> None:
    """Params, metrics and tags in one store call (MLflow splits large batches itself)."""
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
        params=[Param(k, str(v)) for k, v in params.items()],
        tags=[RunTag(k, str(v)) for k, v in tags.items()],
    )


def _record_integrity(root: Path, model_uri: str, version_tags: dict[str, str]) -> None:
    """SHA-256 manifests of the stored model files and of the baseline in ``root``: digests
    into the version tags, manifests into ``root/integrity.json`` (uploaded with the run).

    The model is hashed as stored (downloaded back), so the check at load time compares
    like with like."""
    import mlflow.artifacts

    with tempfile.TemporaryDirectory() as model_tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=model_tmp)
        model_files = file_manifest(local)
    baseline_files = file_manifest(root / BASELINE_ARTIFACT_PATH)
    model_sha, baseline_sha = manifest_digest(model_files), manifest_digest(baseline_files)
    version_tags[MODEL_DIGEST_TAG] = model_sha
    version_tags[BASELINE_DIGEST_TAG] = baseline_sha
    (root / INTEGRITY_FILE).write_text(json.dumps({
        "algorithm": "sha256", "model_sha256": model_sha, "baseline_sha256": baseline_sha,
        "model": model_files, "baseline": baseline_files,
    }, indent=1, sort_keys=True))


def _dataset(from_pandas: Any, frame: pd.DataFrame, target: str, name: str) -> Any:
    """An MLflow PandasDataset whose schema is computed without MLflow's per-value scan.

    MLflow infers each column's "required" flag by visiting every value in Python (0.3 s for
    8,000 x 21); the types come from a 1,000-row sample and the flag from ``isna().any()``.
    """
    from mlflow.types.schema import ColSpec, Schema
    from mlflow.types.utils import _infer_schema

    ds = from_pandas(frame, targets=target, name=name)
    if isinstance(type(ds).__dict__.get("schema"), functools.cached_property):
        try:
            sample = _infer_schema(frame.head(1000))
            has_na = frame.isna().any()
            ds.__dict__["schema"] = Schema([
                ColSpec(type=c.type, name=c.name,  # type: ignore[arg-type]
                        required=not bool(has_na[c.name]))
                for c in sample.inputs
            ])
        except Exception:  # noqa: BLE001 - fall back to MLflow's own inference
            ds.__dict__.pop("schema", None)
    return ds


@with_tracking_credentials
def log_training_run(
    model: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    model_name: str | None = None,
    experiment: str | None = None,
    params: Mapping[str, Any] | None = None,
    card: ModelCard | Mapping[str, Any] | None = None,
    data_source: str | None = None,
    tags: Mapping[str, str] | None = None,
    serialization: str | None = None,
    pip_requirements: list[str] | None = None,
    baseline_kinds: Mapping[str, str] | None = None,
    run_name: str | None = None,
    tracking_uri: str | None = None,
) -> TrainingRunRecord:
    """Log a fitted model and everything about it in one MLflow run; register it when
    ``model_name`` is given.

    Logged: every hyperparameter (``get_params()``) plus ``params``; the data characteristics
    (sample counts, feature names, positive rate, class balance); evaluation metrics on the
    test split (f1, precision, recall, accuracy, roc_auc / rmse, mae, r2); the model (sklearn
    flavor, cloudpickle by default - see :mod:`modelsteward.registry.serialization` - with a
    signature and an input example); ``feature_importance.json``; the training and test data
    as MLflow dataset inputs plus a digest over *all* training rows (``steward.data_digest``);
    the drift :class:`~modelsteward.baseline.Baseline` of the training features with the
    prediction-outcome reference of the test split under ``baseline/``; and the model card.

    The experiment is ``experiment`` or ``$MLFLOW_EXPERIMENT_NAME`` or ``model_name`` or
    ``"modelsteward"``. Returns TrainingRunRecord(run_id, model_name, version, model_uri, ...).
    """
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.models import infer_signature

    if model_name is not None:
        validate_model_name(model_name)
    if not hasattr(model, "predict"):
        raise DataError(
            f"model must be fitted and have predict(), got {type(model).__name__}"
        )
    filled_card = coerce_card(card)
    fmt = choose_serialization(serialization)
    xtr = as_frame(X_train)
    xte = as_frame(X_test, feature_names=list(xtr.columns))
    if list(xte.columns) != list(xtr.columns):
        raise DataError(
            "X_test must have the same columns as X_train, in the same order; "
            f"train: {list(xtr.columns)[:10]}, test: {list(xte.columns)[:10]}"
        )
    if filled_card is not None and filled_card.subgroup_column is not None and \
            filled_card.subgroup_column not in xte.columns:
        raise MissingColumnError(
            f"model card subgroup_column {filled_card.subgroup_column!r} is not a column of "
            f"X_test; columns: {list(xte.columns)[:20]}"
        )
    ytr = as_target(y_train, len(xtr), "y_train")
    yte = as_target(y_test, len(xte), "y_test")
    task = task_of(model, ytr)
    with _quiet_mlflow():
        y_pred, scores = predict_with_scores(model, X_test, task)
    metrics = evaluation_metrics(yte, y_pred, scores, task)
    characteristics = data_characteristics(xtr, ytr, xte, yte, task)
    target_name = str(getattr(y_train, "name", None) or "target")
    if target_name in xtr.columns:
        target_name = f"{target_name}_target"
    train_frame = xtr.assign(**{target_name: ytr})
    digest = full_digest(train_frame)
    test_digest = full_digest(xte.assign(**{target_name: yte}))
    # a data source is often a database URL: never store its password
    source = redact_text(data_source) if data_source else "in-memory pandas DataFrame"

    logged: dict[str, Any] = dict(model_params(model))
    for key in ("train_samples", "test_samples", "n_features", "positive_rate"):
        if key in characteristics:
            logged[key] = characteristics[key]
    if "class_balance" in characteristics:
        logged["class_balance"] = json.dumps(characteristics["class_balance"], sort_keys=True)
    logged["feature_names"] = _short(json.dumps(characteristics["feature_names"]))
    logged["data_digest"] = digest
    logged.update({str(k): v for k, v in (params or {}).items()})
    logged = {k: _short(v) for k, v in logged.items()}

    trusted = skops_trusted_types(model) if fmt == "skops" else None
    reqs = pip_requirements or pip_requirements_for(model, fmt)
    exp_name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or model_name or \
        "modelsteward"

    with tracking_context(tracking_uri) as uri, _quiet_mlflow():
        client = MlflowClient(tracking_uri=mlflow_uri(uri), registry_uri=mlflow_uri(uri))
        with translate_errors(uri, "log the training run"):
            exp_id = ensure_experiment(client, exp_name, uri)
            nested = mlflow.active_run() is not None
            with mlflow.start_run(experiment_id=exp_id, run_name=run_name, nested=nested) as run:
                run_id = run.info.run_id
                metadata = {"run_id": run_id, "data_digest": digest,
                            "model_name": model_name or ""}
                classes = getattr(model, "classes_", None) if task != "regression" else None
                if classes is not None:  # text outcomes in the monitor map through these
                    metadata["classes"] = json.dumps([str(c) for c in np.asarray(classes)])
                baseline, note = _fit_baseline(
                    xtr, _concept_inputs(task, yte, y_pred, scores, classes), metadata,
                    baseline_kinds)
                _log_batch(client, run_id, logged, metrics, {
                    "steward.data_digest": digest,
                    "steward.test_data_digest": test_digest,
                    "steward.data_source": source,
                    "steward.serialization": fmt,
                    "steward.task": task,
                    "steward.baseline": note,
                    **{str(k): str(v) for k, v in (tags or {}).items()},
                })
                train_ds = _dataset(from_pandas, train_frame, target_name,
                                    f"{model_name or exp_name}-train")
                mlflow.log_input(train_ds, context="training",
                                 tags={"steward.data_digest": digest, "steward.source": source})
                sample = xtr.head(100)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    signature = infer_signature(sample, model.predict(
                        sample if isinstance(X_train, pd.DataFrame) else sample.to_numpy()))
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    input_example=xtr.head(5),
                    pip_requirements=reqs,
                    serialization_format=fmt,
                    skops_trusted_types=trusted,
                )
                version_tags = {
                    "steward.data_digest": digest,
                    "steward.baseline_uri": f"runs:/{run_id}/{BASELINE_ARTIFACT_PATH}",
                    STAGE_TAG: "None",
                }
                description = None
                # every other artifact goes up in one log_artifacts call
                with tempfile.TemporaryDirectory() as tmp:
                    root = Path(tmp)
                    baseline.save(root / BASELINE_ARTIFACT_PATH)
                    _record_integrity(root, info.model_uri, version_tags)
                    importance = feature_importance(model, list(xtr.columns))
                    if importance is not None:
                        (root / "feature_importance.json").write_text(
                            json.dumps(importance, indent=1))
                    (root / "data").mkdir()
                    (root / "data" / "characteristics.json").write_text(
                        json.dumps(characteristics, indent=1, default=str))
                    if filled_card is not None:
                        rows = filled_card.subgroup_performance
                        if filled_card.subgroup_column:
                            col = filled_card.subgroup_column
                            rows = subgroup_performance(col, xte[col].to_numpy(), yte, y_pred,
                                                        scores, task)
                        filled_card = ModelCard.from_dict({
                            **filled_card.to_dict(), "training_data": dict(characteristics),
                            "metrics": metrics, "subgroup_performance": rows})
                        markdown = write_card_files(root, filled_card, model_name, None)
                        description = card_description(markdown)
                        version_tags[CARD_TAG] = "true"
                    mlflow.log_artifacts(tmp)
            version: str | None = None
            model_uri = info.model_uri
            if model_name is not None:
                mv = _register(client, model_name, info, run_id, version_tags, description)
                version = str(mv.version)
                model_uri = f"models:/{model_name}/{version}"
    return TrainingRunRecord(
        run_id=run_id,
        model_name=model_name,
        version=version,
        model_uri=model_uri,
        experiment_id=exp_id,
        data_digest=digest,
        metrics=metrics,
    )
