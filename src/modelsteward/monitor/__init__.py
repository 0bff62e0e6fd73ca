"""Monitoring: windows over production data, checks per window, alert policy, sinks."""

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
    "monitor", "parse_sink",
]
