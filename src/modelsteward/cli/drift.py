"""``steward drift REFERENCE CURRENT``: data drift and degradation of one file against another.

$ steward drift train.parquet week.csv
$ steward drift ./baseline_dir week.parquet --json --p-threshold 0.001
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelsteward.cli._console import esc, make_console, plain
from modelsteward.errors import StewardError
from modelsteward.io import read_table

if TYPE_CHECKING:
    import pyarrow as pa

    from modelsteward.baseline import Baseline

__all__ = ["command", "load_reference"]


def load_reference(path: str | Path) -> Baseline | pa.Table:
    """A Baseline when ``path`` is a saved baseline directory, else the data (an Arrow table
    read by :func:`modelsteward.io.read_table`)."""
    from modelsteward.baseline import BASELINE_FILE, Baseline

    p = Path(path)
    if p.is_dir() and (p / BASELINE_FILE).is_file():
        return Baseline.load(p)
    if p.is_file() and p.name == BASELINE_FILE:
        return Baseline.load(p.parent)
    return read_table(p)


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        return f"{x:.2e}"
    return f"{x:.4f}"


def _run(reference: str, current: str, p_threshold: float, as_json: bool) -> None:
    from rich.table import Table

    from modelsteward.baseline import Baseline
    from modelsteward.drift import detect_data_drift, detect_feature_degradation

    ref = load_reference(reference)
    baseline = ref if isinstance(ref, Baseline) else Baseline.fit(ref)
    cur = read_table(current)
    results = detect_data_drift(baseline, cur, p_threshold=p_threshold)
    alerts = detect_feature_degradation(baseline, cur)
    if as_json:
        doc = {
            "reference": str(reference),
            "current": str(current),
            "p_threshold": p_threshold,
            "n_drifted": sum(r.is_drifted for r in results),
            "drift": [r.to_dict() for r in results],
            "degradation": [a.to_dict() for a in alerts],
        }
        from modelsteward.report import finite

        click.echo(json.dumps(finite(doc), indent=2, allow_nan=False))
        return
    console = make_console()
    table = Table(
        title=esc(f"Data drift: {Path(current).name} vs {Path(reference).name}"),
        caption=f"p < {p_threshold:g} flags drift; worst first",
    )
    for col, justify in (
        ("feature", "left"),
        ("kind", "left"),
        ("test", "left"),
        ("statistic", "right"),
        ("p-value", "right"),
        ("PSI", "right"),
        ("drifted", "center"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in results:
        style = "bold red" if r.is_drifted else None
        table.add_row(
            esc(r.feature),
            esc(r.kind),
            esc(r.test),
            _num(r.statistic),
            _num(r.p_value),
            _num(r.psi),
            "yes" if r.is_drifted else "no",
            style=style,
        )
    console.print(table)
    if alerts:
        at = Table(title="Feature degradation")
        for col in ("feature", "alert", "current", "baseline", "what to do"):
            at.add_column(col, overflow="fold")
        for a in alerts:
            at.add_row(
                esc(a.feature), esc(a.alert_type), _num(a.current_value),
                _num(a.baseline_value), esc(a.message),
            )
        console.print(at)
    else:
        console.print("No feature degradation.")
    n = sum(r.is_drifted for r in results)
    console.print(f"{n} of {len(results)} features drifted; {len(alerts)} degradation alerts.")


@click.command("drift")
@click.argument("reference", type=click.Path(exists=True))
@click.argument("current", type=click.Path(exists=True))
@click.option(
    "--p-threshold",
    default=0.01,
    show_default=True,
    type=float,
    help="Flag a feature as drifted when its p-value is below this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def command(reference: str, current: str, p_threshold: float, as_json: bool) -> None:
    """Compare CURRENT (CSV/Parquet) with REFERENCE (CSV/Parquet or a saved baseline dir).

    Numeric columns get the KS test, categorical ones chi-square, both with PSI; then the
    degradation checks (missing, nulls, variance, cardinality, unseen, out of range).

    \b
    Example:
        steward baseline fit train.parquet ./baseline
        steward drift ./baseline week.csv --p-threshold 0.001
    """
    if not (0 < p_threshold <= 1) or math.isnan(p_threshold):
        click.echo("error: --p-threshold must be in (0, 1]", err=True)
        sys.exit(2)
    try:
        _run(reference, current, p_threshold, as_json)
    except StewardError as exc:
        click.echo(f"error: {plain(exc, keep_newlines=False)}", err=True)
        sys.exit(2)
