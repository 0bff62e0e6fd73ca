"""Request counters and latency histograms, rendered as Prometheus text (no dependency).

    >>> m = Metrics()
    >>> m.observe("/predict", 200, 0.004)
    >>> 'steward_requests_total{route="/predict",status="200"} 1' in m.render({})
    True
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

__all__ = ["Metrics", "LATENCY_BUCKETS"]

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
