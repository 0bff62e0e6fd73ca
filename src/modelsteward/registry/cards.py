"""Model cards: what a model is for, where it fails, and how it does per subgroup.

A card is stored with the model version twice: as ``model_card.md`` / ``model_card.json``
artifacts of the version's run, and as the version's description (what the MLflow UI shows).
Training-data characteristics and evaluation metrics are filled in automatically, and the
performance per subgroup is computed when ``subgroup_column`` names a column of the test data::

    >>> card = ModelCard(intended_use="rank customers by churn risk for retention calls",
    ...                  limitations="trained on generated data", owners=("ml-team",))
    >>> "## Intended use" in card.to_markdown("churn_model", "1")
    True
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.errors import MissingColumnError, ModelCardError
from modelsteward.registry.loading import load_model
from modelsteward.registry.lookup import current_version, get_version
from modelsteward.registry.metrics import evaluation_metrics, predict_with_scores, task_of
from modelsteward.registry.mlflow_errors import translate_errors
from modelsteward.registry.tracking import (
    mlflow_client,
    resolve_tracking_uri,
    with_tracking_credentials,
)

__all__ = ["ModelCard", "coerce_card", "get_model_card", "set_model_card", "subgroup_performance"]

CARD_MARKDOWN = "model_card.md"
CARD_JSON = "model_card.json"
CARD_TAG = "steward.card"
_DESCRIPTION_LIMIT = 4900  # MLflow stores version descriptions in a 5000-character column


@dataclass(frozen=True)
class ModelCard:
    """The card of one model version (Mitchell et al., "Model Cards for Model Reporting").

    You write ``intended_use``, ``limitations``, ``fairness_considerations``, ``owners`` and
    optionally ``subgroup_column``; modelsteward fills ``training_data``, ``metrics`` and
    ``subgroup_performance``.
    """

    intended_use: str
    limitations: str = ""
    fairness_considerations: str = ""
    owners: tuple[str, ...] = ()
    subgroup_column: str | None = None
    training_data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    subgroup_performance: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.intended_use, str) or not self.intended_use.strip():
            raise ModelCardError(
                "a model card needs intended_use: one sentence on what the model is for, "
                "e.g. ModelCard(intended_use='rank customers by churn risk')"
            )
        for key in ("limitations", "fairness_considerations"):
            value = getattr(self, key)
            if value is None:
                object.__setattr__(self, key, "")
            elif not isinstance(value, str):
                raise ModelCardError(f"model card field {key} must be text, got "
                                     f"{type(value).__name__}")
        owners = self.owners
        if isinstance(owners, str):
            owners = (owners,)
        if not isinstance(owners, (list, tuple)) or not all(
                isinstance(o, (str, int, float)) for o in owners):
            raise ModelCardError(f"model card field owners must be a name or a list of names, "
                                 f"got {_kind(owners)}")
        object.__setattr__(self, "owners", tuple(str(o) for o in owners))
        if self.subgroup_column is not None and not isinstance(self.subgroup_column, str):
            raise ModelCardError(f"model card field subgroup_column must be a column name, "
                                 f"got {_kind(self.subgroup_column)}")
        if not isinstance(self.training_data, Mapping):
            raise ModelCardError(f"model card field training_data must be an object, got "
                                 f"{_kind(self.training_data)}")
        object.__setattr__(self, "training_data", dict(self.training_data))
        if not isinstance(self.metrics, Mapping) or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool)
                for v in self.metrics.values()):
            raise ModelCardError("model card field metrics must map metric names to numbers, "
                                 f"got {_kind(self.metrics)}")
        object.__setattr__(self, "metrics", {str(k): float(v) for k, v in self.metrics.items()})
        rows = self.subgroup_performance
        if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, (list, tuple)) or \
                not all(isinstance(r, Mapping) for r in rows):
            raise ModelCardError("model card field subgroup_performance must be a list of "
                                 f"objects, got {_kind(rows)}")
        object.__setattr__(self, "subgroup_performance", tuple(dict(r) for r in rows))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["owners"] = list(self.owners)
        data["subgroup_performance"] = list(self.subgroup_performance)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        """Build a card from a mapping (unknown keys raise ModelCardError)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ModelCardError(
                f"unknown model card field(s) {unknown}; known: {sorted(names)}"
            )
        values = dict(data)
        for key, empty in (("owners", ()), ("subgroup_performance", ()),
                           ("training_data", {}), ("metrics", {})):
            if key in values and values[key] is None:
                values[key] = empty
        try:
            return cls(**values)
        except TypeError as exc:
            raise ModelCardError(f"invalid model card: {exc}") from exc

    def to_markdown(self, name: str, version: str | None) -> str:
        """The card as Markdown."""
        title = f"# Model card: {name}" + (f" version {version}" if version else "")
        lines = [title, "", "## Intended use", "", self.intended_use.strip(), ""]
        lines += ["## Known limitations", "", (self.limitations or "Not stated.").strip(), ""]
        lines += ["## Training data", ""]
        if self.training_data:
            for key, value in self.training_data.items():
                if isinstance(value, (dict, list)):
                    value = json.dumps(value, sort_keys=True)
                    if len(value) > 300:
                        value = value[:297] + "..."
                lines.append(f"- **{key}**: {value}")
        else:
            lines.append("Not recorded.")
        lines += ["", "## Evaluation", ""]
        if self.metrics:
            for key, value in sorted(self.metrics.items()):
                lines.append(f"- **{key}**: {value:.4f}")
        else:
            lines.append("Not recorded.")
        lines += ["", "## Fairness considerations", "",
                  (self.fairness_considerations or "Not stated.").strip(), ""]
        lines += ["## Performance across subgroups", ""]
        if self.subgroup_performance:
            keys = [k for k in self.subgroup_performance[0] if k != "group"]
            lines.append("| group | " + " | ".join(keys) + " |")
            lines.append("|---" * (len(keys) + 1) + "|")
            for row in self.subgroup_performance:
                cells = [_fmt(row.get(k)) for k in keys]
                lines.append(f"| {row.get('group')} | " + " | ".join(cells) + " |")
            lines.append("")
            lines.append(f"Subgroups by column `{self.subgroup_column}` of the test split.")
        elif self.subgroup_column:
            lines.append(f"Column `{self.subgroup_column}` named, but no test data was given.")
        else:
            lines.append("No subgroup column named (set ModelCard(subgroup_column=...)).")
        lines += ["", "## Owners", "", ", ".join(self.owners) if self.owners else "Not stated.",
                  ""]
        return "\n".join(lines)


def _kind(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def coerce_card(card: ModelCard | Mapping[str, Any] | None) -> ModelCard | None:
    """Accept a ModelCard, a mapping of its fields, or None."""
    if card is None or isinstance(card, ModelCard):
        return card
    if isinstance(card, Mapping):
        return ModelCard.from_dict(card)
    raise ModelCardError(
        f"card must be a ModelCard or a dict of its fields, got {type(card).__name__}"
    )


def subgroup_performance(
    column: str,
    groups: Any,
    y_true: Any,
    y_pred: Any,
    scores: Any,
    task: str,
    *,
    max_groups: int = 20,
) -> tuple[dict[str, Any], ...]:
    """Metrics per value of ``groups`` (numeric columns with many values go to quartiles)."""
    g = pd.Series(np.asarray(groups))
    if pd.api.types.is_numeric_dtype(g) and g.nunique(dropna=True) > max_groups:
        g = pd.qcut(g, q=4, duplicates="drop").astype(str)
    g = g.astype(str).where(g.notna(), "(missing)")
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    sc = None if scores is None else np.asarray(scores)
    rows: list[dict[str, Any]] = []
    for value in sorted(g.unique())[:max_groups]:
        mask = (g == value).to_numpy()
        row: dict[str, Any] = {"group": f"{column}={value}", "n": int(mask.sum())}
        row.update(evaluation_metrics(yt[mask], yp[mask], None if sc is None else sc[mask], task))
        rows.append(row)
    return tuple(rows)


def _card_from_run(client: Any, run_id: str) -> ModelCard | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, CARD_JSON, tmp)
        except Exception:  # noqa: BLE001 - no card artifact
            return None
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return ModelCard.from_dict(data)
        except (ValueError, RecursionError, ModelCardError) as exc:
            raise ModelCardError(
                f"the {CARD_JSON} artifact of run {run_id} is unreadable ({exc}); attach the "
                f"card again with set_model_card(...) or `steward registry card NAME VERSION "
                f"--from-file card.json`"
            ) from None


@with_tracking_credentials
def get_model_card(
    name: str,
    version: str | int | None = None,
    *,
    stage: str = "production",
    tracking_uri: str | None = None,
) -> ModelCard:
    """The card of a version (default: the one in ``stage``); ModelCardError when none."""
    uri = resolve_tracking_uri(tracking_uri)
    record = (
        get_version(name, version, tracking_uri=uri)
        if version is not None
        else current_version(name, stage, tracking_uri=uri)
    )
    card = None
    if record.tags.get("steward.card") == "true":
        card = _card_from_run(mlflow_client(uri), record.run_id)
    if card is None:
        raise ModelCardError(
            f"version {record.version} of {name!r} has no model card. Add one with "
            f"set_model_card({name!r}, {record.version}, ModelCard(intended_use=...)) or "
            f"`steward registry card {name} {record.version} --from-file card.json`."
        )
    return card


def write_card_files(directory: Path, card: ModelCard, name: str | None,
                     version: str | None) -> str:
    """Write ``model_card.md`` and ``model_card.json`` into ``directory``; return the Markdown."""
    markdown = card.to_markdown(name or "model", version)
    (directory / CARD_MARKDOWN).write_text(markdown)
    (directory / CARD_JSON).write_text(json.dumps(card.to_dict(), indent=2, default=str))
    return markdown


def store_card(client: Any, run_id: str, card: ModelCard, name: str | None,
               version: str | None) -> str:
    """Log the card's artifacts to ``run_id``; return its Markdown."""
    with tempfile.TemporaryDirectory() as tmp:
        markdown = write_card_files(Path(tmp), card, name, version)
        client.log_artifacts(run_id, tmp)
    return markdown


def card_description(markdown: str) -> str:
    """The card as a version description (truncated to MLflow's 5000-character column)."""
    if len(markdown) <= _DESCRIPTION_LIMIT:
        return markdown
    return markdown[: _DESCRIPTION_LIMIT - 60] + f"\n\n(truncated; full card: {CARD_MARKDOWN})"


def attach_card_to_version(client: Any, name: str, version: str, markdown: str) -> None:
    """Version description = the card; tag ``steward.card`` = ``"true"``."""
    client.update_model_version(name, version, description=card_description(markdown))
    client.set_model_version_tag(name, version, CARD_TAG, "true")


@with_tracking_credentials
def set_model_card(
    name: str,
    version: str | int,
    card: ModelCard | Mapping[str, Any],
    *,
    X_test: Any = None,
    y_test: Any = None,
    tracking_uri: str | None = None,
) -> ModelCard:
    """Attach (or replace) the card of an existing version.

    Training data and metrics are taken from the version's run; subgroup performance is
    computed when the card names ``subgroup_column`` and ``X_test``/``y_test`` are given.
    """
    uri = resolve_tracking_uri(tracking_uri)
    filled = coerce_card(card)
    assert filled is not None
    record = get_version(name, version, tracking_uri=uri)
    client = mlflow_client(uri)
    with translate_errors(uri, f"set the model card of {name!r} version {record.version}"):
        run = client.get_run(record.run_id) if record.run_id else None
        training = dict(filled.training_data)
        metrics = dict(filled.metrics)
        if run is not None:
            if not training:
                training = _training_data_from_run(client, record.run_id)
            if not metrics:
                metrics = {k: float(v) for k, v in run.data.metrics.items()}
        rows = filled.subgroup_performance
        if filled.subgroup_column and X_test is not None and y_test is not None:
            rows = _subgroups_for_model(name, record.version, filled.subgroup_column, X_test,
                                        y_test, uri)
        filled = dataclasses.replace(filled, training_data=training, metrics=metrics,
                                     subgroup_performance=rows)
        if not record.run_id:
            raise ModelCardError(f"version {record.version} of {name!r} has no run to store "
                                 "the card in")
        markdown = store_card(client, record.run_id, filled, name, record.version)
        attach_card_to_version(client, name, record.version, markdown)
    return filled


def _training_data_from_run(client: Any, run_id: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, "data/characteristics.json", tmp)
        except Exception:  # noqa: BLE001 - run not logged by modelsteward
            return {}
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            return {}  # unreadable: the card simply has no training data
        return data if isinstance(data, dict) else {}


def _subgroups_for_model(name: str, version: str, column: str, X_test: Any, y_test: Any,
                         uri: str) -> tuple[dict[str, Any], ...]:
    frame = _frame(X_test)
    if column not in frame.columns:
        raise MissingColumnError(
            f"subgroup column {column!r} is not in the test data; columns: "
            f"{list(frame.columns)[:20]}"
        )
    model = load_model(name, version=version, native=True, tracking_uri=uri)  # checked
    task = task_of(model, np.asarray(y_test))
    y_pred, scores = predict_with_scores(model, X_test, task)
    return subgroup_performance(column, frame[column].to_numpy(), np.asarray(y_test), y_pred,
                                scores, task)


def _frame(X: Any) -> Any:
    if isinstance(X, pd.DataFrame):
        return X
    arr = X if hasattr(X, "shape") else pd.DataFrame(X).to_numpy()
    return pd.DataFrame(arr, columns=[f"feature_{i}" for i in range(arr.shape[1])])
