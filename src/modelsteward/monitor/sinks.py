"""Where notifications go: console, JSON Lines file, webhook (plain JSON or Slack), MLflow.

A sink that fails is retried a few times; what it still cannot take stays in its outbox and
is tried again with the next notification and when the run ends. A failing sink never stops
the monitor and never loses a notification: the report lists every failure and anything
still undelivered, and with an outbox file (``steward monitor`` always has one) what is left
is kept on disk and retried at the start of the next run. All deliveries of one run share
one deadline, so a webhook that accepts connections and never answers costs that much at
most, not a timeout per message.

Webhook and Slack URLs carry secrets in their path or query: a sink's name shows the host
only, and error texts are redacted::

    >>> parse_sink("jsonl:alerts.jsonl").name
    'jsonl:alerts.jsonl'
    >>> parse_sink("slack:https://hooks.slack.com/services/T0/B0/XYZ").name
    'slack:https://hooks.slack.com/***'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from modelsteward.errors import ConfigError, SinkError
from modelsteward.monitor.alerts import Notification
from modelsteward.monitor.outbox import Outbox
from modelsteward.redact import MASK, redact_text, redact_uri
from modelsteward.registry import resolve_tracking_uri
from modelsteward.registry.tracking import mlflow_client
from modelsteward.registry.training import ensure_experiment
from modelsteward.report.text import strip_controls

__all__ = [
    "ConsoleSink", "Dispatcher", "JsonLinesSink", "MlflowSink", "Sink", "SinkFailure",
    "WebhookSink", "display_url", "parse_sink",
]


def display_url(url: str) -> str:
    """The URL with only scheme and host shown: the path and query of a webhook are secret.

    >>> display_url("https://u:pw@hooks.example.com:8443/T0/B0/XYZ?token=1")
    'https://u:***@hooks.example.com:8443/***'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    shown = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        shown += "/" + MASK
    return redact_uri(shown) if shown else MASK


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
        text = strip_controls(notification.text)  # names from data never drive the terminal
        if self.stream is not None:
            print(text, file=self.stream, flush=True)
            return
        from rich.console import Console  # rich only when the terminal sink prints
        from rich.text import Text

        style = {"critical": "bold red", "warning": "yellow"}.get(notification.severity, "cyan")
        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=120)
        console.print(Text(strip_controls(notification.title), style=style))
        for line in text.splitlines()[1:]:
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
            raise ConfigError(f"webhook URL {display_url(url)!r} must start with http:// or "
                              "https://")
        self.url, self.style, self.timeout = url, style, timeout
        kind = "slack" if style == "slack" else "webhook"
        self.name = f"{kind}:{display_url(url)}"
        #: the outbox knows the sink by a digest of its URL, never by the URL itself
        self.key = f"{kind}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
        #: time.monotonic() by which the delivery must end (set by the Dispatcher)
        self.deadline: float | None = None

    def send(self, notification: Notification) -> None:
        import httpx  # ~0.3 s at import: only when a webhook is sent

        body = notification.to_slack() if self.style == "slack" else notification.to_dict()
        timeout = self.timeout
        if self.deadline is not None:
            timeout = max(0.001, min(timeout, self.deadline - time.monotonic()))
        try:
            headers = {"Idempotency-Key": notification.id} if notification.id else {}
            response = httpx.post(self.url, json=body, timeout=timeout, headers=headers)
        except httpx.HTTPError as exc:
            text = str(exc).replace(self.url, display_url(self.url))
            raise SinkError(redact_text(f"{self.name}: {type(exc).__name__}: {text}",
                                        secrets=[self.url])) from None
        if response.status_code >= 300:
            raise SinkError(f"{self.name}: HTTP {response.status_code}")


class MlflowSink(_Base):
    """Logs per-window drift figures as step metrics (step = window index) of a monitoring
    run.

    The run lives in experiment ``modelsteward-monitoring``, is tagged with the model name
    and version, and the model version gets a tag pointing at it, so MLflow's UI plots PSI
    and correlation over windows next to the model. With a state store the Dispatcher binds
    the sink to its target: every run on that target (model, version, policy, window spec)
    writes into the same MLflow run, and each window's figures are written once (the state
    store remembers what was written; concept figures and alert counts wait until the
    window's late labels are final); a re-judged window writes only the figures that
    changed. Without a state store each call makes its own run.
    """

    name = "mlflow"

    def __init__(self, model_name: str, model_version: str, *, tracking_uri: str | None = None,
                 experiment: str = "modelsteward-monitoring") -> None:
        self.model_name, self.model_version = model_name, model_version
        self.tracking_uri, self.experiment = tracking_uri, experiment
        self.run_id: str | None = None
        self.target: str | None = None
        self._client: Any = None

    def bind(self, target: str) -> None:
        """Write into the one monitoring run of ``target`` (found by tag, made if missing)."""
        self.target = target

    def _target_id(self) -> str:
        return hashlib.sha256(str(self.target).encode()).hexdigest()[:16]

    def _start(self) -> Any:
        if self._client is not None:
            return self._client
        uri = resolve_tracking_uri(self.tracking_uri)
        client = mlflow_client(uri)  # tracking and registry both at the given URI
        exp_id = ensure_experiment(client, self.experiment, uri)
        tags = {"modelsteward.kind": "monitoring",
                "modelsteward.model_name": self.model_name,
                "modelsteward.model_version": str(self.model_version)}
        found: list[Any] = []
        if self.target is not None:
            tags["modelsteward.target_id"] = self._target_id()
            tags["modelsteward.target"] = self.target[:4000]
            found = client.search_runs(
                [exp_id], filter_string=f"tags.`modelsteward.target_id` = '{self._target_id()}'",
                order_by=["attributes.start_time ASC"], max_results=1)
        if found:
            self.run_id = found[0].info.run_id
            client.update_run(self.run_id, status="RUNNING")
        else:
            run = client.create_run(exp_id, tags=tags,
                                    run_name=f"monitor {self.model_name} v{self.model_version}")
            self.run_id = run.info.run_id
        try:
            client.set_model_version_tag(self.model_name, str(self.model_version),
                                         "modelsteward.monitoring_run_id", self.run_id)
        except Exception:  # an unregistered model: the run tags still attach it
            pass
        self._client = client
        return client

    @staticmethod
    def figures(window: dict[str, Any]) -> dict[str, float]:
        """The metrics one window gives: rows, PSI and drift statistic per feature, concept
        correlation and coverage, performance, alert counts by severity."""
        out = {"rows": float(window["n_rows"])}
        for f in window.get("features", []):
            name = _metric_name(f["feature"])
            if f.get("psi") is not None:
                out[f"psi/{name}"] = float(f["psi"])
            if f.get("statistic") is not None:
                out[f"drift_stat/{name}"] = float(f["statistic"])
        concept = window.get("concept") or {}
        for key in ("correlation", "coverage"):
            if concept.get(key) is not None:
                out[f"concept/{key}"] = float(concept[key])
        for key, value in (concept.get("performance") or {}).items():
            out[f"performance/{key}"] = float(value)
        if window.get("alerts") is not None:
            counts = {"info": 0, "warning": 0, "critical": 0}
            for a in window["alerts"]:
                counts[a["severity"]] += 1
            out.update({f"alerts/{k}": float(v) for k, v in counts.items()})
        return {k: v for k, v in out.items() if math.isfinite(v)}

    def on_window(self, window: dict[str, Any]) -> None:
        self.write_figures(window, self.figures(window))

    def write_figures(self, window: dict[str, Any], figures: dict[str, float],
                      later: dict[str, int] | None = None) -> None:
        """Log ``figures`` of one window at step = window index, at the window's start time
        (``later``: milliseconds after it per figure, for a re-judged figure, so MLflow's
        latest value is the re-judged one: MLflow cannot replace a point)."""
        from mlflow.entities import Metric

        client = self._start()
        step = int(window["index"])
        ts = int(time.time() * 1000)
        if window.get("start"):  # the window's own time, so "wall time" plots show the calendar
            ts = int(datetime.fromisoformat(window["start"]).timestamp() * 1000)
        metrics = [Metric(k, v, ts + (later or {}).get(k, 0), step) for k, v in figures.items()]
        client.log_batch(self.run_id, metrics=metrics)

    def send(self, notification: Notification) -> None:
        client = self._start()
        suffix = f"-{notification.id}" if notification.id else ""
        client.log_text(self.run_id, notification.text,
                        f"notifications/{notification.window_index:04d}{suffix}.txt")

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
    """Sends notifications to every sink with retries, a per-sink outbox and one deadline.

    ``deadline`` is the time in seconds all deliveries of this run may take together (None:
    no limit). ``outbox_path`` is the JSON Lines file where what is still undelivered at
    :meth:`close` is kept; its entries for the sinks of this run are retried by
    :meth:`start` (None: the outbox lives in memory only).
    """

    sinks: list[Any]
    retries: int = 2
    backoff: float = 0.05
    deadline: float | None = None
    outbox_path: str | Path | None = None
    #: the state store's outbox (``monitor.state.Journal``): when given, every notification
    #: is recorded as pending before it is sent and marked delivered after, and the pending
    #: ones of earlier runs are retried first; ``outbox_path`` is then not used
    journal: Any = None
    failures: list[SinkFailure] = field(default_factory=list)
    outbox: dict[str, deque[tuple[Notification, str]]] = field(default_factory=dict)
    delivered: dict[str, int] = field(default_factory=dict)
    from_previous: int = 0  # notifications loaded from the outbox file of an earlier run
    previous_delivered: int = 0
    unreadable: int = 0
    _t0: float = field(default_factory=time.monotonic, repr=False)
    _foreign: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _expired: set[str] = field(default_factory=set, repr=False)
    _old: set[int] = field(default_factory=set, repr=False)
    _taken: dict[int, str] = field(default_factory=dict, repr=False)  # object id -> entry id

    def __post_init__(self) -> None:
        if self.journal is not None:
            self.outbox_path = None
            for sink in self.sinks:
                if hasattr(sink, "bind"):  # e.g. MLflow: one monitoring run per target
                    sink.bind(self.journal.target)
                for body, queued in self.journal.pending(_key(sink)):
                    n = Notification.from_dict(body)
                    self.outbox.setdefault(sink.name, deque()).append((n, queued))
                    self._old.add(id(n))
                    self.from_previous += 1
        if self.outbox_path is None:
            return
        box = Outbox(self.outbox_path)
        keys = {_key(s): s for s in self.sinks}
        for e in box.load():
            sink = keys.get(e["sink"])
            if sink is None:  # a sink this run does not have: kept as it is
                self._foreign.append(e)
                continue
            try:
                n = Notification.from_dict(e["notification"])
            except (KeyError, TypeError, ValueError):
                box.unreadable += 1
                continue
            self.outbox.setdefault(sink.name, deque()).append((n, str(e.get("queued_at", ""))))
            self._old.add(id(n))
            self._taken[id(n)] = str(e.get("id") or "")
            self.from_previous += 1
        self.unreadable = box.unreadable

    def _left(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - (time.monotonic() - self._t0)

    def _try(self, sink: Any, notification: Notification) -> str | None:
        error = ""
        for attempt in range(self.retries + 1):
            left = self._left()
            if left is not None and left <= 0:
                return error or f"the sink deadline of {self.deadline:g}s for this run passed"
            if hasattr(sink, "deadline"):
                sink.deadline = None if left is None else time.monotonic() + left
            try:
                sink.send(notification)
                self.delivered[sink.name] = self.delivered.get(sink.name, 0) + 1
                return None
            except Exception as exc:  # a sink must never stop the monitor
                error = redact_text(f"{type(exc).__name__}: {exc}")
                if attempt < self.retries:
                    pause = self.backoff * (2**attempt)
                    left = self._left()
                    time.sleep(pause if left is None else max(0.0, min(pause, left)))
        return error

    def _drain(self, sink: Any) -> bool:
        queue = self.outbox.setdefault(sink.name, deque())
        while queue:
            if sink.name in self._expired:
                return False
            head, _ = queue[0]
            error = self._try(sink, head)
            if error is not None:
                left = self._left()
                if left is not None and left <= 0:
                    self._expired.add(sink.name)
                    error += (f"; sink deadline of {self.deadline:g}s for this run passed, "
                              "the rest is kept in the outbox")
                self.failures.append(SinkFailure(sink.name, head.window_label, error,
                                                 self.retries + 1))
                if self.journal is not None and head.id:
                    self.journal.failed(head.id, _key(sink), error, self.retries + 1)
                return False
            queue.popleft()
            if self.journal is not None and head.id:
                self.journal.delivered(head.id, _key(sink))
            if id(head) in self._old:
                self.previous_delivered += 1
            self._mark_delivered(sink.name, head.window_label)
        return True

    def _mark_delivered(self, sink_name: str, label: str) -> None:
        for i, f in enumerate(self.failures):
            if f.sink == sink_name and f.window_label == label and not f.delivered_later:
                self.failures[i] = SinkFailure(f.sink, f.window_label, f.error, f.attempts, True)

    def start(self) -> None:
        """Retry what earlier runs left in the outbox, before this run's news."""
        for sink in self.sinks:
            if self.outbox.get(sink.name):
                self._drain(sink)

    def send(self, notification: Notification) -> None:
        now = datetime.now(UTC).isoformat()
        status: dict[str, str] = {}
        if self.journal is not None and notification.id:  # recorded, all sinks pending, first
            status = self.journal.queue_all(notification, [(_key(s), s.name) for s in self.sinks])
        for sink in self.sinks:
            if status.get(_key(sink), "new") != "new":  # delivered, or queued by an earlier run
                continue
            self.outbox.setdefault(sink.name, deque()).append((notification, now))
            self._drain(sink)

    def window(self, window: dict[str, Any], concept_final: bool = True) -> None:
        """Per-window figures to the sinks that take them. With a journal, a sink that has
        ``figures(window)`` gets a window only when its figures differ from what it was given
        before (written once; again only when re-judged); the concept figures of a window
        whose late labels are still awaited wait until it is final."""
        if not concept_final:  # its concept result, and so its alert counts, may still change
            window = {**window, "concept": None, "alerts": None}
        for sink in self.sinks:
            if sink.name in self._expired:
                continue
            label = str(window.get("label"))
            try:
                if self.journal is not None and hasattr(sink, "write_figures"):
                    figures = sink.figures(window)
                    before, writes = self.journal.published(label, _key(sink))
                    changed = {k: v for k, v in figures.items() if before.get(k) != v}
                    if changed:  # a figure written before moves 1 ms per rewrite
                        sink.write_figures(window, changed,
                                           {k: writes for k in changed if k in before})
                        self.journal.publish(label, _key(sink), {**before, **figures},
                                             writes + 1)
                    continue
                sink.on_window(window)
            except Exception as exc:
                self.failures.append(SinkFailure(sink.name, str(window.get("label", "")),
                                                 redact_text(f"{type(exc).__name__}: {exc}"), 1))

    def close(self, report: dict[str, Any]) -> None:
        for sink in self.sinks:
            self._drain(sink)
            if sink.name in self._expired:
                continue
            try:
                sink.close(report)
            except Exception as exc:
                self.failures.append(SinkFailure(sink.name, "close",
                                                 redact_text(f"{type(exc).__name__}: {exc}"), 1))
        if self.outbox_path is not None:
            keys = {s.name: _key(s) for s in self.sinks}
            entries = [Outbox.entry(keys.get(name, name), name, n.to_dict(), queued,
                                    self._taken.get(id(n)) or None)
                       for name, q in self.outbox.items() for n, queued in q]
            try:  # entries of sinks this run does not have stay as they are in the file
                Outbox(self.outbox_path).save(entries, taken=set(self._taken.values()))
            except OSError as exc:
                self.failures.append(SinkFailure(
                    "outbox", "close", f"cannot write the outbox {self.outbox_path} "
                    f"({exc.strerror or exc}); the undelivered notifications are only in "
                    "the report", 1))

    def undelivered(self) -> list[dict[str, Any]]:
        return [{"sink": name, "queued_at": queued, **n.to_dict()}
                for name, q in self.outbox.items() for n, queued in q]


def _key(sink: Any) -> str:
    return str(getattr(sink, "key", None) or sink.name)


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
    shown = f"{kind}:{display_url(arg)}" if "://" in arg else redact_text(spec)
    raise ConfigError(
        f"sink {shown!r} is not understood; use console, jsonl:PATH, webhook:URL, slack:URL "
        "or mlflow"
    )
