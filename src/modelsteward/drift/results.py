"""Result types of the data-drift and degradation detectors (frozen, with ``to_dict()``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ALERT_TYPES", "DegradationAlert", "DriftResult"]

ALERT_TYPES = (
    "missing_feature",
    "null_rate",
    "low_variance",
    "cardinality_collapse",
    "unseen_categories",
    "out_of_range",
)


@dataclass(frozen=True)
class DriftResult:
    """One feature's data-drift test.

    ``statistic`` is the KS distance D (numeric, ``test="ks"``) or Pearson's chi-square
    (categorical, ``test="chi2"``); a feature absent from the current data has
    ``test="missing"``, statistic 1.0, p-value 0.0 and is drifted (the chapter's rule).
    ``psi`` is the effect size for reports; ``effect_size`` is comparable across tests
    (D for KS, Cramer's V for chi-square, 1.0 when missing) and orders the results.

    ``mode`` says what produced the result: ``"exact"`` (all values) or ``"sketch"``
    (mergeable sketches); in sketch mode ``statistic_bound`` bounds |statistic - exact
    statistic| (the two sketches' rank errors added; drift is declared only when the statistic
    minus this bound clears the critical value) and ``psi_bound`` the PSI's error.
    """

    feature: str
    statistic: float
    p_value: float
    is_drifted: bool
    psi: float
    test: str
    kind: str
    p_threshold: float
    n_reference: int
    n_current: int
    effect_size: float = 0.0
    mode: str = "exact"
    statistic_bound: float = 0.0
    psi_bound: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DegradationAlert:
    """A feature that broke structurally: what was measured, against what, and what to do.

    ``alert_type`` is one of :data:`ALERT_TYPES`; ``threshold`` is the value the rule
    compared against (e.g. the null-rate threshold, the variance ratio threshold).
    """

    feature: str
    alert_type: str
    current_value: float
    baseline_value: float
    message: str
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
