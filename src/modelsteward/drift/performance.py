"""Realized and estimated performance per window, each with a noise band at the window's n,
and the diagnosis of a drop: covariate shift, concept drift or an early warning.

**Realized** performance is computed on the pooled labelled rows of a window (never an
average of averages). **Estimated** performance comes from the predictions alone
(:mod:`modelsteward.drift.estimation`, CBPE) and exists for every window of a classifier.

**The band** (method ``"bootstrap"``): the held-out predictions and outcomes stored in the
baseline are resampled with replacement at the window's size ``n`` (``n_boot`` resamples,
seeded); the metric's spread over the resamples is the sampling noise of a window of ``n``
rows when nothing changed. The reference value itself is uncertain too (it was measured on
``N`` rows), so the standard deviation is widened by ``sqrt(1 + n / N)``. The band's bad edge
is ``reference - z(1 - alpha) * sd`` (for errors such as MAE: ``+``), or the bootstrap's own
``alpha`` quantile distance when that is wider (skewed metrics at small n); the band is
shifted by the metric's small-sample bias (resample mean minus the value on the sample: F1
and RMSE are biased at small n). Window sizes are
rounded to a grid of 8 sizes per doubling (at most 4.4% away) so windows of similar size share
one bootstrap, and above 5,000 rows the spread at 5,000 is used; both are scaled by
``sqrt(m / n)`` (the metrics are asymptotically normal
at rate ``1/sqrt(n)``). A window alerts only when the metric leaves the band in the bad
direction (default; ``two_sided=True`` flags improvements as well) and the drop is at least
``min_drop`` metric units. The estimated metrics get their own band the same way
(the estimate recomputed on each resample's predictions, centred on the estimate on the
reference, widened by the uncertainty of the calibrator, which was fitted on the reference's
``N`` labelled rows: the realized metric's variance at ``N``).

**Diagnosis** (labels present, a realized drop): when the realized value falls below the
estimate by more than its noise allows (``(estimated - realized) / sd > z(1 - alpha)``, with
``sd`` the larger of the band's and a bootstrap of the window's own labelled rows), the
relation between inputs and outcome changed: *concept drift*, retrain on recent labelled data.
When the estimate falls with it, the inputs moved into territory where the model is less
sure, and the model knew it: *covariate shift*, look at the drifted features. Without labels,
an estimated drop is an *early warning*.

    >>> import numpy as np
    >>> from modelsteward.baseline.concept import ConceptReference
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=4_000); p = 1 / (1 + np.exp(-2 * x))
    >>> ref = ConceptReference.fit(p, (rng.uniform(size=4_000) < p).astype(int))
    >>> bands = Bands(ref, alpha=0.01)
    >>> x2 = rng.normal(size=500); p2 = 1 / (1 + np.exp(-2 * x2))
    >>> y2 = (rng.uniform(size=500) < 0.5).astype(float)       # concept lost
    >>> res = window_performance(ref, p2, y2, bands=bands)
    >>> res.status("roc_auc"), res.diagnosis.kind
    ('drop', 'concept_drift')
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

from modelsteward.drift.estimation import ESTIMABLE, estimate_performance
from modelsteward.errors import ConfigError
from modelsteward.stats.metrics import (
    DEFAULT_METRICS,
    higher_is_better,
    metric_names,
    metric_rows,
    performance_metrics,
)

__all__ = ["Bands", "Diagnosis", "MetricCheck", "WindowPerformance", "diagnose",
           "window_performance", "watched_metrics"]

_BOOT_CAP = 5_000  # above it, the spread at the cap is scaled by sqrt(cap / n)
_CELLS = 2_000_000  # resample values held at once


def watched_metrics(task: str, metrics: Any = None, n_classes: int = 2) -> tuple[str, ...]:
    """The metrics a window is judged on: ``metrics`` (names, or ``"auto"``/None for the
    task's default: AUC and F1 for binary, macro F1 for multiclass, MAE for regression).

    >>> watched_metrics("binary"), watched_metrics("regression", "mae, rmse")
    (('roc_auc', 'f1'), ('mae', 'rmse'))
    """
    if metrics is None or metrics == "auto":
        return DEFAULT_METRICS[task]
    names = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    known = metric_names(task, n_classes)
    bad = [m for m in names if m not in known]
    if bad or not names:
        raise ConfigError(f"performance metrics {bad or names} are not defined for a {task} "
                          f"model; use 'auto' or some of: {', '.join(known)}")
    return tuple(names)


def _grid(n: int) -> int:
    """``n`` rounded to a geometric grid of 8 sizes per doubling (at most 4.4% away): windows
    of similar size share one bootstrap, scaled by ``sqrt(m / n)``."""
    if n <= 64:
        return n
    step = 2 ** (1 / 8)
    return int(round(step ** round(math.log(n, step))))


@dataclass(frozen=True)
class Band:
    """The no-change band of one metric at one window size."""

    reference: float
    sd: float
    lower: float
    upper: float


class Bands:
    """Bootstrap bands of a reference, cached per (metric, realized/estimated, n)."""

    def __init__(self, reference: Any, *, alpha: float = 0.01, n_boot: int = 400,
                 seed: int = 0) -> None:
        if not 0.0 < alpha < 0.5:
            raise ConfigError(f"alpha={alpha!r} must lie strictly between 0 and 0.5")
        self.reference = reference
        self.alpha = float(alpha)
        self.z = float(norm.ppf(1 - alpha))
        self.n_boot = int(n_boot)
        self.seed = int(seed)
        self._cache: dict[tuple[str, bool, int], Band | None] = {}
        self._ref_estimate: dict[str, float] | None = None
        self._est_cache: dict[tuple[str, bool, int], dict[str, np.ndarray]] = {}
        self._sample_cache: dict[tuple[str, bool, int], tuple[np.ndarray, float]] = {}

    def at_alpha(self, alpha: float) -> Bands:
        """The same reference's bands at level ``alpha``, sharing the bootstrap resamples (they
        do not depend on the level; only the band edges do): the same bands as a new
        ``Bands(reference, alpha=alpha)``, without drawing the resamples again."""
        out = Bands(self.reference, alpha=alpha, n_boot=self.n_boot, seed=self.seed)
        out._ref_estimate = self._ref_estimate
        out._est_cache = self._est_cache
        out._sample_cache = self._sample_cache
        return out

    @property
    def available(self) -> bool:
        return bool(getattr(self.reference, "has_sample", False))

    def reference_estimate(self) -> dict[str, float]:
        """The estimate on the reference's own predictions (the centre of estimated bands)."""
        if self._ref_estimate is None:
            self._ref_estimate = (estimate_performance(self.reference, self.reference.predictions)
                                  if self.available else {})
        return self._ref_estimate

    def band(self, metric: str, n: int, *, estimated: bool = False) -> Band | None:
        """The band of ``metric`` for a window of ``n`` rows; None when it cannot be formed."""
        if not self.available or n < 2:
            return None
        key = (metric, estimated, int(n))
        if key not in self._cache:
            self._cache[key] = self._fit(metric, int(n), estimated)
        return self._cache[key]

    def _samples(self, metric: str, m: int, estimated: bool) -> tuple[np.ndarray, float]:
        """Resampled values of ``metric`` at size ``m`` and its value on the stored sample."""
        ref = self.reference
        p, y = ref.predictions, ref.outcomes
        rng = np.random.default_rng([self.seed, m, int(estimated)])
        if estimated:  # the estimate recomputed on each resample's predictions (all metrics)
            key = ("*estimated*", True, m)
            if key not in self._est_cache:
                b = max(100, self.n_boot // 2)
                rows = [estimate_performance(ref, p[rng.integers(0, y.size, m)])
                        for _ in range(b)]
                names = {k for r in rows for k in r}
                self._est_cache[key] = {k: np.array([r.get(k, math.nan) for r in rows])
                                        for k in names}
            full = self.reference_estimate().get(metric, math.nan)
            return self._est_cache[key].get(metric, np.array([])), full
        width = m * (p.shape[1] if p.ndim == 2 else 1)
        chunk = max(1, _CELLS // max(width, 1))
        out = []
        for lo in range(0, self.n_boot, chunk):
            idx = rng.integers(0, y.size, (min(chunk, self.n_boot - lo), m))
            out.append(metric_rows(ref.task, metric, y[idx], p[idx], threshold=ref.threshold))
        whole = metric_rows(ref.task, metric, y[None, :], p[None, ...], threshold=ref.threshold)
        return np.concatenate(out), float(whole[0])

    def _fit(self, metric: str, n: int, estimated: bool) -> Band | None:
        ref = self.reference
        if estimated:
            centre = self.reference_estimate().get(metric)
        else:
            centre = ref.metrics.get(metric)
        if centre is None:
            return None
        m = _grid(min(n, _BOOT_CAP))
        skey = (metric, estimated, m)
        if skey not in self._sample_cache:
            self._sample_cache[skey] = self._samples(metric, m, estimated)
        vals, on_sample = self._sample_cache[skey]
        vals = vals[np.isfinite(vals)]
        if vals.size < 20:
            return None
        big_n = max(int(ref.n), 1)
        scale = math.sqrt(m / n) * math.sqrt(1.0 + n / big_n)
        sd = float(np.std(vals, ddof=1)) * scale
        if estimated:  # the calibrator was fitted on the reference's N labelled rows: its
            # level is as uncertain as the realized metric measured on N rows
            real = self.band(metric, n)
            if real is not None:
                cal_var = real.sd**2 / (1.0 + n / big_n) * n / big_n
                widen = math.sqrt(sd**2 + cal_var) / sd if sd > 0 else 1.0
                sd, scale = sd * widen, scale * widen
        mid = float(np.mean(vals))
        # small-window bias of the metric (F1, RMSE...): resample mean minus the sample's value
        bias = (mid - on_sample) * math.sqrt(m / n) if math.isfinite(on_sample) else 0.0
        q_lo = (mid - float(np.quantile(vals, self.alpha))) * scale
        q_hi = (float(np.quantile(vals, 1 - self.alpha)) - mid) * scale
        lower = centre + bias - max(self.z * sd, q_lo)
        upper = centre + bias + max(self.z * sd, q_hi)
        return Band(float(centre), max(sd, 1e-12), float(lower), float(upper))


@dataclass(frozen=True)
class MetricCheck:
    """One metric in one window: realized (labelled rows) and estimated (all rows), each
    against its band. ``status``/``estimated_status``: ``"ok"``, ``"drop"``,
    ``"improved"`` (only with ``two_sided``) or ``"insufficient_data"``; numbers that cannot
    be computed are None, never NaN."""

    metric: str
    higher_is_better: bool
    reference: float | None
    value: float | None
    lower: float | None
    upper: float | None
    status: str
    estimated: float | None = None
    estimated_reference: float | None = None
    estimated_lower: float | None = None
    estimated_upper: float | None = None
    estimated_status: str = "insufficient_data"
    sd: float | None = None  # realized sd at the window's labelled n (the band's unit)
    window_sd: float | None = None  # bootstrap sd of the realized value on the window's rows

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Diagnosis:
    """Why a window's performance moved: ``ok``, ``covariate_shift``, ``concept_drift``,
    ``early_warning`` (estimated drop, labels not in yet) or ``estimate_not_confirmed``
    (estimated drop, realized holds), with the numbers in ``summary``."""

    kind: str
    metric: str | None
    summary: str
    gap_sd: float | None = None  # (estimated - realized) in band units, good direction

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WindowPerformance:
    """Realized and estimated performance of one window with bands and a diagnosis."""

    task: str
    n_predictions: int
    n_labelled: int
    coverage: float
    checks: tuple[MetricCheck, ...]
    diagnosis: Diagnosis
    performance: dict[str, float] = field(default_factory=dict)  # every realized metric
    estimated: dict[str, float] = field(default_factory=dict)  # every estimated metric
    notes: tuple[str, ...] = ()
    alpha: float = 0.01
    method: str = "bootstrap"

    def check(self, metric: str) -> MetricCheck | None:
        return next((c for c in self.checks if c.metric == metric), None)

    def status(self, metric: str) -> str | None:
        c = self.check(metric)
        return c.status if c else None

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "n_predictions": self.n_predictions,
                "n_labelled": self.n_labelled, "coverage": self.coverage,
                "checks": [c.to_dict() for c in self.checks],
                "diagnosis": self.diagnosis.to_dict(), "performance": dict(self.performance),
                "estimated": dict(self.estimated), "notes": list(self.notes),
                "alpha": self.alpha, "method": self.method}


def _judge(value: float | None, band: Any, hib: bool, min_drop: float, two_sided: bool) -> str:
    if value is None or band is None:
        return "insufficient_data"
    worse = value < band.lower if hib else value > band.upper
    better = value > band.upper if hib else value < band.lower
    if worse and abs(value - band.reference) >= min_drop:
        return "drop"
    if two_sided and better and abs(value - band.reference) >= min_drop:
        return "improved"
    return "ok"


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def diagnose(checks: tuple[MetricCheck, ...], *, z: float, labelled: bool) -> Diagnosis:
    """Concept drift, covariate shift or early warning from realized and estimated checks.

    >>> c = MetricCheck("roc_auc", True, 0.9, 0.80, 0.86, 0.94, "drop", estimated=0.89,
    ...                 estimated_reference=0.9, estimated_status="ok", sd=0.02)
    >>> diagnose((c,), z=2.33, labelled=True).kind
    'concept_drift'
    """
    dropped = [c for c in checks if c.status == "drop"]
    if dropped:
        def gap(c: MetricCheck) -> float | None:
            unit = max(c.sd or 0.0, c.window_sd or 0.0)
            if c.estimated is None or c.value is None or not unit:
                return None
            diff = (c.estimated - c.value) if c.higher_is_better else (c.value - c.estimated)
            return diff / unit

        worst = max(dropped, key=lambda c: abs((c.value or 0.0) - (c.reference or 0.0))
                    / (c.sd or 1.0))
        g = gap(worst)
        head = (f"{worst.metric} {_fmt(worst.value)} against reference {_fmt(worst.reference)}"
                f" (band edge {_fmt(worst.lower if worst.higher_is_better else worst.upper)})")
        if g is None:
            return Diagnosis("performance_drop", worst.metric,
                             f"{head}; no estimate for this model, so the cause is not "
                             "diagnosed", None)
        est = (f"estimated from the predictions alone {_fmt(worst.estimated)} (reference "
               f"estimate {_fmt(worst.estimated_reference)})")
        if g > z:
            also = (" The inputs moved as well (the estimate fell too)."
                    if worst.estimated_status == "drop" else "")
            return Diagnosis("concept_drift", worst.metric,
                             f"concept drift: realized {head}, but {est}: the model is as sure "
                             f"as before and wrong more often ({g:.1f} sd below its estimate), "
                             "so the relation between inputs and outcome changed; retrain on "
                             f"recent labelled data.{also}", g)
        return Diagnosis("covariate_shift", worst.metric,
                         f"covariate shift: realized {head}, and {est} fell with it "
                         f"(gap {g:.1f} sd): the inputs moved into territory where the model is "
                         "less sure, the relation itself holds; look at the drifted features",
                         g)
    est_drop = [c for c in checks if c.estimated_status == "drop"]
    if est_drop:
        c = est_drop[0]
        if not labelled or c.status == "insufficient_data":
            edge = c.estimated_lower if c.higher_is_better else c.estimated_upper
            return Diagnosis("early_warning", c.metric,
                             f"early warning: estimated {c.metric} {_fmt(c.estimated)} against "
                             f"the reference estimate {_fmt(c.estimated_reference)} (band edge "
                             f"{_fmt(edge)}), from the predictions alone; labels have not "
                             "arrived to confirm it")
        return Diagnosis("estimate_not_confirmed", c.metric,
                         f"estimated {c.metric} {_fmt(c.estimated)} fell but the realized "
                         f"value {_fmt(c.value)} holds: trust the labels; the calibration may "
                         "have changed")
    return Diagnosis("ok", None, "performance within its bands")


def _window_sd(task: str, metric: str, y: np.ndarray, p: np.ndarray, threshold: float,
               rng: np.random.Generator, n_boot: int = 200) -> float | None:
    """Bootstrap sd of the realized metric on the window's own labelled rows (drawn from the
    rows in a canonical order, so the answer depends on the rows, not on how they arrived)."""
    keys = (y, *(p.T[::-1] if p.ndim == 2 else (p,)))
    order = np.lexsort(keys)
    y, p = y[order], p[order]
    idx = rng.integers(0, y.size, (n_boot, y.size))
    vals = metric_rows(task, metric, y[idx], p[idx], threshold=threshold)
    vals = vals[np.isfinite(vals)]
    return float(np.std(vals, ddof=1)) if vals.size >= 20 else None


def window_performance(reference: Any, predictions: Any, outcomes: Any, *, bands: Bands,
                       metrics: Any = None, min_labelled: int = 30, min_rows: int = 30,
                       min_drop: float = 0.0, two_sided: bool = False) -> WindowPerformance:
    """Realized and estimated performance of one window against the reference.

    ``predictions``: scores (binary: P(class 1)), an ``n x k`` probability matrix
    (multiclass) or values (regression); ``outcomes``: encoded outcomes with NaN for labels
    not yet known. Probabilities outside [0, 1] are clipped for the estimate (noted); a
    window with one class present has no AUC (noted), never NaN.
    """
    task = reference.task
    p = np.asarray(predictions, dtype=float)
    y = np.asarray(outcomes, dtype=float).ravel()
    k = p.shape[1] if p.ndim == 2 else 2
    watched = watched_metrics(task, metrics, k)
    notes: list[str] = []
    labelled = np.isfinite(y)
    n_pred, n_lab = int(p.shape[0]), int(labelled.sum())
    coverage = n_lab / n_pred if n_pred else 0.0
    if task in ("binary", "multiclass") and n_pred and (p.min() < 0 or p.max() > 1):
        bad = int(np.sum((p < 0) | (p > 1)))
        notes.append(f"{bad} predicted probabilities outside [0, 1] were clipped for the "
                     "estimate; send probabilities")
        p = np.clip(p, 0.0, 1.0)
    if task == "multiclass" and labelled.any():
        known = y[labelled]
        outside = ~np.isin(known, np.arange(k))
        if outside.any():
            notes.append(f"{int(outside.sum())} outcomes are not class indices 0..{k - 1}; "
                         "left out")
            labelled &= np.isin(y, np.arange(k))
            n_lab = int(labelled.sum())
    realized: dict[str, float] = {}
    if n_lab:
        realized = performance_metrics(task, y[labelled], p[labelled],
                                       threshold=reference.threshold,
                                       n_classes=k if task == "multiclass" else None)
        if task == "binary" and "roc_auc" not in realized:
            notes.append("one class only among the labelled rows: no ROC AUC")
    if n_lab < min_labelled:
        notes.append(f"{n_lab} labelled rows < {min_labelled}: realized performance not judged")
    est: dict[str, float] = {}
    if n_pred >= min_rows:
        est = estimate_performance(reference, p)
    elif task != "regression":
        notes.append(f"{n_pred} predictions < {min_rows}: performance not estimated")
    checks = []
    rng = np.random.default_rng(n_lab)
    for metric in watched:
        hib = higher_is_better(metric)
        band = bands.band(metric, n_lab) if n_lab >= min_labelled else None
        value = realized.get(metric) if n_lab >= min_labelled else None
        ebands = (bands.band(metric, n_pred, estimated=True)
                  if metric in ESTIMABLE.get(task, ()) and metric in est else None)
        ev = est.get(metric)
        checks.append(MetricCheck(
            metric=metric, higher_is_better=hib,
            reference=reference.metrics.get(metric), value=realized.get(metric),
            lower=band.lower if band else None, upper=band.upper if band else None,
            status=_judge(value, band, hib, min_drop, two_sided),
            estimated=ev,
            estimated_reference=ebands.reference if ebands else None,
            estimated_lower=ebands.lower if ebands else None,
            estimated_upper=ebands.upper if ebands else None,
            estimated_status=_judge(ev, ebands, hib, min_drop, two_sided),
            sd=band.sd if band else None,
            window_sd=(_window_sd(task, metric, y[labelled], p[labelled], reference.threshold,
                                  rng) if band is not None and metric in est
                       and _judge(value, band, hib, min_drop, two_sided) == "drop" else None),
        ))
    if not bands.available:
        notes.append("the baseline stores no held-out sample (fitted by an older version): no "
                     "bands; refit the baseline to get them")
    diag = diagnose(tuple(checks), z=bands.z, labelled=n_lab >= min_labelled)
    return WindowPerformance(task, n_pred, n_lab, float(coverage), tuple(checks), diag,
                             realized, est, tuple(notes), bands.alpha)
