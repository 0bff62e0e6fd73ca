"""Alerts and fatigue control.

An :class:`Alert` is one finding in one window. The :class:`AlertTracker` turns the stream
of per-window alerts into :class:`Notification` s a person reads: an open alert is sent once
(not every window), sent again only when its severity rises above anything sent before,
summarised when it resolves, and all news for one model and window comes as one message.
A critical episode still open and not acknowledged is sent again as a reminder every
``reminder_every`` windows (0: never); an acknowledgement stops the reminders until the
episode's severity rises above the acknowledged one.

    >>> t = AlertTracker("churn", "3", notify_severity="warning")
    >>> a = Alert(key="degradation:age:null_rate", kind="degradation", feature="age",
    ...           alert_type="null_rate", severity="critical", window_index=0,
    ...           window_label="2026-W02", summary="null rate 40%", value=0.4,
    ...           baseline_value=0.0, threshold_name="null_rate", threshold=0.05,
    ...           threshold_source="preset default", action="inspect the pipeline",
    ...           model_name="churn", model_version="3")
    >>> [e.event for e in t.update(0, "2026-W02", [a]).events]
    ['new']
    >>> t.update(1, "2026-W03", [a]) is None          # still open: not sent again
    True
    >>> [e.event for e in t.update(2, "2026-W04", []).events]
    ['resolved']
    >>> r = AlertTracker("churn", "3", reminder_every=2)
    >>> [[e.event for e in n.events] if n else None
    ...  for n in (r.update(i, f"2026-W{i + 2:02d}", [a]) for i in range(5))]
    [['new'], None, ['reminder'], None, ['reminder']]
    >>> r.acks[(a.key, "2026-W02")] = "critical"     # steward alerts ack: no more reminders
    >>> [r.update(i, f"2026-W{i + 2:02d}", [a]) for i in (5, 6, 7)]
    [None, None, None]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from modelsteward.monitor.policy import severity_rank

__all__ = ["ACTIONS", "Alert", "AlertEvent", "AlertTracker", "Notification", "version_label"]


def version_label(version: str) -> str:
    """``"v3"`` for registry versions, the text itself otherwise."""
    return f"v{version}" if str(version).isdigit() else f"({version})"

ACTIONS = {
    "degradation": "inspect the upstream pipeline that produces this feature (ETL job, API, "
                   "schema change) and fix it; predictions on a broken feature are unreliable",
    "data_drift": "check the impact on predictions and outcomes; if performance suffers, "
                  "retrain on recent data",
    "concept_drift": "the feature-outcome relation changed: retrain on recent labelled data, "
                     "or roll back to a version that still tracks the outcome",
    "out_of_range": "check whether the new values are plausible (a real shift in the "
                    "population: see data drift) or an upstream unit, encoding or sentinel change",
    "unseen_categories": "check whether the new categories are real (map or retrain) or an "
                         "upstream encoding change (fix the pipeline)",
}


@dataclass(frozen=True)
class Alert:
    """One finding in one window, with its threshold and where that threshold came from."""

    key: str
    kind: str  # data_drift | degradation | concept_drift
    feature: str | None
    alert_type: str
    severity: str  # info | warning | critical
    window_index: int
    window_label: str
    summary: str  # what changed and by how much
    value: float | None
    baseline_value: float | None
    threshold_name: str
    threshold: Any
    threshold_source: str
    action: str
    model_name: str
    model_version: str
    since_window: str = ""  # first window of the open episode (set by the tracker)

    @property
    def message(self) -> str:
        since = (f" (open since {self.since_window})"
                 if self.since_window and self.since_window != self.window_label else "")
        return (
            f"[{self.severity}] {self.model_name} {version_label(self.model_version)}, window "
            f"{self.window_label}{since}: {self.summary.rstrip('. ')}. Threshold: "
            f"{self.threshold_name} {self.threshold} ({self.threshold_source}). "
            f"What to do: {self.action}."
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["message"] = self.message
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alert:
        """The inverse of :meth:`to_dict` (derived keys such as ``message`` are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class AlertEvent:
    """What happened to one alert in a window: new, escalated, reminder or resolved."""

    event: str
    alert: Alert
    opened_window: str
    peak_severity: str
    windows_open: int = 1

    @property
    def text(self) -> str:
        a = self.alert
        if self.event == "resolved":
            return (
                f"RESOLVED {a.kind} {a.alert_type}"
                + (f" on '{a.feature}'" if a.feature else "")
                + f": open {self.windows_open} window(s) since {self.opened_window}, "
                f"peak {self.peak_severity}; last seen: {a.summary}"
            )
        if self.event == "reminder":
            return (f"REMINDER, open {self.windows_open} window(s) since {self.opened_window} and "
                    f"not acknowledged (steward alerts ack stops reminders): {a.message}")
        tag = "NEW" if self.event == "new" else "ESCALATED to " + a.severity
        return f"{tag}: {a.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "alert": self.alert.to_dict(), "text": self.text,
                "opened_window": self.opened_window, "peak_severity": self.peak_severity,
                "windows_open": self.windows_open}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertEvent:
        return cls(str(d["event"]), Alert.from_dict(d["alert"]), str(d["opened_window"]),
                   str(d["peak_severity"]), int(d.get("windows_open", 1)))


@dataclass(frozen=True)
class Notification:
    """Everything new for one model and one window, as one message."""

    model_name: str
    model_version: str
    window_index: int
    window_label: str
    events: tuple[AlertEvent, ...]
    still_open: int = 0
    #: stable id (the same news about the same window has the same id on every run); sinks
    #: send it (JSON ``id`` field, webhook ``Idempotency-Key`` header) so receivers can drop
    #: the one duplicate a crash between sending and recording may cause
    id: str = ""
    late_note: str = ""  # "window 2026-W11, now 82% labelled" when late labels raised it

    def with_id(self, new_id: str) -> Notification:
        return replace(self, id=new_id)

    @property
    def severity(self) -> str:
        live = [e.alert.severity for e in self.events if e.event != "resolved"]
        return max(live, key=severity_rank) if live else "info"

    @property
    def title(self) -> str:
        counts: dict[str, int] = {}
        for e in self.events:
            counts[e.event] = counts.get(e.event, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in counts.items())
        return (f"[{self.severity}] {self.model_name} {version_label(self.model_version)} "
                f"window {self.window_label}: {parts}")

    @property
    def text(self) -> str:
        lines = [self.title, *("- " + e.text for e in self.events)]
        if self.late_note:
            lines.append(f"(raised by late labels: {self.late_note})")
        if self.still_open:
            lines.append(f"({self.still_open} earlier alert(s) still open, not repeated)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**({"id": self.id} if self.id else {}),
                **({"late_labels": self.late_note} if self.late_note else {}),
                "model_name": self.model_name, "model_version": self.model_version,
                "window_index": self.window_index, "window_label": self.window_label,
                "severity": self.severity, "title": self.title, "text": self.text,
                "still_open": self.still_open, "events": [e.to_dict() for e in self.events]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Notification:
        """The inverse of :meth:`to_dict` (how the on-disk outbox gives notifications back)."""
        return cls(str(d["model_name"]), str(d["model_version"]), int(d["window_index"]),
                   str(d["window_label"]),
                   tuple(AlertEvent.from_dict(e) for e in d.get("events", [])),
                   int(d.get("still_open", 0)), str(d.get("id") or ""),
                   str(d.get("late_labels") or ""))

    def to_slack(self) -> dict[str, Any]:
        """A Slack incoming-webhook body (``text`` plus blocks)."""
        icon = {"critical": ":red_circle:", "warning": ":large_orange_circle:"}.get(
            self.severity, ":large_blue_circle:")
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}}
        ]
        for e in self.events:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": e.text[:3000]}})
        return {"text": f"{icon} {self.title}", "blocks": blocks}


@dataclass
class _Episode:
    opened_index: int
    opened_label: str
    peak: str
    last: Alert
    windows_open: int = 1
    sent_at: int = 1  # windows_open when it was last sent (new, escalated, reminder)


@dataclass
class AlertTracker:
    """Keeps open alerts across windows and decides what is worth a message.

    ``reminder_every``: a critical episode still open and not acknowledged is sent again
    after this many windows without news (0: never). ``acks`` maps (alert key, opened
    window) to the severity at which the episode was acknowledged.
    """

    model_name: str
    model_version: str
    notify_severity: str = "warning"
    open: dict[str, _Episode] = field(default_factory=dict)
    reminder_every: int = 0
    acks: dict[tuple[str, str], str] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """The open episodes as JSON-able data (what the state store keeps per window)."""
        return {k: {"opened_index": e.opened_index, "opened_label": e.opened_label,
                    "peak": e.peak, "last": e.last.to_dict(), "windows_open": e.windows_open,
                    "sent_at": e.sent_at}
                for k, e in self.open.items()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Continue from a :meth:`snapshot` of an earlier run."""
        self.open = {k: _Episode(int(v["opened_index"]), str(v["opened_label"]), str(v["peak"]),
                                 Alert.from_dict(v["last"]), int(v["windows_open"]),
                                 int(v.get("sent_at", v["windows_open"])))
                     for k, v in snapshot.items()}

    def _remind(self, key: str, episode: _Episode) -> bool:
        """Critical, open ``reminder_every`` windows since last sent, not acknowledged at
        this severity."""
        if self.reminder_every <= 0 or episode.peak != "critical":
            return False
        if episode.windows_open - episode.sent_at < self.reminder_every:
            return False
        acked = self.acks.get((key, episode.opened_label))
        return acked is None or severity_rank(acked) < severity_rank(episode.peak)

    def stamp(self, alert: Alert) -> Alert:
        """The alert with ``since_window`` set from the open episode (or its own window)."""
        episode = self.open.get(alert.key)
        return replace(alert, since_window=episode.opened_label if episode else alert.window_label)

    def update(self, index: int, label: str, alerts: list[Alert]) -> Notification | None:
        """Feed one tested window's alerts; returns a Notification or None (nothing new)."""
        floor = severity_rank(self.notify_severity)
        current = {a.key: a for a in alerts if severity_rank(a.severity) >= floor}
        events: list[AlertEvent] = []
        for key, alert in current.items():
            episode = self.open.get(key)
            if episode is None:
                alert = replace(alert, since_window=label)
                self.open[key] = _Episode(index, label, alert.severity, alert)
                events.append(AlertEvent("new", alert, label, alert.severity))
                continue
            episode.windows_open += 1
            alert = replace(alert, since_window=episode.opened_label)
            episode.last = alert
            if severity_rank(alert.severity) > severity_rank(episode.peak):
                episode.peak = alert.severity
                episode.sent_at = episode.windows_open
                events.append(AlertEvent("escalated", alert, episode.opened_label, episode.peak,
                                         episode.windows_open))
            elif self._remind(key, episode):
                episode.sent_at = episode.windows_open
                events.append(AlertEvent("reminder", alert, episode.opened_label, episode.peak,
                                         episode.windows_open))
        for key in [k for k in self.open if k not in current]:
            episode = self.open.pop(key)
            events.append(AlertEvent("resolved", episode.last, episode.opened_label, episode.peak,
                                     episode.windows_open))
        if not events:
            return None
        still_open = sum(1 for k in self.open if k not in {e.alert.key for e in events})
        return Notification(self.model_name, self.model_version, index, label, tuple(events),
                            still_open)
