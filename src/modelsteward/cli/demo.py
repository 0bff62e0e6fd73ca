"""``steward demo`` (provisional): a short drift example on generated data.

Fits a baseline on a generated training frame, then checks a drifted week and a degraded
week and prints both tables. The full registry-to-monitor loop replaces this later.
"""

from __future__ import annotations

import click
import numpy as np

__all__ = ["command"]


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    return {
        "age": rng.normal(40 + 3 * shift, 10, n),
        "income": rng.lognormal(10 + 0.3 * shift, 0.5, n),
        "tenure_months": rng.poisson(24, n).astype(float),
        "plan": rng.choice(
            ["basic", "plus", "pro"], n, p=[0.5 - 0.2 * shift, 0.3, 0.2 + 0.2 * shift]
        ),
    }


@click.command("demo")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
def command(seed: int) -> None:
    """Fit a baseline on generated data and show a drifted and a degraded window."""
    from rich.console import Console
    from rich.table import Table

    from modelsteward.baseline import Baseline
    from modelsteward.drift import detect_data_drift, detect_feature_degradation

    console = Console()
    rng = np.random.default_rng(seed)
    baseline = Baseline.fit(_frame(rng, 50_000))
    console.print(f"Fitted a baseline on 50,000 rows: {', '.join(baseline.feature_names)}")

    windows = {"drifted week": _frame(rng, 5_000, shift=1.0)}
    broken = _frame(rng, 5_000)
    broken["income"][rng.random(5_000) < 0.3] = np.nan
    broken["tenure_months"][:] = 0.0
    windows["degraded week"] = broken
    for title, window in windows.items():
        table = Table(title=f"{title}: data drift (worst first)")
        for col in ("feature", "test", "statistic", "p-value", "PSI", "drifted"):
            table.add_column(col)
        for r in detect_data_drift(baseline, window):
            table.add_row(
                r.feature,
                r.test,
                f"{r.statistic:.4f}",
                f"{r.p_value:.3g}",
                f"{r.psi:.3f}",
                "yes" if r.is_drifted else "no",
                style="bold red" if r.is_drifted else None,
            )
        console.print(table)
        alerts = detect_feature_degradation(baseline, window)
        for a in alerts:
            console.print(f"  [yellow]{a.alert_type}[/]: {a.message}")
        if not alerts:
            console.print("  no feature degradation")
