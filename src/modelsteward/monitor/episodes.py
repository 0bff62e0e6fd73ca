"""Alert episodes across runs: what the state store's tracker continues from, what is news.

A :class:`Ledger` is the state-store side of one monitor run on one target. It

- starts the :class:`~modelsteward.monitor.alerts.AlertTracker` from the snapshot stored
  before the first window this run (re)derives, with the acknowledgements of the store;
- re-judges closed windows whose late labels arrived (:meth:`Ledger.late_labels`): the
  stored result gets the new concept result and alert;
- derives the episodes forward again from the first window whose alerts changed (late
  labels, ``--rerun``), using the stored measurements of windows it does not re-measure
  (:meth:`Ledger.replay`), so a late-label alert is carried into later windows and a rerun
  of a middle range leaves no stale episode behind;
- turns a window's notification into *news* (:meth:`Ledger.news`): only the events not
  already recorded for that window, with a stable id, so deriving a window again never
  sends what was sent.

    >>> import tempfile, pathlib
    >>> from modelsteward.monitor.alerts import AlertTracker
    >>> from modelsteward.monitor.state import MonitorState
    >>> st = MonitorState.open(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'm.db'}")
    >>> led = Ledger(st, "m|1|default:x|W|UTC", AlertTracker("m", "1"))
    >>> led.begin(None)
    >>> led.replay() == []
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from modelsteward.monitor.alerts import Alert, AlertEvent, AlertTracker, Notification
from modelsteward.monitor.policy import severity_rank
from modelsteward.monitor.state import MonitorState, notification_id, window_row

__all__ = ["Ledger"]


def _labelled_alerts(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The alerts of a stored window that depend on its labels (concept, performance)."""
    return sorted((a["key"], a["severity"]) for a in result.get("alerts", [])
                  if a.get("kind") in ("concept_drift", "performance"))


def _event_id(e: AlertEvent) -> tuple[str, str, str]:
    return (e.event, e.alert.key, e.alert.severity)


@dataclass
class Ledger:
    """The state store's view of one run's alert episodes (see the module docstring).

    ``on_window(result, concept_final)`` is called for every window this ledger saves (the
    sinks' per-window figures, e.g. MLflow step metrics).
    """

    store: MonitorState
    target: str
    tracker: AlertTracker
    on_window: Callable[[dict[str, Any], bool], None] | None = None
    dirty: str | None = None  # start of the first stored window whose alerts changed
    late: dict[str, str] = field(default_factory=dict)  # label -> "window W, now 82% labelled"
    start: str | None = None  # where derivation starts in this run

    def __post_init__(self) -> None:
        self.tracker.acks = self.store.acked(self.target)

    # --- late labels ------------------------------------------------------------------------
    def late_labels(self, label: str, concept: Any, final: bool,
                    judge: Callable[[Any], Alert | None],
                    refresh: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        """Re-judge the stored window ``label`` with its new concept result ``concept``
        (``judge`` gives its concept alert; ``refresh`` renews the rest of the stored result
        that depends on labels, e.g. performance and its alerts); ``final``: no more labels
        are awaited."""
        if concept is None:
            return
        result, snapshot = window_row(self.store, self.target, label)
        old = result.get("concept") or {}
        if old.get("n") == concept.n and old.get("coverage") == concept.coverage:
            if final:  # nothing new, and nothing more to wait for
                self._save(result, snapshot, True, [])
            return
        alert = judge(concept)
        before = _labelled_alerts(result)
        alerts = [a for a in result.get("alerts", []) if a.get("kind") != "concept_drift"]
        if alert is not None:
            alerts.append(alert.to_dict())
        result = {**result, "concept": concept.to_dict(), "alerts": alerts}
        if refresh is not None:
            result = refresh(result)
        result["alerts"] = sorted(result["alerts"],
                                  key=lambda a: -severity_rank(a.get("severity")))
        self._save(result, snapshot, final, [])
        after = _labelled_alerts(result)
        start = result.get("start")
        if before != after and start is not None:  # (windows without a time are not replayed)
            self.late[label] = f"window {label}, now {concept.coverage:.0%} labelled"
            self.dirty = str(start) if self.dirty is None else min(self.dirty, str(start))

    # --- deriving episodes ------------------------------------------------------------------
    def begin(self, first_start: str | None) -> None:
        """Start the tracker before the earlier of the first changed stored window and the
        first window this run checks (``first_start``); episodes from there on are derived
        again."""
        starts = [s for s in (self.dirty, first_start) if s is not None]
        self.start = min(starts) if starts else None
        self.tracker.restore(self.store.tracker_before(self.target, self.start))
        if self.start is not None:
            self.store.reset_episodes(self.target, self.start)

    def replay(self, *, before: str | None = None,
               after: str | None = None) -> list[Notification]:
        """Derive the stored windows from :meth:`begin`'s start (before ``before``, after
        ``after``) again from their stored results; returns the news, in window order."""
        if self.dirty is None and after is None:
            return []
        since = self.dirty if after is None else None
        out: list[Notification] = []
        for result, final in self.store.stored_windows(self.target, since=since, after=after,
                                                       before=before):
            if result.get("status") != "ok":  # not tested: the tracker passes it unchanged
                self._save(result, self.tracker.snapshot(), final, ())
                continue
            alerts = [Alert.from_dict(a) for a in result.get("alerts", [])]
            muted = set(result.get("muted", []))
            note = self.tracker.update(int(result["index"]), str(result["label"]),
                                       [a for a in alerts if a.key not in muted])
            result = {**result, "alerts": [self.tracker.stamp(a).to_dict() for a in alerts]}
            self._save(result, self.tracker.snapshot(), final, note.events if note else ())
            news = self.news(note)
            if news is not None:
                out.append(news)
        return out

    def news(self, note: Notification | None) -> Notification | None:
        """The events of ``note`` not yet recorded for its window, with a stable id (None:
        nothing new). A window re-judged for late labels says so."""
        if note is None:
            return None
        sent = self.store.sent_events(self.target, note.window_label)
        fresh = tuple(e for e in note.events if _event_id(e) not in sent)
        if not fresh:
            return None
        news = replace(note, events=fresh, late_note=self.late.get(note.window_label, ""))
        return news.with_id(notification_id(self.target, news))

    def save(self, result: dict[str, Any], muted: Iterable[str], final: bool,
             events: Iterable[AlertEvent]) -> None:
        """Record a window this run checked (``muted``: keys of silenced alerts)."""
        self._save({**result, "muted": sorted(set(muted))}, self.tracker.snapshot(), final,
                   events)

    def _save(self, result: dict[str, Any], snapshot: dict[str, Any], final: bool,
              events: Iterable[AlertEvent]) -> None:
        self.store.save_window(self.target, result, snapshot, final, list(events))
        if self.on_window is not None:
            self.on_window(result, final)
