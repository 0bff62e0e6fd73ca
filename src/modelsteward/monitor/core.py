"""``run_monitor()``: production data from a window source, each window measured once and
judged under a policy, alerts through fatigue control to the sinks, and the report.

    >>> import numpy as np, pandas as pd
    >>> from modelsteward.baseline import Baseline
    >>> rng = np.random.default_rng(0)
    >>> base = Baseline.fit({"x": rng.normal(size=5_000)})
    >>> ts = pd.date_range("2026-01-05", periods=3_000, freq="10min", tz="UTC")
    >>> x = rng.normal(size=3_000); x[2_016:] += 1.0      # shift from the third week
    >>> rep = run_monitor("m", pd.DataFrame({"timestamp": ts, "x": x}), baseline=base, sinks=[])
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
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from modelsteward import registry
from modelsteward.drift.concept import ConceptDriftResult
from modelsteward.drift.performance import WindowPerformance
from modelsteward.errors import ConfigError
from modelsteward.monitor import performance_checks as perf_checks
from modelsteward.monitor.alerts import Alert, AlertEvent, AlertTracker, Notification
from modelsteward.monitor.bins import reference_bins
from modelsteward.monitor.episodes import Ledger
from modelsteward.monitor.judge import (
    FeatureCheck,
    JudgeContext,
    concept_alert,
    explained_by_breaks,
    judge_concept_result,
    judge_window,
)
from modelsteward.monitor.measure import WindowMeasurement
from modelsteward.monitor.policy import Policy, load_policy, severity_rank
from modelsteward.monitor.rows import skip_notes
from modelsteward.monitor.sinks import ConsoleSink, Dispatcher, parse_sink
from modelsteward.monitor.sources import FrameSource, WindowSource, utc
from modelsteward.monitor.state import (
    Journal,
    MonitorState,
    concept_final,
    index_offset,
    open_state,
    resume_point,
    state_url,
    target_key,
)
from modelsteward.monitor.windows import Window, WindowSpec, parse_window
from modelsteward.redact import redact_text, redact_uri
from modelsteward.report import finite, redacted, write_report

__all__ = ["MonitorReport", "WindowResult", "run_monitor", "window_result"]


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
    performance: WindowPerformance | None = None

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
        return json.dumps(redacted(finite(self.to_dict())), indent=indent, default=str,
                          allow_nan=False)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``report.json`` and ``report.html`` into ``out_dir``; returns their paths."""
        return write_report(self.to_dict(), out_dir)


def _resolve(model: str, stage: str, tracking_uri: str | None, baseline: Any,
             model_version: str | None, describe: bool) -> tuple[Any, str, str | None,
                                                                  dict[str, Any] | None]:
    """Baseline, version, run id and description of the serving model."""
    if baseline is not None:
        return baseline, str(model_version or "unregistered"), None, None
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
            description = {"error": redact_text(f"{type(exc).__name__}: {exc}")}
    return base, version, run_id, description


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


def run_monitor(
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
    source: WindowSource | None = None,
) -> MonitorReport:
    """Check production data window by window against the serving model's baseline.

    ``model`` is the registered model name; the version serving ``stage`` and the baseline
    logged with it come from the registry (or pass ``baseline=`` to skip the registry).
    ``data`` is a DataFrame, CSV/Parquet path(s) or glob, or a prediction-log URL; or pass a
    ready window ``source`` (e.g. :class:`~modelsteward.monitor.spark_source.SparkSource`)
    and ``data=None`` (its window spec and time zone then apply).
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
    Each window is measured once (:mod:`~modelsteward.monitor.measure`) and judged under the
    policy (:mod:`~modelsteward.monitor.judge`). Returns a :class:`MonitorReport`.
    """
    if sink_deadline is not None and not (sink_deadline > 0 and math.isfinite(sink_deadline)):
        raise ConfigError(f"sink_deadline must be a positive number of seconds, got "
                          f"{sink_deadline!r}")
    if source is not None and data is not None:
        raise ConfigError("give data or a window source, not both (data=None with source=)")
    pol = load_policy(policy)
    spec = parse_window(window) if source is None else source.spec
    tz = tz if source is None else source.tz
    run_warnings: list[str] = []
    if spec.noisy:
        msg = (f"{spec.describe()} windows are noisy (the chapter: hourly windows are chaos); "
               "prefer calendar weeks ('7D') against the training baseline")
        warnings.warn(msg, UserWarning, stacklevel=2)
        run_warnings.append(msg)
    base, version, run_id, description = _resolve(model, stage, tracking_uri, baseline,
                                                  model_version, describe)
    target = target_key(model, version, pol, spec.describe(), tz)
    read_since, resume = since, None
    if state is not None and not rerun and spec.is_time and spec.count == 1 and source is None:
        # windows are calendar-aligned: read from the last checked (or late-label) window on,
        # so a run costs the new data, not the whole history
        resume = resume_point(state_url(state), target)
        if resume is not None and (since is None or utc(since, "since") < utc(resume[0])):
            read_since = resume[0]
        else:
            resume = None
    now_ts = utc(now, "now") if now is not None else None
    if source is None:
        frames = FrameSource.prepare(
            data, model, base, window=spec, outcomes=outcomes, timestamp_column=timestamp_column,
            prediction_column=prediction_column, outcome_column=outcome_column, since=since,
            until=until, read_since=read_since, now=now_ts, tz=tz)
        if resume is not None and frames.windows and frames.windows[0].label == resume[2]:
            frames.shift(resume[1])  # the same window indices as a run over the whole history
        source = frames
    run_warnings += list(source.warnings)
    store = open_state(state)  # only now: a log that cannot be read gets no tables
    if store is not None and legacy_outbox is not None and Path(legacy_outbox).is_file():
        moved = store.import_outbox(Path(legacy_outbox))
        if moved:
            run_warnings.append(f"{moved} undelivered notification(s) moved from the outbox "
                                f"file {legacy_outbox} into the state store")
    if store is not None and now_ts is None:
        now_ts = source.last_time

    sink_objs = [parse_sink(s, model_name=model, model_version=version,
                            tracking_uri=tracking_uri) if isinstance(s, str) else s
                 for s in (sinks if sinks is not None else [ConsoleSink()])]
    journal = Journal(store, target) if store is not None else None
    lock: Any = store.lock(target) if store is not None else contextlib.nullcontext()
    with lock as owner:
        return _run(
            model=model, version=version, stage=stage, run_id=run_id, description=description,
            spec=spec, tz=tz, pol=pol, base=base, source=source, sink_objs=sink_objs,
            sink_deadline=sink_deadline, outbox=outbox, journal=journal, store=store,
            target=target if store is not None else None, now_ts=now_ts,
            include_partial=include_partial, rerun=rerun, run_warnings=run_warnings,
            progress=progress,
            heartbeat=(lambda: store.heartbeat(str(target), owner)) if store is not None
            else None,
        )


def _complete(w: Window, spec: WindowSpec, now_ts: pd.Timestamp | None) -> bool:
    if spec.unit == "rows":
        return w.n >= spec.count
    return now_ts is None or w.end is None or w.end <= now_ts


def window_result(m: WindowMeasurement, pol: Policy, ctx: JudgeContext, tracker: AlertTracker,
                  silenced: dict[str, dict[str, Any]], extra: tuple[str, ...] = (),
                  performance: WindowPerformance | None = None,
                  ) -> tuple[WindowResult, Notification | None, list[str]]:
    """Judge a measured window (and its measured ``performance``), run its alerts through the
    tracker: the window's result, the notification to send (None: nothing new) and the keys
    of its silenced alerts."""
    skip_text = tuple(skip_notes(m.skipped))
    min_rows = int(pol.value("min_window_rows"))
    concept = judge_concept_result(m.concept, pol)
    if m.n_rows == 0:
        return WindowResult(m.index, m.label, m.start, m.end, 0, "empty", concept=concept,
                            notes=("no usable rows in this window; nothing checked",
                                   *skip_text), skipped=m.skipped,
                            performance=performance), None, []
    if m.n_rows < min_rows:
        return WindowResult(
            m.index, m.label, m.start, m.end, m.n_rows, "too_small", concept=concept,
            notes=(f"{m.n_rows} rows < min_window_rows {min_rows} "
                   f"({pol.source('min_window_rows')}): too small to test, no alert "
                   "raised; use longer windows", *skip_text), model_versions=m.model_versions,
            skipped=m.skipped, performance=performance), None, []
    j = judge_window(m, pol, ctx)
    alerts = [*j.alerts, *(explained_by_breaks(a, j.broken) for a in
                           perf_checks.judge(performance, pol, **ctx.common(m)))]
    muted = [a for a in alerts if a.feature is not None and a.feature in silenced]
    extra = tuple(_silenced_text(a, silenced[str(a.feature)]) for a in muted) + extra
    note = tracker.update(m.index, m.label, [a for a in alerts if a not in muted])
    alerts = [tracker.stamp(a) for a in alerts]
    alerts.sort(key=lambda a: -severity_rank(a.severity))
    return WindowResult(m.index, m.label, m.start, m.end, m.n_rows, "ok", j.features,
                        j.degradation, j.concept, tuple(alerts),
                        (*j.notes, *skip_text, *extra), m.model_versions, m.skipped,
                        j.multivariate, performance), note, [a.key for a in muted]


def _run(*, model: str, version: str, stage: str, run_id: str | None,
         description: dict[str, Any] | None, spec: WindowSpec, tz: str, pol: Policy,
         base: Any, source: WindowSource, sink_objs: list[Any], sink_deadline: float | None,
         outbox: str | Path | None, journal: Journal | None, store: MonitorState | None,
         target: str | None, now_ts: pd.Timestamp | None, include_partial: bool, rerun: bool,
         run_warnings: list[str], progress: bool | None,
         heartbeat: Callable[[], None] | None = None) -> MonitorReport:
    """The windows loop (under the target's lock when there is a state store)."""
    dispatcher = Dispatcher(sink_objs, deadline=sink_deadline, outbox_path=outbox,
                            journal=journal)
    if dispatcher.unreadable:
        run_warnings.append(f"{dispatcher.unreadable} unreadable line(s) of the outbox {outbox} "
                            "dropped")
    dispatcher.start()
    tracker = AlertTracker(model, version, notify_severity=pol.value("notify_severity"),
                           reminder_every=int(pol.value("reminder_every")))
    checked: dict[str, dict[str, Any]] = {}
    silenced: dict[str, dict[str, Any]] = {}
    acks: list[dict[str, Any]] = []
    if store is not None and target is not None:
        checked = store.checked(target)
        at = now_ts.isoformat() if now_ts is not None else None
        silenced = {s["feature"]: s for s in store.silences(model, at=at)}
        acks = [e.to_dict() for e in store.episodes(open_only=True)
                if e.target == target and e.ack_at]
    todo: list[Window] = []
    late: list[Window] = []
    in_progress: list[Window] = []
    replaced: list[str] = []
    already = 0
    windows = source.windows
    shift = index_offset([(w.label, w.index, w.start.isoformat() if w.start is not None
                           else None) for w in windows], checked)
    if shift:  # the stored windows' indices (a --since run numbers its windows from 0)
        windows = [dataclass_replace(w, index=w.index + shift) for w in windows]
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
    ledger = (Ledger(store, target, tracker, dispatcher.window if sink_objs else None)
              if store is not None and target is not None else None)
    concept_notes: list[str] = []
    concept = source.concepts([*late, *todo], base, concept_notes)
    perf = source.performance([*late, *todo], base, pol, concept_notes)
    run_warnings += concept_notes
    ctx = JudgeContext(model, version)

    show = progress if progress is not None else (sys.stderr.isatty() and len(todo) >= 8)
    bar: Any = None
    task: Any = None
    if show:
        from rich.progress import Progress  # rich is imported only when a bar is shown

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task(f"monitoring {model} v{version}", total=len(todo))

    results: list[WindowResult] = []
    notifications: list[Notification] = []
    first = todo[0].start.isoformat() if todo and todo[0].start is not None else None
    try:
        if ledger is not None:  # late labels re-judge closed windows; episodes derived again
            for w in late:
                c = judge_concept_result(concept.get(w.index), pol)
                ledger.late_labels(w.label, c, _concept_final(c, w, pol, now_ts),
                                   _judge_concept(pol, w, model, version),
                                   _rejudge_performance(perf.get(w.index), pol, w, model,
                                                        version))
            ledger.begin(first)
            for news in ledger.replay(before=first):
                notifications.append(news)
                dispatcher.send(news)
        partial = {w.label for w in todo if store is not None
                   and not _complete(w, spec, now_ts)}
        for w in todo:
            m = source.measure(w, base, [pol], concept.get(w.index))
            extra = (("window still open (checked with --include-partial)",)
                     if w.label in partial else ())
            result, note, muted = window_result(m, pol, ctx, tracker, silenced, extra,
                                               perf.get(w.index))
            events: list[AlertEvent] = list(note.events) if note is not None else []
            if ledger is not None:
                note = ledger.news(note)  # only what was not recorded for this window
            if note is not None:
                notifications.append(note)
                dispatcher.send(note)
            if ledger is not None and w.label not in partial:
                ledger.save(result.to_dict(), muted,
                            _concept_final(result.concept, w, pol, now_ts), events)
            results.append(result)
            if sink_objs and ledger is None:
                dispatcher.window(result.to_dict())
            if heartbeat is not None:
                heartbeat()  # the lock stays fresh however long the run
            if bar is not None:
                bar.advance(task)
        if ledger is not None and todo and todo[-1].start is not None:
            for news in ledger.replay(after=todo[-1].start.isoformat()):  # after a --rerun
                notifications.append(news)
                dispatcher.send(news)
    finally:
        if bar is not None:
            bar.stop()
    for w in in_progress:
        results.append(WindowResult(
            w.index, w.label, w.start, w.end, source.n_usable(w),
            "in_progress", notes=("window still open: shown, not checked, no alert raised "
                                  "(--include-partial checks it)",)))

    report = MonitorReport(
        model_name=model, model_version=version, stage=stage, run_id=run_id,
        window=spec.describe(), tz=tz, policy=pol, windows=tuple(results),
        notifications=tuple(notifications), reference=_reference_summary(base),
        description=description, warnings=tuple(run_warnings),
        skipped_unplaced=dict(source.unplaced),
        outbox=(str(outbox) if outbox is not None
                else (_shown_url(store.url) if store is not None else None)),
        target=target, state_url=_shown_url(store.url) if store is not None else None,
        in_progress=tuple(w.label for w in in_progress), already_checked=already,
        replaced=tuple(replaced),
        late_labels=tuple(n.late_note for n in notifications if n.late_note),
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
    return redact_uri(url)


def _judge_concept(pol: Policy, w: Window, model: str,
                   version: str) -> Callable[[ConceptDriftResult], Alert | None]:
    """The concept alert of window ``w`` for a (re-evaluated) concept result."""
    common: dict[str, Any] = dict(window_index=w.index, window_label=w.label,
                                  model_name=model, model_version=version)
    return lambda c: concept_alert(c, pol, common)


def _rejudge_performance(p: WindowPerformance | None, pol: Policy, w: Window, model: str,
                         version: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A stored result of window ``w`` with its performance measured again (late labels)."""
    common: dict[str, Any] = dict(window_index=w.index, window_label=w.label,
                                  model_name=model, model_version=version)
    return lambda result: perf_checks.rejudge(result, p, pol, 0, **common)[0]


def _concept_final(c: ConceptDriftResult | None, w: Window, pol: Policy,
                   now_ts: pd.Timestamp | None) -> bool:
    """No more late labels to wait for (see :func:`~modelsteward.monitor.state.concept_final`)."""
    return concept_final(None if c is None else c.coverage, w.end, pol, now_ts)
