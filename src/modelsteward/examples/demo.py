"""The whole loop on generated data: what ``steward demo`` (and ``make demo``) runs.

Trains the chapter's churn model twice (two versions) on the chapter's generated data,
registers both on the embedded MLflow store, promotes them, serves twelve weeks of
production traffic into the prediction log with three planted events, lets outcomes arrive
late, monitors the serving version week by week, writes the HTML report and rolls back.

Planted events (weeks counted from 1):

- a gradual data drift of ``feature_3`` from week 5 (+0.2 training sd per week),
- an upstream break in week 8: ``feature_7`` arrives null and ``feature_11`` constant,
- a concept drift from week 10: a third of the outcomes no longer follow the features.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelsteward import registry
from modelsteward.errors import ConfigError
from modelsteward.examples.chapter import CHURN_CARD
from modelsteward.monitor.core import run_monitor
from modelsteward.monitor.sinks import ConsoleSink, JsonLinesSink, MlflowSink
from modelsteward.store import PredictionLog

# scikit-learn is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["DEMO_MARKER", "DemoResult", "PLANTED", "check_workdir", "prepare_workdir", "run_demo"]

#: File the demo writes into a workdir it creates; only such a directory is ever wiped.
DEMO_MARKER = ".steward-demo"
# what a demo run leaves in its workdir (a directory holding only these, from a version
# that wrote no marker, is recognised as a demo's too)
_DEMO_ENTRIES = frozenset({
    DEMO_MARKER, "mlflow.db", "predictions.db", "alerts.jsonl", "outbox.jsonl", "report",
    "artifacts", "mlruns",
})

MODEL = "churn_model"
WEEKS = 12
PER_WEEK = 1_500
START = pd.Timestamp("2026-01-05", tz="UTC")  # a Monday: week 1 is 2026-W02
DRIFT_FEATURE, NULL_FEATURE, CONST_FEATURE = "feature_3", "feature_7", "feature_11"
DRIFT_FROM, BREAK_WEEK, CONCEPT_FROM = 5, 8, 10
COVERAGE = {11: 0.6, 12: 0.15}  # late labels: share of week's outcomes known at monitor time

PLANTED = {
    "data_drift": (DRIFT_FROM, f"gradual drift of {DRIFT_FEATURE} (+0.2 sd per week)"),
    "degradation": (BREAK_WEEK, f"upstream break: {NULL_FEATURE} null, {CONST_FEATURE} constant"),
    "concept_drift": (CONCEPT_FROM, "concept drift: a third of outcomes decoupled from features"),
}


def week_label(week: int) -> str:
    """ISO label of demo week ``week`` (1-based)."""
    start = START + pd.Timedelta(weeks=week - 1)
    iso = start.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


@dataclass
class DemoResult:
    workdir: Path
    tracking_uri: str
    log_url: str
    versions: dict[str, str]
    report: Any
    paths: dict[str, Path]
    production_after: str
    seconds: float
    first_alert_week: dict[str, int | None] = field(default_factory=dict)


def _generate(n_rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The chapter's make_classification, drawn once for training and production alike."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n_rows, n_features=20, n_informative=12,
                               n_redundant=3, weights=[0.7, 0.3], random_state=seed)
    return pd.DataFrame(X, columns=[f"feature_{i}" for i in range(20)]), y


def _simulate(prod: pd.DataFrame, y: np.ndarray, train_sd: pd.Series,
              rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Apply the planted events to the production rows (week = row // PER_WEEK + 1)."""
    frame = prod.copy()
    week = np.arange(len(frame)) // PER_WEEK + 1
    drift = np.clip(week - DRIFT_FROM + 1, 0, None) * 0.2 * train_sd[DRIFT_FEATURE]
    frame[DRIFT_FEATURE] = frame[DRIFT_FEATURE] + drift
    frame.loc[week == BREAK_WEEK, NULL_FEATURE] = np.nan
    frame.loc[week == BREAK_WEEK, CONST_FEATURE] = 0.0
    outcome = y.astype(float).copy()
    late = week >= CONCEPT_FROM
    decoupled = late & (rng.uniform(size=len(frame)) < 1 / 3)
    outcome[decoupled] = (rng.uniform(size=int(decoupled.sum())) < 0.3).astype(float)
    return frame, outcome


def _is_demo_entry(name: str) -> bool:
    base = name
    for suffix in ("-wal", "-shm", "-journal"):
        base = base.removesuffix(suffix)
    return base in _DEMO_ENTRIES


def prepare_workdir(workdir: str | Path) -> Path:
    """An empty demo workdir at ``workdir``, marked as the demo's (created 0700).

    A directory that exists is wiped only when the demo made it (it holds the marker
    file, or only what a demo run leaves); an empty one is used as it is. Anything else is
    refused with :class:`~modelsteward.errors.ConfigError`: the demo never deletes what it
    did not create.
    """
    root = check_workdir(workdir)
    if root.exists() and any(root.iterdir()):
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    (root / DEMO_MARKER).write_text(
        "created by `steward demo`; the demo wipes and rebuilds this directory on each run\n",
        encoding="utf-8")
    return root


def check_workdir(workdir: str | Path) -> Path:
    """The resolved workdir, or :class:`~modelsteward.errors.ConfigError` when the demo may
    not use it (it exists, is not empty and was not made by the demo). Touches nothing."""
    given = Path(workdir)
    root = given.resolve()
    if given.is_symlink() or (root.exists() and not root.is_dir()):
        raise ConfigError(f"--workdir {given} is not a directory; pass a new or empty "
                          "directory for the demo")
    if root.exists():
        try:
            entries = [p.name for p in root.iterdir()]
        except OSError as exc:
            raise ConfigError(f"cannot list --workdir {root} ({exc.strerror}); pass a new or "
                              "empty directory for the demo") from None
        ours = DEMO_MARKER in entries or all(_is_demo_entry(e) for e in entries)
        if entries and not ours:
            raise ConfigError(
                f"--workdir {root} exists, is not empty and was not created by steward demo "
                f"(no {DEMO_MARKER} marker file): refusing to delete it. Pass a new or empty "
                "directory (e.g. --workdir /tmp/steward-demo), or remove this one yourself")
    return root


def run_demo(workdir: str | Path = ".steward/demo", *, seed: int = 42,
             echo: Callable[[str], None] = print, console_sink: Any = None) -> DemoResult:
    """Run the loop in ``workdir`` (wiped first when the demo made it, so running twice
    gives the same story; a non-empty directory the demo did not make is refused)."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    t0 = time.perf_counter()
    root = prepare_workdir(workdir)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    log_url = f"sqlite:///{root / 'predictions.db'}"
    rng = np.random.default_rng(seed)
    echo(f"workdir {root}\n  MLflow store {uri}\n  prediction log {log_url}\n")

    # 1. train and register two versions ---------------------------------------------------
    n_train = 10_000
    X, y = _generate(n_train + WEEKS * PER_WEEK, seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X.iloc[:n_train], y[:n_train], test_size=0.2,
                                              stratify=y[:n_train], random_state=seed)
    versions: dict[str, str] = {}
    source = (f"sklearn make_classification(n_features=20, n_informative=12, n_redundant=3, "
              f"weights=[0.7, 0.3], random_state={seed}), first {n_train} rows")
    models = {}
    for label, params in (("v1", {"n_estimators": 60, "max_depth": 3}),
                          ("v2", {"n_estimators": 150, "max_depth": 4})):
        t = time.perf_counter()
        model = GradientBoostingClassifier(learning_rate=0.1, random_state=seed, **params)
        model.fit(X_tr, y_tr)
        rec = registry.log_training_run(
            model, X_tr, pd.Series(y_tr, name="churned"), X_te, pd.Series(y_te, name="churned"),
            model_name=MODEL, experiment="churn_prediction", card=CHURN_CARD,
            data_source=source, tracking_uri=uri)
        versions[label] = str(rec.version)
        models[label] = model
        f1 = rec.metrics.get("f1")
        echo(f"1. trained and registered {MODEL} version {rec.version} ({params}); "
             f"test f1 {f1:.3f} [{time.perf_counter() - t:.1f}s]" if f1 is not None else
             f"1. trained and registered {MODEL} version {rec.version} ({params})")

    # 2. promote -----------------------------------------------------------------------------
    registry.promote(MODEL, versions["v1"], "production", reason="first release",
                     tracking_uri=uri)
    registry.promote(MODEL, versions["v2"], "production",
                     reason="deeper model, better test f1", tracking_uri=uri)
    serving = registry.current_version(MODEL, "production", tracking_uri=uri)
    echo(f"2. promoted version {versions['v1']} then {versions['v2']} to Production; "
         f"serving: version {serving.version} (models:/{MODEL}@production)")

    # 3. serve twelve weeks, logging every prediction -----------------------------------------
    prod, outcome = _simulate(X.iloc[n_train:].reset_index(drop=True), y[n_train:],
                              X_tr.std(), rng)
    served = prod.fillna(X_tr.mean())  # the serving pipeline fills missing inputs
    scores = models["v2"].predict_proba(served)[:, 1]
    log = PredictionLog(log_url)
    step = pd.Timedelta(days=7) / PER_WEEK
    rows: list[Any] = []
    for i in range(0, len(prod), 50):  # one timestamp per batch of 50 requests
        chunk = prod.iloc[i:i + 50]
        ts = (START + step * i).timestamp()
        records = [{k: (None if pd.isna(v) else float(v)) for k, v in r.items()}
                   for r in chunk.to_dict("records")]
        rows += PredictionLog.make_rows(MODEL, serving.version, records,
                                        [float(s) for s in scores[i:i + 50]], timestamp=ts)
    log.write_rows(rows)
    ids = [r["id"] if isinstance(r, dict) else r[0] for r in rows]
    echo(f"3. served {WEEKS} weeks ({len(ids):,} predictions) into the prediction log; planted:")
    for kind, (planted_week, text) in PLANTED.items():
        echo(f"     week {planted_week:>2} ({week_label(planted_week)}): {text}  [{kind}]")

    # 4. outcomes arrive, late for the last weeks ---------------------------------------------
    week = np.arange(len(ids)) // PER_WEEK + 1
    known: dict[str, float] = {}
    for i, pid in enumerate(ids):
        cov = COVERAGE.get(int(week[i]), 1.0)
        if (i % PER_WEEK) < cov * PER_WEEK:
            known[pid] = float(outcome[i])
    log.log_outcomes(known)
    log.close()
    echo(f"4. {len(known):,} outcomes arrived (weeks 11 and 12 only partly labelled yet)\n")

    # 5. monitor -------------------------------------------------------------------------------
    echo(f"5. monitoring {MODEL}@production week by week against its training baseline "
         "(policy default); alerts as they are sent:")
    sinks = [console_sink or ConsoleSink(), JsonLinesSink(root / "alerts.jsonl"),
             MlflowSink(MODEL, serving.version, tracking_uri=uri)]
    report = run_monitor(MODEL, log_url, tracking_uri=uri, sinks=sinks, progress=False)
    paths = report.write(root / "report")

    # 6. roll back ------------------------------------------------------------------------------
    concept = [a for a in report.alerts if a.kind == "concept_drift" and a.severity == "critical"]
    production_after = str(serving.version)
    if concept:
        first = concept[0].window_label
        registry.rollback(MODEL, reason=f"concept drift on version {serving.version} since {first}",
                          tracking_uri=uri)
        production_after = str(registry.current_version(MODEL, "production",
                                                        tracking_uri=uri).version)
    first_alert: dict[str, int | None] = {}
    labels = {week_label(w): w for w in range(1, WEEKS + 1)}
    for kind in PLANTED:
        weeks_alerted = [labels[n.window_label] for n in report.notifications
                         for e in n.events if e.event != "resolved" and e.alert.kind == kind]
        first_alert[kind] = min(weeks_alerted) if weeks_alerted else None
    return DemoResult(root, uri, log_url, versions, report, paths, production_after,
                      time.perf_counter() - t0, first_alert)
