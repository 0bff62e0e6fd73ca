"""The outbox file: kept across runs, merged with what other runs add, never loses entries."""

from __future__ import annotations

import json

from modelsteward.monitor.alerts import Alert, AlertEvent, Notification
from modelsteward.monitor.outbox import Outbox
from modelsteward.monitor.sinks import Dispatcher


def _note(label: str) -> Notification:
    a = Alert(key="k", kind="data_drift", feature="x", alert_type="psi", severity="critical",
              window_index=0, window_label=label, summary="shifted", value=0.3,
              baseline_value=0.0, threshold_name="psi_critical", threshold=0.2,
              threshold_source="preset", action="retrain", model_name="m", model_version="1")
    return Notification("m", "1", 0, label, (AlertEvent("new", a, label, "critical"),))


class _Sink:
    def __init__(self, name: str, up: bool) -> None:
        self.name, self.up, self.got = name, up, []

    def send(self, n: Notification) -> None:
        if not self.up:
            raise ConnectionError("down")
        self.got.append(n.window_label)

    def on_window(self, window) -> None:
        return None

    def close(self, report) -> None:
        return None


def test_outbox_round_trip_merge_and_foreign_entries(tmp_path) -> None:
    path = tmp_path / "outbox.jsonl"
    first = Dispatcher([_Sink("a", up=False), _Sink("b", up=False)], backoff=0,
                       outbox_path=path)
    first.send(_note("W1"))
    first.close({})
    assert len(path.read_text().splitlines()) == 2
    # a hand-written line without an id, and a line that is not JSON
    with path.open("a") as fh:
        fh.write(json.dumps({"sink": "a", "notification": _note("W0").to_dict()}) + "\n")
        fh.write("{oops\n")

    sink_a = _Sink("a", up=True)
    second = Dispatcher([sink_a], backoff=0, outbox_path=path)
    assert second.from_previous == 2 and second.unreadable == 1
    # meanwhile another run appends an entry for sink b
    Outbox(path).save([Outbox.entry("b", "b", _note("W9").to_dict())], taken=set())
    second.start()
    assert sink_a.got == ["W1", "W0"] and second.previous_delivered == 2
    second.send(_note("W2"))
    second.close({})
    left = [json.loads(x) for x in path.read_text().splitlines()]
    assert sorted((e["sink"], e["notification"]["window_label"]) for e in left) == [
        ("b", "W1"), ("b", "W9")]  # b's entries kept, a's delivered ones gone

    third = Dispatcher([_Sink("a", up=True)], backoff=0, outbox_path=path)
    assert third.from_previous == 0  # W0 (no id) was not resurrected
    third.close({})
    assert len(path.read_text().splitlines()) == 2
