"""Alert policy: thresholds as data, each one knowing where it came from.

Three presets follow the chapter: ``lenient`` is its calibration starting point (PSI > 0.25,
KS p < 0.001, null rate > 10%), ``default`` its function defaults (KS p < 0.01, PSI bands
0.1 investigate / 0.2 act, null rate 5%, variance ratio 0.1, cardinality ratio 0.3) and
``strict`` a tighter setting for models where a missed regression is expensive. A TOML
file overrides any threshold::

    preset = "lenient"          # optional, the base (default: "default")
    [thresholds]
    psi_warning = 0.2
    null_rate = 0.08

    >>> p = load_policy("lenient")
    >>> p.value("psi_warning"), p.source("psi_warning")
    (0.25, 'preset lenient')
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelsteward.errors import ConfigError

__all__ = ["PRESETS", "SEVERITIES", "Policy", "Threshold", "load_policy", "severity_rank"]

SEVERITIES = ("info", "warning", "critical")


def severity_rank(severity: str | None) -> int:
    """0 for none, 1 info, 2 warning, 3 critical."""
    return 0 if severity is None else SEVERITIES.index(severity) + 1


# name -> (meaning, lenient, default, strict)
_SPEC: dict[str, tuple[str, Any, Any, Any]] = {
    "ks_p_value": ("KS / chi-square p-value below which a feature counts as shifted",
                   0.001, 0.01, 0.05),
    "psi_warning": ("PSI at or above which a shift is a warning (investigate)", 0.25, 0.1, 0.05),
    "psi_critical": ("PSI at or above which a shift is critical (act)", 0.5, 0.2, 0.1),
    "null_rate": ("null rate above which a feature is degraded", 0.10, 0.05, 0.02),
    "variance_ratio": ("window / training variance below which a feature has collapsed",
                       0.05, 0.1, 0.2),
    "cardinality_ratio": ("window / training distinct values below which cardinality collapsed",
                          0.2, 0.3, 0.5),
    "concept_p_value": ("Fisher z p-value below which the prediction-outcome correlation dropped",
                        0.001, 0.01, 0.05),
    "concept_min_drop": ("smallest drop of the prediction-outcome correlation, in Fisher z units "
                         "(atanh(r_ref) - atanh(r)), that counts as concept drift",
                         0.15, 0.1, 0.05),
    "performance_alpha": ("one-sided level of the performance bands: a window with no change "
                          "leaves its band in the bad direction at about this rate",
                          0.001, 0.01, 0.05),
    "performance_min_drop": ("smallest drop of a watched metric, in its own units, that counts "
                             "as a performance drop (beside leaving the band)",
                             0.02, 0.005, 0.0),
    "performance_metrics": ("metrics watched, comma-separated, or auto (ROC AUC and F1 binary, "
                            "macro F1 multiclass, MAE regression)", "auto", "auto", "auto"),
    "min_window_rows": ("rows a window needs before any test is run", 100, 50, 30),
    "min_labelled_rows": ("labelled rows a window needs for the concept-drift test", 50, 30, 30),
    "psi_noise_factor": ("a window is too small for PSI bands when this many times its no-drift "
                         "PSI, (bins - 1) * (1/n_ref + 1/n_cur), reaches psi_warning",
                         3.0, 3.0, 2.0),
    "joint_alpha": ("two-sided level of the multivariate reconstruction-error band (no-change "
                    "windows flagged at about this rate)", 0.001, 0.01, 0.05),
    "classifier_p_value": ("domain-classifier p-value (per-fold Mann-Whitney, twice the median) "
                           "below which a window differs jointly", 0.001, 0.01, 0.05),
    "classifier_min_auc": ("smallest domain-classifier AUC that counts as multivariate drift",
                           0.6, 0.55, 0.52),
    "label_coverage_final": ("label coverage at which a closed window's concept result is "
                             "final (below it, later runs re-evaluate it as labels arrive)",
                             0.9, 0.9, 0.95),
    "label_delay_max": ("days after a window closes during which its concept result is "
                        "re-evaluated as late labels arrive", 56, 56, 56),
    "reminder_every": ("windows after which a critical episode still open and not acknowledged "
                       "is sent again as a reminder (0: never; `steward alerts ack` stops them)",
                       8, 4, 2),
    "notify_severity": ("lowest severity that is sent to sinks (lower ones stay in the report)",
                        "warning", "warning", "info"),
}

PRESETS: dict[str, str] = {
    "lenient": "the chapter's calibration starting point",
    "default": "the chapter's function defaults",
    "strict": "tighter thresholds for models where a missed regression is expensive",
}


@dataclass(frozen=True)
class Threshold:
    """One threshold: its value, what it means and where the value came from."""

    name: str
    value: Any
    source: str
    meaning: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "source": self.source,
                "meaning": self.meaning}


@dataclass(frozen=True)
class Policy:
    """A complete set of thresholds (see :func:`load_policy`)."""

    name: str
    thresholds: dict[str, Threshold] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        return self.thresholds[name].value

    def source(self, name: str) -> str:
        return self.thresholds[name].source

    def cite(self, name: str) -> str:
        """``"psi_critical 0.2 (preset default)"`` for alert messages."""
        t = self.thresholds[name]
        return f"{name} {t.value:g} ({t.source})" if isinstance(t.value, float) else \
            f"{name} {t.value} ({t.source})"

    def with_overrides(self, overrides: dict[str, Any], source: str) -> Policy:
        """A copy with some thresholds replaced; unknown names and bad values are errors."""
        merged = dict(self.thresholds)
        for key, raw in overrides.items():
            if key not in _SPEC:
                raise ConfigError(
                    f"unknown threshold {key!r} in {source}; known: {', '.join(sorted(_SPEC))}"
                )
            merged[key] = Threshold(key, _validate(key, raw, source), source, _SPEC[key][0])
        policy = Policy(self.name if source == "argument" else f"{self.name}+{source}", merged)
        policy.check()
        return policy

    def check(self) -> None:
        if self.value("psi_critical") < self.value("psi_warning"):
            raise ConfigError(
                f"psi_critical {self.value('psi_critical')} is below psi_warning "
                f"{self.value('psi_warning')}; critical must be at least warning"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name,
                "thresholds": {k: t.to_dict() for k, t in self.thresholds.items()}}


def _validate(key: str, raw: Any, source: str) -> Any:
    default = _SPEC[key][2]
    if key == "performance_metrics":
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"{key}={raw!r} in {source} must be 'auto' or metric names "
                              "separated by commas, e.g. 'roc_auc, f1'")
        return raw.strip()
    if isinstance(default, str):
        if raw not in SEVERITIES:
            raise ConfigError(f"{key}={raw!r} in {source} must be one of {', '.join(SEVERITIES)}")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ConfigError(f"{key}={raw!r} in {source} must be a number")
    if isinstance(default, int):
        if key == "reminder_every" and raw == 0:
            return 0
        if raw < 1 or int(raw) != raw:
            raise ConfigError(f"{key}={raw!r} in {source} must be a positive whole number")
        return int(raw)
    value = float(raw)
    if key in ("ks_p_value", "concept_p_value", "null_rate", "variance_ratio",
               "cardinality_ratio", "joint_alpha", "classifier_p_value") and not 0.0 < value < 1.0:
        raise ConfigError(f"{key}={raw!r} in {source} must lie strictly between 0 and 1")
    if key == "classifier_min_auc" and not 0.5 <= value < 1.0:
        raise ConfigError(f"{key}={raw!r} in {source} must lie in [0.5, 1)")
    if key == "label_coverage_final" and not 0.0 < value <= 1.0:
        raise ConfigError(f"{key}={raw!r} in {source} must lie in (0, 1]")
    if key == "performance_alpha" and not 0.0 < value < 0.5:
        raise ConfigError(f"{key}={raw!r} in {source} must lie strictly between 0 and 0.5")
    if value <= 0.0 and key not in ("concept_min_drop", "performance_min_drop"):
        raise ConfigError(f"{key}={raw!r} in {source} must be positive")
    if value < 0.0:
        raise ConfigError(f"{key}={raw!r} in {source} must be >= 0")
    return value


def preset(name: str) -> Policy:
    """One of ``lenient``, ``default``, ``strict``."""
    column = {"lenient": 1, "default": 2, "strict": 3}.get(name)
    if column is None:
        raise ConfigError(
            f"unknown policy {name!r}; use lenient, default, strict or a path to a .toml file"
        )
    src = f"preset {name}"
    return Policy(name, {k: Threshold(k, spec[column], src, spec[0]) for k, spec in _SPEC.items()})


def load_policy(policy: str | Path | Policy | dict[str, Any] = "default") -> Policy:
    """A preset name, a TOML file path, a Policy, or a dict of overrides on ``default``.

    >>> load_policy({"psi_warning": 0.15}).cite("psi_warning")
    'psi_warning 0.15 (argument)'
    """
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, dict):
        base = preset(str(policy.get("preset", "default")))
        return base.with_overrides({k: v for k, v in policy.items() if k != "preset"}, "argument")
    text = str(policy)
    if text in PRESETS:
        return preset(text)
    path = Path(text)
    if path.suffix.lower() != ".toml" and not path.exists():
        raise ConfigError(
            f"unknown policy {text!r}; use lenient, default, strict or a path to a .toml file"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"policy file {text} does not exist; check the path") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy file {text} is not valid TOML: {exc}") from exc
    base = preset(str(data.pop("preset", "default")))
    overrides = dict(data.pop("thresholds", {}))
    for key, value in data.items():
        if isinstance(value, dict):
            raise ConfigError(f"unknown table [{key}] in {text}; put thresholds under [thresholds]")
        overrides[key] = value
    return base.with_overrides(overrides, f"file {path.name}")
