"""Fatigue control: sent once, re-sent on escalation, summarised on resolution."""

from __future__ import annotations

from modelsteward.monitor.alerts import Alert, AlertTracker


def _alert(key: str, severity: str, window: int, feature: str = "x") -> Alert:
    return Alert(key=key, kind="data_drift", feature=feature, alert_type="distribution",
                 severity=severity, window_index=window, window_label=f"W{window}",
                 summary=f"{feature} shifted", value=0.3, baseline_value=0.0,
                 threshold_name="psi_warning", threshold=0.1, threshold_source="preset default",
                 action="check", model_name="churn", model_version="4")


def test_open_alert_is_not_resent_each_window() -> None:
    t = AlertTracker("churn", "4")
    first = t.update(0, "W0", [_alert("a", "warning", 0)])
    assert first is not None and [e.event for e in first.events] == ["new"]
    for w in range(1, 5):
        assert t.update(w, f"W{w}", [_alert("a", "warning", w)]) is None


def test_resent_when_severity_rises_not_when_it_falls() -> None:
    t = AlertTracker("churn", "4")
    t.update(0, "W0", [_alert("a", "warning", 0)])
    up = t.update(1, "W1", [_alert("a", "critical", 1)])
    assert up is not None and [e.event for e in up.events] == ["escalated"]
    assert up.events[0].opened_window == "W0" and up.events[0].alert.since_window == "W0"
    assert t.update(2, "W2", [_alert("a", "warning", 2)]) is None
    assert t.update(3, "W3", [_alert("a", "critical", 3)]) is None  # not above the peak


def test_resolution_is_summarised() -> None:
    t = AlertTracker("churn", "4")
    t.update(0, "W0", [_alert("a", "warning", 0)])
    t.update(1, "W1", [_alert("a", "critical", 1)])
    t.update(2, "W2", [_alert("a", "warning", 2)])
    done = t.update(3, "W3", [])
    assert done is not None
    (ev,) = done.events
    assert ev.event == "resolved" and ev.windows_open == 3 and ev.peak_severity == "critical"
    assert "since W0" in ev.text and "peak critical" in ev.text
    assert t.update(4, "W4", []) is None


def test_one_message_per_window_for_many_alerts() -> None:
    t = AlertTracker("churn", "4")
    note = t.update(0, "W0", [_alert(k, "critical", 0, feature=k) for k in "abc"])
    assert note is not None and len(note.events) == 3
    assert note.text.count("\n") == 3 and note.title.startswith("[critical] churn v4 window W0")
    slack = note.to_slack()
    assert slack["text"] and len(slack["blocks"]) == 4


def test_info_alerts_below_notify_severity_stay_quiet() -> None:
    t = AlertTracker("churn", "4", notify_severity="warning")
    assert t.update(0, "W0", [_alert("a", "info", 0)]) is None
    strict = AlertTracker("churn", "4", notify_severity="info")
    assert strict.update(0, "W0", [_alert("a", "info", 0)]) is not None


def test_message_is_actionable() -> None:
    a = _alert("a", "critical", 3)
    t = AlertTracker("churn", "4")
    t.update(2, "W2", [_alert("a", "warning", 2)])
    stamped = t.stamp(a)
    msg = stamped.message
    assert "churn v4" in msg and "window W3" in msg and "open since W2" in msg
    assert "psi_warning 0.1 (preset default)" in msg and "What to do: check" in msg
