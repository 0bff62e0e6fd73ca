"""The reference for concept drift: how predictions related to outcomes on held-out data.

>>> import numpy as np
>>> ref = ConceptReference.fit(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
>>> ref.task, ref.n, round(ref.correlation, 4), ref.metrics["roc_auc"]
('binary', 4, 0.6476, 0.75)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelsteward.errors import DataError

__all__ = ["ConceptReference"]


def _roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from scipy.stats import rankdata

    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    ranks = rankdata(scores)
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class ConceptReference:
    """Prediction-outcome correlation (Pearson) on the reference split, its size, the task
    (``"binary"`` when outcomes are 0/1, else ``"numeric"``) and performance figures."""

    correlation: float
    n: int
    task: str
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "correlation": self.correlation,
            "n": self.n,
            "task": self.task,
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConceptReference:
        return cls(
            float(d["correlation"]),
            int(d["n"]),
            str(d["task"]),
            {str(k): float(v) for k, v in d.get("metrics", {}).items()},
        )

    @classmethod
    def fit(cls, predictions: Any, outcomes: Any) -> ConceptReference:
        """Correlation and metrics of predictions against outcomes (pairs with NaN dropped)."""
        try:
            p = np.asarray(predictions, dtype=np.float64).ravel()
            y = np.asarray(outcomes, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise DataError("predictions and outcomes must be numbers") from None
        if p.shape != y.shape:
            raise DataError(
                f"predictions ({p.size}) and outcomes ({y.size}) must have the same length"
            )
        keep = np.isfinite(p) & np.isfinite(y)
        p, y = p[keep], y[keep]
        if p.size < 4:
            raise DataError("a concept reference needs at least 4 prediction-outcome pairs")
        if p.std() == 0 or y.std() == 0:
            raise DataError(
                "predictions or outcomes are constant on the reference split, so their "
                "correlation is undefined; check the model and the held-out labels"
            )
        r = float(np.clip(np.corrcoef(p, y)[0, 1], -1.0, 1.0))
        binary = bool(np.isin(y, (0.0, 1.0)).all())
        metrics: dict[str, float] = {}
        if binary:
            metrics["roc_auc"] = _roc_auc(p, y)
            hard = (p >= 0.5).astype(np.float64)
            tp = float(((hard == 1) & (y == 1)).sum())
            fp = float(((hard == 1) & (y == 0)).sum())
            fn = float(((hard == 0) & (y == 1)).sum())
            metrics["f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
            metrics["accuracy"] = float((hard == y).mean())
        else:
            metrics["mae"] = float(np.abs(p - y).mean())
            metrics["rmse"] = float(np.sqrt(((p - y) ** 2).mean()))
        return cls(
            correlation=r, n=int(p.size), task="binary" if binary else "numeric", metrics=metrics
        )
