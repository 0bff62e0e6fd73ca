"""Where notifications go: console, JSON Lines file, webhook (plain JSON or Slack), MLflow.

A sink that fails is retried a few times; what it still cannot take stays in its outbox and
is tried again with the next notification and when the run ends. A failing sink never stops
the monitor and never loses a notification: the report lists every failure and anything
still undelivered.

    >>> parse_sink("jsonl:alerts.jsonl").name
    'jsonl:alerts.jsonl'
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from modelsteward.errors import ConfigError, SinkError
from modelsteward.monitor.alerts import Notification

__all__ = [
    "ConsoleSink", "Dispatcher", "JsonLinesSink", "MlflowSink", "Sink", "SinkFailure",
    "WebhookSink", "parse_sink",
]


class Sink(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver one notification; raise on failure."""

    def on_window(self, window: dict[str, Any]) -> None:
        """Per-window figures (only the MLflow sink uses them)."""

    def close(self, report: dict[str, Any]) -> None:
        """The run ended."""


class _Base:
    name = "sink"

    def on_window(self, window: dict[str, Any]) -> None:
        return None

    def close(self, report: dict[str, Any]) -> None:
        return None


class ConsoleSink(_Base):
    """Prints each notification (with rich when writing to a terminal)."""

    name = "console"

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream

    def send(self, notification: Notification) -> None:
        if self.stream is not None:
            print(notification.text, file=self.stream, flush=True)
            return
        from rich.console import Console
        from rich.text import Text

        style = {"critical": "bold red", "warning": "yellow"}.get(notification.severity, "cyan")
        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=120)
        console.print(Text(notification.title, style=style))
        for line in notification.text.splitlines()[1:]:
            console.print(Text("  " + line))


class JsonLinesSink(_Base):
    """Appends one JSON object per notification to a file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"jsonl:{path}"

    def send(self, notification: Notification) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(notification.to_dict(), default=str) + "\n")


class WebhookSink(_Base):
    """POSTs each notification as JSON; ``style="slack"`` sends a Slack-compatible body."""

    def __init__(self, url: str, *, style: str = "json", timeout: float = 5.0) -> None:
        if style not in ("json", "slack"):
            raise ConfigError(f"webhook style {style!r} is unknown; use 'json' or 'slack'")
        if not re.match(r"^https?://", url):
            raise ConfigError(f"webhook URL {url!r} must start with http:// or https://")
        self.url, self.style, self.timeout = url, style, timeout
        self.name = f"{'slack' if style == 'slack' else 'webhook'}:{url}"

    def send(self, notification: Notification) -> None:
        import httpx

        body = notification.to_slack() if self.style == "slack" else notification.to_dict()
        try:
            response = httpx.post(self.url, json=body, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise SinkError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise SinkError(f"{self.name}: HTTP {response.status_code}")


class MlflowSink(_Base):
    """Logs per-window drift figures as step metrics of one monitoring run.

    The run lives in experiment ``modelsteward-monitoring``, is tagged with the model name
    and version, and the model version gets a tag pointing at it, so MLflow's UI plots PSI
    and correlation over windows next to the model.
    """

    name = "mlflow"

    def __init__(self, model_name: str, model_version: str, *, tracking_uri: str | None = None,
                 experiment: str = "modelsteward-monitoring") -> None:
        self.model_name, self.model_version = model_name, model_version
        self.tracking_uri, self.experiment = tracking_uri, experiment
        self.run_id: str | None = None
        self._client: Any = None

    def _start(self) -> Any:
        if self._client is not None:
            return self._client
        from mlflow.tracking import MlflowClient

        from modelsteward.registry import resolve_tracking_uri
        from modelsteward.registry.training import ensure_experiment

        uri = resolve_tracking_uri(self.tracking_uri)
        client = MlflowClient(tracking_uri=uri)
        exp_id = ensure_experiment(client, self.experiment, uri)
        run = client.create_run(exp_id, run_name=f"monitor {self.model_name} v{self.model_version}",
                                tags={"modelsteward.kind": "monitoring",
                                      "modelsteward.model_name": self.model_name,
                                      "modelsteward.model_version": str(self.model_version)})
        self.run_id = run.info.run_id
        try:
            client.set_model_version_tag(self.model_name, str(self.model_version),
                                         "modelsteward.monitoring_run_id", self.run_id)
        except Exception:  # an unregistered model: the run tags still attach it
            pass
        self._client = client
        return client

    def on_window(self, window: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        client = self._start()
        step = int(window["index"])
        ts = int(time.time() * 1000)
        if window.get("start"):  # the window's own time, so "wall time" plots show the calendar
            from datetime import datetime

            ts = int(datetime.fromisoformat(window["start"]).timestamp() * 1000)
        metrics = [Metric("rows", float(window["n_rows"]), ts, step)]
        for f in window.get("features", []):
            name = _metric_name(f["feature"])
            if f.get("psi") is not None:
                metrics.append(Metric(f"psi/{name}", float(f["psi"]), ts, step))
            if f.get("statistic") is not None:
                metrics.append(Metric(f"drift_stat/{name}", float(f["statistic"]), ts, step))
        concept = window.get("concept") or {}
        for key in ("correlation", "coverage"):
            if concept.get(key) is not None:
                metrics.append(Metric(f"concept/{key}", float(concept[key]), ts, step))
        for key, value in (concept.get("performance") or {}).items():
            metrics.append(Metric(f"performance/{key}", float(value), ts, step))
        counts = {"info": 0, "warning": 0, "critical": 0}
        for a in window.get("alerts", []):
            counts[a["severity"]] += 1
        metrics += [Metric(f"alerts/{k}", float(v), ts, step) for k, v in counts.items()]
        client.log_batch(self.run_id, metrics=metrics)

    def send(self, notification: Notification) -> None:
        client = self._start()
        client.log_text(self.run_id, notification.text,
                        f"notifications/{notification.window_index:04d}.txt")

    def close(self, report: dict[str, Any]) -> None:
        if self._client is None:
            return
        self._client.log_dict(self.run_id, report, "monitor_report.json")
        self._client.set_terminated(self.run_id)


def _metric_name(feature: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", feature)[:200] or "_"


@dataclass(frozen=True)
class SinkFailure:
    """One failed delivery attempt round (after retries)."""

    sink: str
    window_label: str
    error: str
    attempts: int
    delivered_later: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"sink": self.sink, "window_label": self.window_label, "error": self.error,
                "attempts": self.attempts, "delivered_later": self.delivered_later}


@dataclass
class Dispatcher:
    """Sends notifications to every sink with retries and a per-sink outbox."""

    sinks: list[Any]
    retries: int = 2
    backoff: float = 0.05
    failures: list[SinkFailure] = field(default_factory=list)
    outbox: dict[str, deque[Notification]] = field(default_factory=dict)
    delivered: dict[str, int] = field(default_factory=dict)

    def _try(self, sink: Any, notification: Notification) -> str | None:
        error = ""
        for attempt in range(self.retries + 1):
            try:
                sink.send(notification)
                self.delivered[sink.name] = self.delivered.get(sink.name, 0) + 1
                return None
            except Exception as exc:  # a sink must never stop the monitor
                error = f"{type(exc).__name__}: {exc}"
                if attempt < self.retries:
                    time.sleep(self.backoff * (2**attempt))
        return error

    def _drain(self, sink: Any) -> bool:
        queue = self.outbox.setdefault(sink.name, deque())
        while queue:
            head = queue[0]
            error = self._try(sink, head)
            if error is not None:
                self.failures.append(SinkFailure(sink.name, head.window_label, error,
                                                 self.retries + 1))
                return False
            queue.popleft()
            self._mark_delivered(sink.name, head.window_label)
        return True

    def _mark_delivered(self, sink_name: str, label: str) -> None:
        for i, f in enumerate(self.failures):
            if f.sink == sink_name and f.window_label == label and not f.delivered_later:
                self.failures[i] = SinkFailure(f.sink, f.window_label, f.error, f.attempts, True)

    def send(self, notification: Notification) -> None:
        for sink in self.sinks:
            self.outbox.setdefault(sink.name, deque()).append(notification)
            self._drain(sink)

    def window(self, window: dict[str, Any]) -> None:
        for sink in self.sinks:
            try:
                sink.on_window(window)
            except Exception as exc:
                self.failures.append(SinkFailure(sink.name, str(window.get("label", "")),
                                                 f"{type(exc).__name__}: {exc}", 1))

    def close(self, report: dict[str, Any]) -> None:
        for sink in self.sinks:
            self._drain(sink)
            try:
                sink.close(report)
            except Exception as exc:
                self.failures.append(SinkFailure(sink.name, "close",
                                                 f"{type(exc).__name__}: {exc}", 1))

    def undelivered(self) -> list[dict[str, Any]]:
        return [{"sink": name, **n.to_dict()} for name, q in self.outbox.items() for n in q]


def parse_sink(spec: str, *, model_name: str = "", model_version: str = "",
               tracking_uri: str | None = None) -> Any:
    """``console``, ``jsonl:PATH``, ``webhook:URL``, ``slack:URL`` or ``mlflow``."""
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "console" and not arg:
        return ConsoleSink()
    if kind == "mlflow" and not arg:
        return MlflowSink(model_name, model_version, tracking_uri=tracking_uri)
    if kind == "jsonl" and arg:
        return JsonLinesSink(arg)
    if kind in ("webhook", "slack") and arg:
        return WebhookSink(arg, style="slack" if kind == "slack" else "json")
    raise ConfigError(
        f"sink {spec!r} is not understood; use console, jsonl:PATH, webhook:URL, slack:URL "
        "or mlflow"
    )
