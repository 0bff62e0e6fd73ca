"""The checks of one window in one call: :func:`~modelsteward.monitor.measure.measure_window`
then :func:`~modelsteward.monitor.judge.judge_window` (the monitor runs the two steps apart).

    >>> round(psi_noise_floor(10, 10_000, 200), 4)
    0.0459
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from modelsteward.monitor.bins import psi_noise_floor, reference_bins
from modelsteward.monitor.judge import FeatureCheck, JudgeContext, WindowJudgement, judge_window
from modelsteward.monitor.measure import measure_window
from modelsteward.monitor.policy import Policy

__all__ = ["FeatureCheck", "WindowCheck", "check_window", "psi_noise_floor", "reference_bins"]

WindowCheck = WindowJudgement


def check_window(
    baseline: Any, frame: pd.DataFrame, *, policy: Policy, model_name: str, model_version: str,
    window_index: int, window_label: str,
) -> WindowJudgement:
    """Data drift, degradation and joint checks for one window that has enough rows."""
    m = measure_window(baseline, frame, index=window_index, label=window_label,
                       policies=[policy])
    return judge_window(m, policy, JudgeContext(model_name, str(model_version)))
