"""Threshold calibration, the chapter's procedure as a function: measure history once, judge it
under the presets and a grid of thresholds around a starting policy,
and recommend the quietest setting (fewest alerts sent) that catches every incident. Quietest
is not always loosest: an alert kept open is sent once, one that resolves and comes back is
sent again.

For each candidate policy: alerts sent (new or escalated notifications), incidents caught,
how many windows before the marked window the first alert came (lead), and false alerts
(sent alerts on a feature no incident names within ``lookback`` windows after them).
Concept-drift and performance alerts count for incidents marked ``concept``. Performance is
measured once per distinct set of the thresholds its measurement uses
(:data:`PERFORMANCE_KEYS`), not once per candidate.

    >>> Incident.parse("2026-W09", "feature_7")
    Incident(window='2026-W09', feature='feature_7')
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelsteward.drift.performance import Bands, WindowPerformance
from modelsteward.errors import ConfigError, DataError
from modelsteward.monitor.alerts import AlertTracker, Notification
from modelsteward.monitor.core import _resolve, window_result
from modelsteward.monitor.data import read_production
from modelsteward.monitor.judge import JudgeContext
from modelsteward.monitor.measure import WindowMeasurement
from modelsteward.monitor.policy import PRESETS, Policy, load_policy
from modelsteward.monitor.sources import FrameSource

__all__ = ["CalibrationResult", "CandidateScore", "Incident", "calibrate", "default_candidates",
           "describe_start", "performance_key", "read_incidents", "replay"]

CONCEPT = "concept"
# the grid around the start policy, mostly tighter (the chapter tightens from lenient):
# psi_warning = start's x PSI_FACTORS (psi_critical keeps its ratio), ks_p_value x KS_FACTORS,
# performance_alpha x ALPHA_FACTORS (at most MAX_ALPHA; larger alpha: narrower bands)
PSI_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
KS_FACTORS = (0.1, 1.0)
ALPHA_FACTORS = (1.0, 5.0)
MAX_ALPHA = 0.25
#: the thresholds a window's performance measurement depends on (the bands' level, the watched
#: metrics, the smallest drop, the row minimums); judging reads the measured statuses
PERFORMANCE_KEYS = ("performance_alpha", "performance_metrics", "performance_min_drop",
                    "min_labelled_rows", "min_window_rows")


@dataclass(frozen=True)
class Incident:
    """A marked problem: the window a human noticed it in and the feature (or ``concept``)."""

    window: str
    feature: str

    @classmethod
    def parse(cls, window: str, feature: str | None) -> Incident:
        w = str(window).strip()
        if not w:
            raise ConfigError("an incident needs a window label such as 2026-W09")
        return cls(w, (feature or CONCEPT).strip() or CONCEPT)


def read_incidents(path: str | Path) -> list[Incident]:
    """Incidents from a CSV file with columns ``window`` and ``feature``."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError as exc:
        raise ConfigError(f"incident file {p} does not exist; write a CSV with columns "
                          "window,feature") from exc
    if not rows or "window" not in rows[0]:
        raise ConfigError(f"{p} needs a header 'window,feature' and one incident per line")
    return [Incident.parse(r["window"], r.get("feature")) for r in rows]


@dataclass(frozen=True)
class CandidateScore:
    name: str
    policy: Policy
    alerts_sent: int
    caught: int
    incidents: int
    lead_windows: tuple[int | None, ...]
    false_alerts: int

    @property
    def catches_all(self) -> bool:
        return self.caught == self.incidents

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "alerts_sent": self.alerts_sent, "caught": self.caught,
                "incidents": self.incidents, "lead_windows": list(self.lead_windows),
                "false_alerts": self.false_alerts, "catches_all": self.catches_all,
                "thresholds": {k: t.value for k, t in self.policy.thresholds.items()}}


@dataclass(frozen=True)
class CalibrationResult:
    candidates: tuple[CandidateScore, ...]
    recommended: CandidateScore | None
    windows: tuple[str, ...] = field(default_factory=tuple)
    start: str = "preset default"

    def policy_toml(self) -> str:
        """The recommended policy as a TOML file ``load_policy`` reads."""
        if self.recommended is None:
            raise ConfigError("no candidate caught every incident; mark fewer incidents or "
                              "extend the grid (calibrate(..., candidates=...))")
        rec = self.recommended
        lines = [f"# steward calibrate: quietest setting catching all {rec.incidents} incident(s)",
                 f"# started from {self.start}; the grid varied psi_warning, psi_critical, "
                 "ks_p_value and performance_alpha",
                 f"# candidate {rec.name}: {rec.alerts_sent} alerts sent, "
                 f"{rec.false_alerts} false, lead {list(rec.lead_windows)} window(s)",
                 f"# replayed windows {self.windows[0]} .. {self.windows[-1]}"
                 if self.windows else "# no windows replayed"]
        base = rec.policy.name.split("+")[0]
        if base in PRESETS:
            lines.append(f'preset = "{base}"')
        lines.append("[thresholds]")
        for k, t in rec.policy.thresholds.items():
            lines.append(f'{k} = "{t.value}"' if isinstance(t.value, str) else f"{k} = {t.value}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"candidates": [c.to_dict() for c in self.candidates],
                "recommended": self.recommended.name if self.recommended else None,
                "windows": list(self.windows), "start": self.start}


def describe_start(start: str | Path | Policy | dict[str, Any]) -> str:
    """``"preset lenient"``, ``"file team.toml"``... for the written policy's comment."""
    if isinstance(start, Policy):
        return f"policy {start.name}"
    if isinstance(start, dict):
        return f"preset {start.get('preset', 'default')} with overrides {start}"
    return f"preset {start}" if str(start) in PRESETS else f"file {start}"


def default_candidates(start: str | Path | Policy | dict[str, Any] = "default"
                       ) -> dict[str, Policy]:
    """The three presets, ``start`` itself and a grid around it: ``start``'s psi_warning times
    :data:`PSI_FACTORS` (psi_critical keeps its ratio to psi_warning) crossed with its
    ks_p_value times :data:`KS_FACTORS` and its performance_alpha times :data:`ALPHA_FACTORS`
    (named only when it differs from ``start``'s); every other threshold is ``start``'s.

    >>> sorted(default_candidates("lenient"))[:2]
    ['default', 'lenient']
    >>> "psi_warning=0.125,ks_p_value=0.0001" in default_candidates("lenient")
    True
    >>> default_candidates("default")["psi_warning=0.1,ks_p_value=0.01,performance_alpha=0.05"
    ...                               ].value("performance_alpha")
    0.05
    """
    base = load_policy(start)
    out: dict[str, Policy] = {n: load_policy(n) for n in ("lenient", "default", "strict")}
    if base.name not in out:
        out[base.name] = base
    warn0, ratio = base.value("psi_warning"), base.value("psi_critical") / base.value("psi_warning")
    ks0, alpha0 = base.value("ks_p_value"), base.value("performance_alpha")
    for fa in ALPHA_FACTORS:
        alpha = float(f"{min(alpha0 * fa, MAX_ALPHA):.4g}")
        tail = "" if alpha == alpha0 else f",performance_alpha={alpha:g}"
        for fw in PSI_FACTORS:
            for fk in KS_FACTORS:
                warn, ks = float(f"{warn0 * fw:.4g}"), float(f"{min(ks0 * fk, 0.5):.4g}")
                out[f"psi_warning={warn:g},ks_p_value={ks:g}{tail}"] = base.with_overrides(
                    {"psi_warning": warn, "psi_critical": float(f"{warn * ratio:.4g}"),
                     "ks_p_value": ks, "performance_alpha": alpha}, "argument")
    seen: set[tuple[Any, ...]] = set()
    unique: dict[str, Policy] = {}
    for name, pol in out.items():  # one replay per distinct set of thresholds
        key = tuple(sorted((k, t.value) for k, t in pol.thresholds.items()))
        if key not in seen:
            seen.add(key)
            unique[name] = pol
    return unique


def _score(name: str, policy: Policy, order: dict[str, int],
           notifications: Sequence[Notification], incidents: list[Incident],
           lookback: int) -> CandidateScore:
    sent: list[tuple[int, str]] = []  # (window index, feature or concept)
    for n in notifications:
        for e in n.events:
            if e.event in ("new", "escalated"):
                feat = (CONCEPT if e.alert.kind in ("concept_drift", "performance")
                        else str(e.alert.feature))
                sent.append((n.window_index, feat))
    leads: list[int | None] = []
    for inc in incidents:
        if inc.window not in order:
            raise ConfigError(f"incident window {inc.window!r} is not among the replayed windows "
                              f"({', '.join(list(order)[:4])}, ...); use the same window spec")
        at = order[inc.window]
        hits = [i for i, f in sent if f == inc.feature and at - lookback <= i <= at]
        leads.append(at - min(hits) if hits else None)
    false = 0
    for i, f in sent:
        if not any(inc.feature == f and 0 <= order[inc.window] - i <= lookback
                   for inc in incidents):
            false += 1
    return CandidateScore(name, policy, len(sent), sum(x is not None for x in leads),
                          len(incidents), tuple(leads), false)


def performance_key(policy: Policy) -> tuple[Any, ...]:
    """The values of :data:`PERFORMANCE_KEYS` under ``policy``: candidates with the same key
    share one performance measurement.

    >>> performance_key(load_policy("default")) == performance_key(
    ...     load_policy({"psi_warning": 0.3, "psi_critical": 0.6}))
    True
    """
    return tuple(policy.value(k) for k in PERFORMANCE_KEYS)


def replay(measurements: Sequence[WindowMeasurement], policy: Policy, model: str,
           version: str, performance: Mapping[int, WindowPerformance] | None = None
           ) -> list[Notification]:
    """The notifications a monitor run under ``policy`` would have sent for these windows
    (judged and passed through the alert tracker; nothing is measured again).
    ``performance``: each window's performance measured under ``policy``'s
    :func:`performance_key`, by window index."""
    perf = performance or {}
    tracker = AlertTracker(model, version, notify_severity=policy.value("notify_severity"),
                           reminder_every=int(policy.value("reminder_every")))
    ctx = JudgeContext(model, version)
    notes = []
    for m in measurements:
        _, note, _ = window_result(m, policy, ctx, tracker, {}, (), perf.get(m.index))
        if note is not None:
            notes.append(note)
    return notes


def calibrate(model: str, data: Any, incidents: list[Incident], *,
              candidates: dict[str, Policy] | None = None,
              start: str | Path | Policy | dict[str, Any] = "default", lookback: int = 4,
              since: Any = None, until: Any = None, timestamp_column: str = "timestamp",
              **monitor_kwargs: Any) -> CalibrationResult:
    """Measure ``data``'s windows once, judge them under every candidate policy and score
    each against ``incidents``.

    ``data`` is anything :func:`modelsteward.run_monitor` reads: a frame, CSV/Parquet
    path(s) or a prediction-log URL; only rows with ``since <= timestamp < until`` are
    replayed. ``candidates`` default to :func:`default_candidates` around ``start`` (a preset
    name, TOML file, dict or Policy). ``monitor_kwargs`` are ``run_monitor``'s (``baseline=``,
    ``window=``, ``tracking_uri=``, ``stage=``, ``model_version=``, ``outcomes=``, ``tz=``,
    the column names). The recommendation is the candidate that catches every incident with
    the fewest alerts sent (ties: fewest false alerts, then the earliest).
    """
    if not incidents:
        raise ConfigError("calibration needs at least one marked incident (window, feature)")
    unknown = set(monitor_kwargs) - _SOURCE_KWARGS - {"baseline", "model_version", "stage",
                                                      "tracking_uri", "sinks", "describe",
                                                      "progress"}
    if unknown:
        raise ConfigError(f"calibrate does not take {sorted(unknown)}; it takes run_monitor's "
                          "data and model arguments")
    base, version, _, _ = _resolve(model, monitor_kwargs.get("stage", "production"),
                                   monitor_kwargs.get("tracking_uri"),
                                   monitor_kwargs.get("baseline"),
                                   monitor_kwargs.get("model_version"), False)
    if since is not None or until is not None:
        probe = read_production(data, model, since=since, until=until)
        if len(probe) and timestamp_column not in probe.columns:
            raise DataError(f"since/until need the time column {timestamp_column!r}, which the "
                            "data lacks; name it with timestamp_column= (--timestamp-column)")
        data = probe
    source = FrameSource.prepare(
        data, model, base, since=since, until=until, timestamp_column=timestamp_column,
        **{k: v for k, v in monitor_kwargs.items() if k in _SOURCE_KWARGS})
    policies = dict(candidates or default_candidates(start))
    notes: list[str] = []
    concept = source.concepts(source.windows, base, notes)
    measured = [source.measure(w, base, list(policies.values()), concept.get(w.index))
                for w in source.windows]
    performance: dict[tuple[Any, ...], dict[int, WindowPerformance]] = {}
    bands: Bands | None = None  # the bootstrap resamples are drawn once, for every level
    ref = getattr(base, "concept", None)
    for policy in policies.values():  # once per distinct performance threshold set
        key = performance_key(policy)
        if key not in performance:
            alpha = float(policy.value("performance_alpha"))
            if ref is not None and hasattr(ref, "has_sample"):
                bands = Bands(ref, alpha=alpha) if bands is None else bands.at_alpha(alpha)
            performance[key] = source.performance(source.windows, base, policy, notes,
                                                  bands=bands)
    order = {w.label: w.index for w in source.windows}
    scores = [_score(name, policy, order,
                     replay(measured, policy, model, version,
                            performance[performance_key(policy)]),
                     incidents, lookback)
              for name, policy in policies.items()]
    full = [s for s in scores if s.catches_all]
    best = min(full, key=lambda s: (s.alerts_sent, s.false_alerts,
                                    -sum(x or 0 for x in s.lead_windows))) if full else None
    return CalibrationResult(tuple(scores), best, tuple(order), describe_start(start))


_SOURCE_KWARGS = {"window", "outcomes", "prediction_column", "outcome_column", "tz"}
