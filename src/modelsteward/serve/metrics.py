"""Request counters and latency histograms, rendered as Prometheus text (no dependency).

    >>> m = Metrics()
    >>> m.observe("/predict", 200, 0.004)
    >>> 'steward_requests_total{route="/predict",status="200"} 1' in m.render({})
    True
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["Metrics", "LATENCY_BUCKETS", "METRICS_DIR_ENV", "SharedMetrics"]

#: Directory where each worker of ``steward serve --workers N`` leaves its counters; set by
#: the runner to a private temporary directory (like prometheus_client's multiprocess dir).
METRICS_DIR_ENV = "STEWARD_METRICS_DIR"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Counts per (route, status) and a latency histogram per route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.predictions = 0

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, status)] += 1
            counts = self.buckets.get(route)
            if counts is None:
                counts = self.buckets[route] = [0] * (len(LATENCY_BUCKETS) + 1)
            counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self.sums[route] += seconds
            self.counts[route] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain JSON data (see :meth:`add_snapshot`)."""
        with self._lock:
            return {"requests": [[r, s, n] for (r, s), n in self.requests.items()],
                    "buckets": {r: list(c) for r, c in self.buckets.items()},
                    "sums": dict(self.sums), "counts": dict(self.counts),
                    "predictions": self.predictions}

    def add_snapshot(self, snap: dict[str, Any]) -> None:
        """Add another process's counters to these (aggregation across workers)."""
        with self._lock:
            for route, status, n in snap.get("requests", []):
                self.requests[(str(route), int(status))] += int(n)
            for route, counts in snap.get("buckets", {}).items():
                mine = self.buckets.setdefault(route, [0] * (len(LATENCY_BUCKETS) + 1))
                for i, c in enumerate(counts[:len(mine)]):
                    mine[i] += int(c)
            for route, v in snap.get("sums", {}).items():
                self.sums[route] += float(v)
            for route, v in snap.get("counts", {}).items():
                self.counts[route] += int(v)
            self.predictions += int(snap.get("predictions", 0))

    def render(self, gauges: dict[str, tuple[str, list[tuple[dict[str, str], float]]]]) -> str:
        """Prometheus exposition text; ``gauges`` maps name -> (help, [(labels, value)])."""
        out = [
            "# HELP steward_requests_total HTTP requests by route and status.",
            "# TYPE steward_requests_total counter",
        ]
        with self._lock:
            for (route, status), n in sorted(self.requests.items()):
                out.append(
                    f'steward_requests_total{{route="{_escape(route)}",status="{status}"}} {n}')
            out += [
                "# HELP steward_request_duration_seconds Request latency by route.",
                "# TYPE steward_request_duration_seconds histogram",
            ]
            for route, counts in sorted(self.buckets.items()):
                r = _escape(route)
                running = 0
                for le, c in zip(LATENCY_BUCKETS, counts, strict=False):
                    running += c
                    out.append(
                        f'steward_request_duration_seconds_bucket{{route="{r}",le="{le}"}} '
                        f"{running}")
                running += counts[-1]
                out.append(
                    f'steward_request_duration_seconds_bucket{{route="{r}",le="+Inf"}} {running}')
                out.append(f'steward_request_duration_seconds_sum{{route="{r}"}} '
                           f"{self.sums[route]:.6f}")
                out.append(f'steward_request_duration_seconds_count{{route="{r}"}} '
                           f"{self.counts[route]}")
        for name, (help_text, samples) in gauges.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                if labels:
                    lab = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
                    out.append(f"{name}{{{lab}}} {value:g}")
                else:
                    out.append(f"{name} {value:g}")
        return "\n".join(out) + "\n"


class SharedMetrics:
    """One file per worker process in a shared directory; any worker renders the sum.

    Each worker rewrites ``worker-<pid>.json`` (atomically: write, then rename) every
    ``every`` seconds and whenever it answers /metrics, so a scrape that lands on any worker
    counts every worker's requests (the others' as of at most ``every`` seconds ago).
    Counters of a worker that exited stay in the sum (counters never go down); its gauges
    are dropped.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.pid = os.getpid()
        self.path = self.directory / f"worker-{self.pid}.json"

    def write(self, snap: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with contextlib.suppress(OSError):  # a full disk must not fail a request
            tmp.write_text(json.dumps({**snap, "pid": self.pid}), encoding="utf-8")
            os.replace(tmp, self.path)

    def others(self) -> list[dict[str, Any]]:
        """Every other worker's last snapshot, with ``alive`` set."""
        out = []
        for path in sorted(self.directory.glob("worker-*.json")):
            if path == self.path:
                continue
            try:
                snap = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            snap["alive"] = _alive(int(snap.get("pid", 0)))
            out.append(snap)
        return out


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
