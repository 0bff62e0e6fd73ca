"""Monitoring: window sources, measure → judge → alerts with fatigue control → sinks → report.

:func:`run_monitor` is the entry point; ``modelsteward.monitor`` is this package only.
Calling the package itself (its old callable form) still works for one release, with a
:class:`DeprecationWarning`::

    >>> from modelsteward.monitor import run_monitor
    >>> run_monitor.__name__
    'run_monitor'
"""

import sys as _sys
import types as _types
import warnings as _warnings
from typing import Any as _Any

from modelsteward.monitor.alerts import Alert, AlertTracker, Notification
from modelsteward.monitor.core import MonitorReport, WindowResult, run_monitor
from modelsteward.monitor.policy import PRESETS, Policy, load_policy
from modelsteward.monitor.sinks import (
    ConsoleSink,
    JsonLinesSink,
    MlflowSink,
    WebhookSink,
    parse_sink,
)
from modelsteward.monitor.sources import FrameSource, WindowSource

__all__ = [
    "PRESETS", "Alert", "AlertTracker", "ConsoleSink", "FrameSource", "JsonLinesSink",
    "MlflowSink", "MonitorReport", "Notification", "Policy", "WebhookSink", "WindowResult",
    "WindowSource", "load_policy", "parse_sink", "run_monitor",
]


class _DeprecatedCallableModule(_types.ModuleType):
    """``modelsteward.monitor(...)`` of earlier releases: use :func:`run_monitor`."""

    def __call__(self, *args: _Any, **kwargs: _Any) -> MonitorReport:
        _warnings.warn("calling the modelsteward.monitor package is deprecated; use "
                       "modelsteward.run_monitor", DeprecationWarning, stacklevel=2)
        return run_monitor(*args, **kwargs)


_sys.modules[__name__].__class__ = _DeprecatedCallableModule
