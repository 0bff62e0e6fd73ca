"""Monitoring: windows over production data, checks per window, alert policy, sinks.

``run_monitor`` is the entry point. ``monitor`` is the same function under its first name;
because this package is also called ``monitor``, ``from modelsteward import monitor`` gives the
package once any ``modelsteward.monitor.*`` module has been imported, so the package itself is
callable and forwards to the function::

    >>> import modelsteward.monitor.policy
    >>> from modelsteward import monitor, run_monitor
    >>> callable(monitor) and run_monitor is modelsteward.monitor.core.monitor
    True
"""

import sys as _sys
import types as _types
from typing import Any as _Any

from modelsteward.monitor.alerts import Alert, AlertTracker, Notification
from modelsteward.monitor.core import MonitorReport, WindowResult, monitor
from modelsteward.monitor.policy import PRESETS, Policy, load_policy
from modelsteward.monitor.sinks import (
    ConsoleSink,
    JsonLinesSink,
    MlflowSink,
    WebhookSink,
    parse_sink,
)

__all__ = [
    "PRESETS", "Alert", "AlertTracker", "ConsoleSink", "JsonLinesSink", "MlflowSink",
    "MonitorReport", "Notification", "Policy", "WebhookSink", "WindowResult", "load_policy",
    "monitor", "parse_sink", "run_monitor",
]

run_monitor = monitor


class _CallableModule(_types.ModuleType):
    """This package, callable as :func:`run_monitor` (see the module docstring)."""

    def __call__(self, *args: _Any, **kwargs: _Any) -> MonitorReport:
        return monitor(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
