"""``monitor()``: production data, cut into windows, checked against the serving model's
baseline, with alerts under a policy and fatigue control.

    >>> import numpy as np, pandas as pd
    >>> from modelsteward.baseline import Baseline
    >>> rng = np.random.default_rng(0)
    >>> base = Baseline.fit({"x": rng.normal(size=5_000)})
    >>> ts = pd.date_range("2026-01-05", periods=3_000, freq="10min", tz="UTC")
    >>> x = rng.normal(size=3_000); x[2_016:] += 1.0      # shift from the third week
    >>> rep = monitor("m", pd.DataFrame({"timestamp": ts, "x": x}), baseline=base, sinks=[])
    >>> [(w.label, [a.alert_type for a in w.alerts if a.severity == "critical"])
    ...  for w in rep.windows]
    [('2026-W02', []), ('2026-W03', []), ('2026-W04', ['distribution'])]
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.drift.concept import (
    ConceptDriftResult,
    Window,
    detect_concept_drift,
    parse_window,
    split_windows,
)
from modelsteward.errors import ConfigError, DataError, EmptyDataError
from modelsteward.monitor.alerts import ACTIONS, Alert, AlertEvent, AlertTracker, Notification
from modelsteward.monitor.checks import FeatureCheck, check_window, reference_bins
from modelsteward.monitor.data import attach_outcomes, read_production
from modelsteward.monitor.policy import Policy, load_policy, severity_rank
from modelsteward.monitor.rows import FEATURE_REASONS, clean_rows, count_reasons, skip_notes
from modelsteward.monitor.sinks import ConsoleSink, Dispatcher, parse_sink

__all__ = ["MonitorReport", "WindowResult", "monitor"]


@dataclass(frozen=True)
class WindowResult:
    """Everything checked in one window."""

    index: int
    label: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    n_rows: int
    status: str  # ok | too_small | empty
    features: tuple[FeatureCheck, ...] = ()
    degradation: tuple[dict[str, Any], ...] = ()
    concept: ConceptDriftResult | None = None
    alerts: tuple[Alert, ...] = ()
    notes: tuple[str, ...] = ()
    model_versions: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    multivariate: tuple[dict[str, Any], ...] = ()
    performance: Any = None  # WindowPerformance (monitor.performance_checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "label": self.label,
            "start": self.start.isoformat() if self.start is not None else None,
            "end": self.end.isoformat() if self.end is not None else None,
            "n_rows": self.n_rows, "status": self.status,
            "features": [f.to_dict() for f in self.features],
            "degradation": list(self.degradation),
            "concept": self.concept.to_dict() if self.concept else None,
            "alerts": [a.to_dict() for a in self.alerts], "notes": list(self.notes),
            "model_versions": dict(self.model_versions),
            "skipped_rows": dict(self.skipped),
            "multivariate": list(self.multivariate),
            "performance": self.performance.to_dict() if self.performance else None,
        }


@dataclass(frozen=True)
class MonitorReport:
    """The result of one monitoring run; ``to_dict()`` is what the report part renders."""

    model_name: str
    model_version: str
    stage: str
    run_id: str | None
    window: str
    tz: str
    policy: Policy
    windows: tuple[WindowResult, ...]
    notifications: tuple[Notification, ...]
    reference: dict[str, Any]
    description: dict[str, Any] | None = None
    sink_failures: tuple[dict[str, Any], ...] = ()
    undelivered: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    outbox: str | None = None
    outbox_delivered: int = 0  # notifications of earlier runs delivered from the outbox
    skipped_unplaced: dict[str, int] = field(default_factory=dict)
    #: with a state store: what this run was about and what it did not (re)check
    target: str | None = None
    state_url: str | None = None
    in_progress: tuple[str, ...] = ()  # windows still open: shown, no alert raised
    already_checked: int = 0  # complete windows checked by earlier runs (not redone)
    replaced: tuple[str, ...] = ()  # windows recomputed on purpose (--rerun)
    late_labels: tuple[str, ...] = ()  # "window 2026-W11, now 82% labelled" re-evaluations
    state_open: tuple[Alert, ...] | None = None  # open episodes after the run (state store)
    silences: tuple[dict[str, Any], ...] = ()
    acks: tuple[dict[str, Any], ...] = ()
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def alerts(self) -> list[Alert]:
        """Every alert of every window (including info alerts not sent)."""
        return [a for w in self.windows for a in w.alerts]

    @property
    def open_alerts(self) -> list[Alert]:
        """Alerts still open after the last tested window, at notify severity or above."""
        if self.state_open is not None:
            return list(self.state_open)
        floor = severity_rank(self.policy.value("notify_severity"))
        tested = [w for w in self.windows if w.status == "ok"]
        return [a for a in (tested[-1].alerts if tested else ())
                if severity_rank(a.severity) >= floor]

    @property
    def concept(self) -> list[ConceptDriftResult]:
        return [w.concept for w in self.windows if w.concept is not None]

    def feature_table(self) -> list[dict[str, Any]]:
        """One row per feature, worst first: peak severity, peak and last PSI, first flagged."""
        rows: dict[str, dict[str, Any]] = {}
        for w in self.windows:
            for f in w.features:
                row = rows.setdefault(f.feature, {
                    "feature": f.feature, "kind": f.kind, "worst_severity": None, "max_psi": None,
                    "last_psi": None, "min_p_value": None, "first_flagged": None,
                    "max_null_rate": 0.0, "alert_types": []})
                if severity_rank(f.severity) > severity_rank(row["worst_severity"]):
                    row["worst_severity"] = f.severity
                if f.severity and severity_rank(f.severity) >= 2 and row["first_flagged"] is None:
                    row["first_flagged"] = w.label
                if f.psi is not None:
                    row["max_psi"] = max(row["max_psi"] or 0.0, f.psi)
                    row["last_psi"] = f.psi
                if f.p_value is not None:
                    row["min_p_value"] = min(row["min_p_value"] if row["min_p_value"] is not None
                                             else 1.0, f.p_value)
                row["max_null_rate"] = max(row["max_null_rate"], f.null_rate)
            for a in w.alerts:
                if a.feature in rows and a.alert_type not in rows[a.feature]["alert_types"]:
                    rows[a.feature]["alert_types"].append(a.alert_type)
        return sorted(rows.values(), key=lambda r: (-severity_rank(r["worst_severity"]),
                                                     -(r["max_psi"] or 0.0), r["feature"]))

    @property
    def skipped_rows(self) -> dict[str, int]:
        """Rows set aside in the whole run, by reason (windows and rows in no window)."""
        total = dict(self.skipped_unplaced)
        for w in self.windows:
            for reason, n in w.skipped.items():
                total[reason] = total.get(reason, 0) + n
        return total

    def timeline(self) -> list[tuple[str, str]]:
        """(window label, notification title) in order: what a person was told, when."""
        return [(n.window_label, n.title) for n in self.notifications]

    def to_dict(self) -> dict[str, Any]:
        counts = {s: 0 for s in ("info", "warning", "critical")}
        for a in self.alerts:
            counts[a.severity] += 1
        return {
            "kind": "modelsteward.monitor_report", "format_version": 1,
            "created_at": self.created_at,
            "model": {"name": self.model_name, "version": self.model_version,
                      "stage": self.stage, "run_id": self.run_id},
            "window": self.window, "tz": self.tz, "policy": self.policy.to_dict(),
            "description": self.description, "reference": self.reference,
            "summary": {"windows": len(self.windows),
                        "rows": sum(w.n_rows for w in self.windows),
                        "alerts_by_severity": counts,
                        "notifications": len(self.notifications),
                        "open_alerts": len(self.open_alerts),
                        "skipped_rows": self.skipped_rows,
                        "undelivered": len(self.undelivered),
                        "outbox_delivered": self.outbox_delivered},
            "notifications": [n.to_dict() for n in self.notifications],
            "open_alerts": [a.to_dict() for a in self.open_alerts],
            "feature_table": self.feature_table(),
            "windows": [w.to_dict() for w in self.windows],
            "sink_failures": list(self.sink_failures), "undelivered": list(self.undelivered),
            "warnings": list(self.warnings), "outbox": self.outbox,
            "state": None if self.target is None else {
                "target": self.target, "in_progress": list(self.in_progress),
                "already_checked": self.already_checked, "replaced": list(self.replaced),
                "late_labels": list(self.late_labels), "silences": list(self.silences),
                "acks": list(self.acks)},
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON (NaN becomes null), secrets in URIs and error texts masked."""
        from modelsteward.report import finite, redacted

        return json.dumps(redacted(finite(self.to_dict())), indent=indent, default=str,
                          allow_nan=False)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``report.json`` and ``report.html`` into ``out_dir``; returns their paths."""
        from modelsteward.report import write_report

        return write_report(self.to_dict(), out_dir)


def _resolve(model: str, stage: str, tracking_uri: str | None, baseline: Any,
             model_version: str | None, describe: bool) -> tuple[Any, str, str | None,
                                                                  dict[str, Any] | None]:
    """Baseline, version, run id and description of the serving model."""
    if baseline is not None:
        return baseline, str(model_version or "unregistered"), None, None
    from modelsteward import registry

    if model_version is None:
        record = registry.current_version(model, stage, tracking_uri=tracking_uri)
    else:
        record = registry.get_version(model, model_version, tracking_uri=tracking_uri)
    version, run_id = str(record.version), record.run_id
    base = registry.load_baseline(model, stage, version, tracking_uri=tracking_uri)
    description = None
    if describe:
        try:
            description = registry.describe(model, stage, version=version,
                                            tracking_uri=tracking_uri).to_dict()
        except Exception as exc:  # the report still works without the four questions
            from modelsteward.redact import redact_text

            description = {"error": redact_text(f"{type(exc).__name__}: {exc}")}
    return base, version, run_id, description


def _time_filter(frame: pd.DataFrame, column: str, since: Any, until: Any) -> np.ndarray:
    """Which rows have ``since <= timestamp < until`` (naive bounds are UTC)."""
    from modelsteward.drift.concept import to_utc_timestamps

    ts = to_utc_timestamps(frame[column])
    keep = np.ones(len(frame), dtype=bool)
    for bound, is_lower in ((since, True), (until, False)):
        if bound is None:
            continue
        try:
            b = pd.Timestamp(bound)
        except (TypeError, ValueError) as exc:
            raise DataError(f"cannot read {bound!r} as a time; use ISO 8601") from exc
        b = b.tz_localize("UTC") if b.tzinfo is None else b
        keep &= (ts >= b) if is_lower else (ts < b)
    if not keep.any():
        raise EmptyDataError(f"no rows between since={since} and until={until}; widen the range")
    return keep


def _concept_per_window(frame: pd.DataFrame, windows: list[Window], baseline: Any,
                        policy: Policy, prediction_column: str, outcome_column: str,
                        notes: list[str], scores: np.ndarray | None
                        ) -> dict[int, ConceptDriftResult]:
    if outcome_column not in frame.columns:
        notes.append("no outcomes in the data: concept drift not checked")
        return {}
    if prediction_column not in frame.columns:
        notes.append(f"no {prediction_column!r} column: concept drift not checked")
        return {}
    ref = getattr(baseline, "concept", None)
    if ref is None:
        notes.append("the baseline has no concept reference (no validation predictions and "
                     "outcomes at fit time): concept drift not checked")
        return {}
    assert scores is not None  # the prediction column is there
    preds = scores
    if getattr(ref, "task", None) == "multiclass":  # lists of class probabilities
        from modelsteward.monitor.performance_checks import predictions_of

        preds = predictions_of(frame, prediction_column, scores, "multiclass",
                               ref.n_classes)  # type: ignore[assignment]
    outs = frame[outcome_column].to_numpy(dtype=float)  # cleaned by clean_rows
    bad = np.isnan(preds) if preds.ndim == 1 else np.isnan(preds).any(axis=1)
    if bad.all():
        notes.append("predictions are not numbers: concept drift not checked")
        return {}
    if bad.any():
        outs = np.where(bad, np.nan, outs)
        preds = np.where(bad if preds.ndim == 1 else bad[:, None], 0.0, preds)
    results = detect_concept_drift(
        preds, outs, None, reference_correlation=ref, windows=windows,
        p_threshold=policy.value("concept_p_value"), min_drop=policy.value("concept_min_drop"),
        min_samples=max(4, int(policy.value("min_labelled_rows"))),
    )
    return {w.index: r for w, r in zip(windows, results, strict=True)}


def _concept_alert(r: ConceptDriftResult, policy: Policy, common: dict[str, Any]) -> Alert | None:
    if r.status == "insufficient_data" or r.correlation is None or r.p_value is None:
        return None
    if r.is_drifted:
        severity, tname = "critical", "concept_min_drop"
    elif r.p_value < r.p_threshold:
        severity, tname = "info", "concept_p_value"
    else:
        return None
    perf = ", ".join(f"{k} {v:.3f}" for k, v in r.performance.items())
    return Alert(
        key="concept_drift:prediction_outcome:correlation", kind="concept_drift", feature=None,
        alert_type="correlation_drop", severity=severity,
        summary=(f"prediction-outcome correlation fell from {r.reference_correlation:.3f} to "
                 f"{r.correlation:.3f} (drop {r.drop:.3f}, Fisher z p={r.p_value:.2g}, "
                 f"{r.n} labelled rows, coverage {r.coverage:.0%}"
                 + (f"; {perf}" if perf else "") + ")"),
        value=r.correlation, baseline_value=r.reference_correlation, threshold_name=tname,
        threshold=policy.value(tname), threshold_source=policy.source(tname),
        action=ACTIONS["concept_drift"], **common,
    )


def _reference_summary(baseline: Any) -> dict[str, Any]:
    feats: dict[str, Any] = {}
    for name in baseline.feature_names:
        profile = baseline.columns[name]
        bins = reference_bins(profile)
        feats[name] = {
            "kind": profile.kind, "n_rows": int(profile.n_rows),
            "null_rate": float(profile.n_null / profile.n_rows) if profile.n_rows else 0.0,
            "bins": bins[0] if bins else None, "reference": bins[1] if bins else None,
        }
    concept = getattr(baseline, "concept", None)
    c = None
    if concept is not None:
        c = {"correlation": float(concept.correlation), "n": int(concept.n),
             "task": getattr(concept, "task", None),
             "threshold": getattr(concept, "threshold", None),
             "classes": list(getattr(concept, "classes", None) or []) or None,
             "calibration": [c.method for c in getattr(concept, "calibrators", ())],
             "metrics": {str(k): float(v) for k, v in
                         (getattr(concept, "metrics", None) or {}).items()}}
    return {"features": feats, "concept": c}


def monitor(
    model: str,
    data: Any,
    *,
    stage: str = "production",
    window: str | int = "7D",
    policy: str | Path | Policy | dict[str, Any] = "default",
    outcomes: Any = None,
    tracking_uri: str | None = None,
    baseline: Any = None,
    model_version: str | None = None,
    sinks: Sequence[Any] | None = None,
    timestamp_column: str = "timestamp",
    prediction_column: str = "prediction",
    outcome_column: str = "outcome",
    since: Any = None,
    until: Any = None,
    tz: str = "UTC",
    progress: bool | None = None,
    describe: bool = True,
    sink_deadline: float | None = None,
    outbox: str | Path | None = None,
    state: Any = None,
    now: Any = None,
    include_partial: bool = False,
    rerun: bool = False,
    legacy_outbox: str | Path | None = None,
) -> MonitorReport:
    """Check production data window by window against the serving model's baseline.

    ``model`` is the registered model name; the version serving ``stage`` and the baseline
    logged with it come from the registry (or pass ``baseline=`` to skip the registry).
    ``data`` is a DataFrame, CSV/Parquet path(s) or glob, or a prediction-log URL.
    ``sinks`` are sink objects or specs (``"console"``, ``"jsonl:PATH"``, ``"webhook:URL"``,
    ``"slack:URL"``, ``"mlflow"``); default: console. ``sink_deadline`` bounds the seconds
    all deliveries of the run take together. ``outbox`` is a JSON Lines file that keeps what
    a sink could not take for the next run (retried first); None keeps it in memory only.
    Rows that cannot be used (an infinite outcome, features that are not JSON...) are left
    out and counted per window (``WindowResult.skipped``), never fatal.
    ``state`` (a :class:`~modelsteward.monitor.state.MonitorState` or its URL) makes the run
    incremental: only complete windows (end <= ``now``; default: the clock for a log URL, the
    last timestamp for files) not checked by an earlier run are checked, the open window is
    shown as in progress (checked, not recorded, with ``include_partial``), alert episodes
    continue from the last run, notifications go through the store's outbox with stable ids,
    closed windows below the label-coverage threshold are re-judged as late labels arrive,
    and ``rerun`` recomputes the windows inside ``since``/``until``. With ``now`` given,
    rows at or after it are treated as not arrived yet (a simulated clock). The entries of a
    JSON Lines outbox file of an earlier version (``legacy_outbox``) are moved into the store.
    Returns a :class:`MonitorReport`.
    """
    if sink_deadline is not None and not (sink_deadline > 0 and math.isfinite(sink_deadline)):
        raise ConfigError(f"sink_deadline must be a positive number of seconds, got "
                          f"{sink_deadline!r}")
    pol = load_policy(policy)
    spec = parse_window(window)
    run_warnings: list[str] = []
    if spec.noisy:
        msg = (f"{spec.describe()} windows are noisy (the chapter: hourly windows are chaos); "
               "prefer calendar weeks ('7D') against the training baseline")
        warnings.warn(msg, UserWarning, stacklevel=2)
        run_warnings.append(msg)
    base, version, run_id, description = _resolve(model, stage, tracking_uri, baseline,
                                                  model_version, describe)
    read_since, resume = since, None
    if state is not None and not rerun and spec.is_time and spec.count == 1:
        # windows are calendar-aligned: read from the last checked (or late-label) window on,
        # so a run costs the new data, not the whole history
        from modelsteward.monitor.state import MonitorState, resume_point, target_key

        url = state.url if isinstance(state, MonitorState) else str(state)
        resume = resume_point(url, target_key(model, version, load_policy(policy),
                                              spec.describe(), tz))
        if resume is not None and (since is None or _utc(since) < _utc(resume[0])):
            read_since = resume[0]
        else:
            resume = None
    frame = read_production(data, model, since=read_since, until=until)
    if len(frame) == 0:
        raise EmptyDataError(f"no production rows for model {model!r}; check the data source "
                             "and the since/until range")
    frame = attach_outcomes(frame, outcomes, outcome_column).reset_index(drop=True)
    if spec.is_time and timestamp_column not in frame.columns:
        raise DataError(f"column {timestamp_column!r} is missing; name the time column with "
                        "timestamp_column= or use a row-count window such as window=5000")
    cleaned = clean_rows(frame, base, prediction_column=prediction_column,
                         outcome_column=outcome_column,
                         timestamp_column=(timestamp_column if spec.is_time or since is not None
                                           or until is not None else None))
    frame, reasons, scores = cleaned.frame, cleaned.reasons, cleaned.scores
    if (since is not None or until is not None) and timestamp_column in frame.columns:
        keep = _time_filter(frame, timestamp_column, since, until)
        frame, reasons = frame[keep].reset_index(drop=True), reasons[keep]
        scores = scores[keep] if scores is not None else None
    feature_ok = ~np.isin(reasons, np.array(sorted(FEATURE_REASONS), dtype=object))
    run_warnings += list(cleaned.notes)
    run_warnings += [f"{note} (no window)" for note in skip_notes(cleaned.unplaced)]
    store = _open_state(state)  # only now: a log that cannot be read gets no tables
    if store is not None and legacy_outbox is not None and Path(legacy_outbox).is_file():
        moved = store.import_outbox(Path(legacy_outbox))
        if moved:
            run_warnings.append(f"{moved} undelivered notification(s) moved from the outbox "
                                f"file {legacy_outbox} into the state store")
    now_ts: pd.Timestamp | None = None
    if now is not None:
        now_ts = _utc(now)
        if timestamp_column in frame.columns:  # a simulated clock: later rows have not arrived
            from modelsteward.drift.concept import to_utc_timestamps

            keep = np.asarray(to_utc_timestamps(frame[timestamp_column]) < now_ts)
            if not keep.any():
                raise EmptyDataError(f"no rows before now={now_ts.isoformat()}")
            frame, reasons = frame[keep].reset_index(drop=True), reasons[keep]
            feature_ok = feature_ok[keep]
            scores = scores[keep] if scores is not None else None
    stamps = frame[timestamp_column] if timestamp_column in frame.columns else None
    windows = split_windows(stamps, spec, tz=tz, n_rows=len(frame))
    if resume is not None and windows and windows[0].label == resume[2]:
        from dataclasses import replace as _replace

        offset = resume[1]  # the same window indices as a run over the whole history
        windows = [_replace(w, index=w.index + offset) for w in windows]
    if store is not None and now_ts is None:
        from modelsteward.monitor.data import is_log_url

        if is_log_url(data) or stamps is None:
            now_ts = pd.Timestamp.now(tz="UTC")
        else:
            from modelsteward.drift.concept import to_utc_timestamps

            now_ts = to_utc_timestamps(stamps).max()
    missing = [f for f in base.feature_names if f not in frame.columns]
    if len(missing) == len(base.feature_names):
        raise DataError(f"none of the baseline's features ({', '.join(base.feature_names[:5])}"
                        "...) are in the data; is this the right model and data source?")

    sink_objs = [parse_sink(s, model_name=model, model_version=version,
                            tracking_uri=tracking_uri) if isinstance(s, str) else s
                 for s in (sinks if sinks is not None else [ConsoleSink()])]
    target = None
    journal = None
    lock: Any = contextlib.nullcontext()
    if store is not None:
        from modelsteward.monitor.state import Journal, target_key

        target = target_key(model, version, pol, spec.describe(), tz)
        journal = Journal(store, target)
        lock = store.lock(target)
    with lock as owner:
        return _run(
            model=model, version=version, stage=stage, run_id=run_id, description=description,
            spec=spec, tz=tz, pol=pol, base=base, frame=frame, reasons=reasons,
            feature_ok=feature_ok, scores=scores, windows=windows, sink_objs=sink_objs,
            sink_deadline=sink_deadline, outbox=outbox, journal=journal, store=store,
            target=target, now_ts=now_ts, include_partial=include_partial, rerun=rerun,
            run_warnings=run_warnings, cleaned=cleaned, prediction_column=prediction_column,
            outcome_column=outcome_column, progress=progress,
            heartbeat=(lambda: store.heartbeat(target, owner)) if store is not None else None,
        )


def _utc(value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"cannot read now={value!r} as a time; use ISO 8601") from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _open_state(state: Any) -> Any:
    if state is None:
        return None
    from modelsteward.monitor.state import MonitorState

    return state if isinstance(state, MonitorState) else MonitorState.open(str(state))


def _complete(w: Window, spec: Any, now_ts: pd.Timestamp | None) -> bool:
    if spec.unit == "rows":
        return w.n >= spec.count
    return now_ts is None or w.end is None or w.end <= now_ts


def _run(*, model: str, version: str, stage: str, run_id: str | None,
         description: dict[str, Any] | None, spec: Any, tz: str, pol: Policy, base: Any,
         frame: pd.DataFrame, reasons: np.ndarray, feature_ok: np.ndarray,
         scores: np.ndarray | None, windows: list[Window], sink_objs: list[Any],
         sink_deadline: float | None, outbox: str | Path | None, journal: Any, store: Any,
         target: str | None, now_ts: pd.Timestamp | None, include_partial: bool, rerun: bool,
         run_warnings: list[str], cleaned: Any, prediction_column: str, outcome_column: str,
         progress: bool | None, heartbeat: Callable[[], None] | None = None) -> MonitorReport:
    """The windows loop (under the target's lock when there is a state store)."""
    dispatcher = Dispatcher(sink_objs, deadline=sink_deadline, outbox_path=outbox,
                            journal=journal)
    if dispatcher.unreadable:
        run_warnings.append(f"{dispatcher.unreadable} unreadable line(s) of the outbox {outbox} "
                            "dropped")
    dispatcher.start()
    tracker = AlertTracker(model, version, notify_severity=pol.value("notify_severity"))
    floor = severity_rank(pol.value("notify_severity"))
    checked: dict[str, dict[str, Any]] = store.checked(target) if store is not None else {}
    silenced: dict[str, dict[str, Any]] = {}
    acks: list[dict[str, Any]] = []
    if store is not None:
        at = now_ts.isoformat() if now_ts is not None else None
        silenced = {s["feature"]: s for s in store.silences(model, at=at)}
        acks = [e.to_dict() for e in store.episodes(open_only=True)
                if e.target == target and e.ack_at]
    todo: list[Window] = []
    late: list[Window] = []
    in_progress: list[Window] = []
    replaced: list[str] = []
    already = 0
    for w in windows:
        if store is not None and not _complete(w, spec, now_ts):
            (todo if include_partial else in_progress).append(w)
        elif w.label in checked:
            if rerun:
                todo.append(w)
                replaced.append(w.label)
            else:
                already += 1
                if not checked[w.label]["concept_final"]:
                    late.append(w)
        else:
            todo.append(w)
    if store is not None:
        first = todo[0].start.isoformat() if todo and todo[0].start is not None else None
        tracker.restore(store.tracker_before(target, first))
    concept_notes: list[str] = []
    concept = _concept_per_window(frame, [*late, *todo], base, pol, prediction_column,
                                  outcome_column, concept_notes, scores)
    run_warnings += concept_notes
    from modelsteward.monitor import performance_checks as perf_checks

    perf = perf_checks.measure(frame, [*late, *todo], base, pol, notes=run_warnings,
                               prediction_column=prediction_column,
                               outcome_column=outcome_column, scores=scores)
    min_rows = int(pol.value("min_window_rows"))

    show = progress if progress is not None else (sys.stderr.isatty() and len(todo) >= 8)
    bar: Any = None
    task: Any = None
    if show:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task(f"monitoring {model} v{version}", total=len(todo))

    results: list[WindowResult] = []
    notifications: list[Notification] = []
    late_notes: list[str] = []
    try:
        for w in late:
            late_note = _late_labels(w, concept.get(w.index), pol, model, version, target,
                                     store, now_ts, floor, perf.get(w.index))
            if late_note is not None:
                late_notes.append(late_note.late_note)
                notifications.append(late_note)
                dispatcher.send(late_note)
        partial = {w.label for w in todo if store is not None
                   and not _complete(w, spec, now_ts)}
        for w in todo:
            skipped = count_reasons(reasons[w.rows])
            skip_text = tuple(skip_notes(skipped))
            usable = np.asarray(w.rows)[feature_ok[w.rows]]
            rows = frame.iloc[usable]
            n_usable = len(usable)
            versions: dict[str, int] = {}
            if "model_version" in rows.columns:
                versions = {str(k): int(v) for k, v in rows["model_version"].value_counts().items()}
            c = concept.get(w.index)
            common: dict[str, Any] = dict(window_index=w.index, window_label=w.label,
                                          model_name=model, model_version=version)
            note: Notification | None = None
            events: list[AlertEvent] = []
            if n_usable == 0:
                result = WindowResult(w.index, w.label, w.start, w.end, 0, "empty", concept=c,
                                      notes=("no usable rows in this window; nothing checked",
                                             *skip_text), skipped=skipped)
            elif n_usable < min_rows:
                result = WindowResult(
                    w.index, w.label, w.start, w.end, n_usable, "too_small", concept=c,
                    notes=(f"{n_usable} rows < min_window_rows {min_rows} "
                           f"({pol.source('min_window_rows')}): too small to test, no alert "
                           "raised; use longer windows", *skip_text), model_versions=versions,
                    skipped=skipped)
            else:
                chk = check_window(base, rows, policy=pol, model_name=model, model_version=version,
                                   window_index=w.index, window_label=w.label)
                alerts = list(chk.alerts)
                ca = _concept_alert(c, pol, common) if c is not None else None
                if ca is not None:
                    alerts.append(ca)
                alerts += perf_checks.judge(perf.get(w.index), pol, **common)
                muted = [a for a in alerts if a.feature is not None and a.feature in silenced]
                extra = tuple(_silenced_text(a, silenced[str(a.feature)]) for a in muted)
                note = tracker.update(w.index, w.label, [a for a in alerts if a not in muted])
                alerts = [tracker.stamp(a) for a in alerts]
                alerts.sort(key=lambda a: -severity_rank(a.severity))
                if w.label in partial:
                    extra += ("window still open (checked with --include-partial)",)
                result = WindowResult(w.index, w.label, w.start, w.end, n_usable, "ok",
                                      chk.features, chk.degradation, c, tuple(alerts),
                                      (*chk.notes, *skip_text, *extra), versions, skipped,
                                      chk.multivariate)
                if note is not None:
                    if target is not None:
                        from modelsteward.monitor.state import notification_id

                        note = note.with_id(notification_id(target, note))
                    events = list(note.events)
                    notifications.append(note)
                    dispatcher.send(note)
            result = replace(result, performance=perf.get(w.index))
            if store is not None and w.label not in partial:
                final = _concept_final(c, w, pol, now_ts)
                store.save_window(target, result.to_dict(), tracker.snapshot(), final, events)
            results.append(result)
            if sink_objs:
                dispatcher.window(result.to_dict())
            if heartbeat is not None:
                heartbeat()  # the lock stays fresh however long the run
            if bar is not None:
                bar.advance(task)
    finally:
        if bar is not None:
            bar.stop()
    for w in in_progress:
        results.append(WindowResult(
            w.index, w.label, w.start, w.end, int(np.count_nonzero(feature_ok[w.rows])),
            "in_progress", notes=("window still open: shown, not checked, no alert raised "
                                  "(--include-partial checks it)",)))

    report = MonitorReport(
        model_name=model, model_version=version, stage=stage, run_id=run_id,
        window=spec.describe(), tz=tz, policy=pol, windows=tuple(results),
        notifications=tuple(notifications), reference=_reference_summary(base),
        description=description, warnings=tuple(run_warnings),
        skipped_unplaced=dict(cleaned.unplaced),
        outbox=(str(outbox) if outbox is not None
                else (_shown_url(store.url) if store is not None else None)),
        target=target, state_url=_shown_url(store.url) if store is not None else None,
        in_progress=tuple(w.label for w in in_progress), already_checked=already,
        replaced=tuple(replaced), late_labels=tuple(late_notes),
        state_open=(tuple(e.last for e in tracker.open.values()) if store is not None
                    else None),
        silences=tuple(silenced.values()), acks=tuple(acks),
    )
    dispatcher.close(report.to_dict())
    return MonitorReport(
        **{**report.__dict__,
           "sink_failures": tuple(f.to_dict() for f in dispatcher.failures),
           "undelivered": tuple(dispatcher.undelivered()),
           "outbox_delivered": dispatcher.previous_delivered},
    )


def _silenced_text(a: Alert, s: dict[str, Any]) -> str:
    return (f"{a.feature}: {a.alert_type} not sent: silenced until {s['until']} by "
            f"{s['created_by']} ({s['reason']})")


def _shown_url(url: str) -> str:
    from modelsteward.redact import redact_uri

    return redact_uri(url)


def _concept_final(c: ConceptDriftResult | None, w: Window, pol: Policy,
                   now_ts: pd.Timestamp | None) -> bool:
    """No more late labels to wait for: coverage reached, or the label delay passed."""
    if c is None or c.coverage >= float(pol.value("label_coverage_final")):
        return True
    if w.end is None or now_ts is None:
        return True
    return bool(w.end + pd.Timedelta(days=int(pol.value("label_delay_max"))) <= now_ts)


def _late_labels(w: Window, c: ConceptDriftResult | None, pol: Policy, model: str,
                 version: str, target: str | None, store: Any, now_ts: pd.Timestamp | None,
                 floor: int, perf: Any = None) -> Notification | None:
    """Re-judge a closed window's concept result now that more labels arrived."""
    from modelsteward.monitor.state import notification_id, window_row

    if c is None or store is None or target is None:
        return None
    result, snapshot = window_row(store, target, w.label)
    old = result.get("concept") or {}
    if old.get("n") == c.n and old.get("coverage") == c.coverage:
        if _concept_final(c, w, pol, now_ts):  # nothing new, and nothing more to wait for
            store.save_window(target, result, snapshot, True, [])
        return None
    common: dict[str, Any] = dict(window_index=w.index, window_label=w.label, model_name=model,
                                  model_version=version, since_window=w.label)
    alert = _concept_alert(c, pol, common)
    had = [a for a in result.get("alerts", []) if a.get("kind") == "concept_drift"
           and severity_rank(a.get("severity")) >= floor]
    alerts = [a for a in result.get("alerts", []) if a.get("kind") != "concept_drift"]
    if alert is not None:
        alerts.append(alert.to_dict())
    result = {**result, "concept": c.to_dict(), "alerts": alerts}
    from modelsteward.monitor import performance_checks as perf_checks

    result, fresh = perf_checks.rejudge(result, perf, pol, floor, **common)
    note: Notification | None = None
    events: list[AlertEvent] = []
    if alert is not None and severity_rank(alert.severity) >= floor and not had:
        events = [AlertEvent("new", alert, w.label, alert.severity)]
    events += [AlertEvent("new", a, w.label, a.severity) for a in fresh]
    if events:
        note = Notification(model, version, w.index, w.label, tuple(events),
                            late_note=f"window {w.label}, now {c.coverage:.0%} labelled")
        note = note.with_id(notification_id(target, note))
    store.save_window(target, result, snapshot, _concept_final(c, w, pol, now_ts), events)
    return note
