"""``steward calibrate``: replay history against marked incidents and recommend thresholds.

    $ steward calibrate --model churn_model --data 'history/*.parquet' \\
          --incidents incidents.csv --out policy.toml

incidents.csv has a header ``window,feature`` and one marked incident per line (the window
label a human noticed it in, e.g. ``2026-W09``; feature empty or ``concept`` for concept
drift). The written TOML is a policy file for ``steward monitor --policy policy.toml``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from modelsteward.cli._console import make_console
from modelsteward.cli._errors import errors
from modelsteward.cli.monitor import data_options

__all__ = ["command"]


@click.command("calibrate")
@data_options
@click.option("--incidents", "incidents_path", required=True,
              type=click.Path(dir_okay=False), help="CSV with columns window,feature.")
@click.option("--out", "out_path", default="policy.toml", show_default=True,
              type=click.Path(dir_okay=False), help="Where to write the recommended policy.")
@click.option("--lookback", default=4, show_default=True,
              help="Windows before an incident in which an alert counts as catching it.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@errors
def command(incidents_path: str, out_path: str, lookback: int, as_json: bool,
            **params: Any) -> None:
    """Try the presets and a grid of thresholds on history with marked incidents; print
    alerts fired, incidents caught, lead in windows and false alerts for each, and write the
    loosest setting that catches every incident as a TOML policy.

    Example: steward calibrate --model churn_model --data hist.parquet --incidents inc.csv
    """
    from pathlib import Path

    from modelsteward.monitor.calibrate import calibrate, read_incidents

    if not params.get("model"):
        raise click.UsageError("--model NAME is required")
    if not params["data"]:
        raise click.UsageError("--data PATH is required (the history to replay)")
    baseline = None
    if params["baseline_dir"]:
        from modelsteward.baseline import Baseline

        baseline = Baseline.load(params["baseline_dir"])
    data: Any = list(params["data"]) if len(params["data"]) > 1 else params["data"][0]
    window: str | int = int(params["window"]) if str(params["window"]).isdigit() \
        else params["window"]
    result = calibrate(
        params["model"], data, read_incidents(incidents_path), lookback=lookback,
        baseline=baseline, stage=params["stage"], window=window,
        tracking_uri=params["tracking_uri"], model_version=params["model_version"],
        timestamp_column=params["timestamp_column"], tz=params["tz"],
        prediction_column=params["prediction_column"], outcome_column=params["outcome_column"],
    )
    if result.recommended is not None:
        Path(out_path).write_text(result.policy_toml(), encoding="utf-8")
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "written": out_path if result.recommended
                               else None}, indent=2))
        return
    from rich.table import Table

    table = Table(title="candidates (replayed on history)")
    for col in ("candidate", "alerts sent", "caught", "lead (windows)", "false alerts"):
        table.add_column(col)
    for c in result.candidates:
        mark = " *" if result.recommended is not None and c.name == result.recommended.name \
            else ""
        table.add_row(c.name + mark, str(c.alerts_sent), f"{c.caught}/{c.incidents}",
                      ", ".join("-" if x is None else str(x) for x in c.lead_windows),
                      str(c.false_alerts))
    make_console().print(table)
    if result.recommended is None:
        click.echo("no candidate caught every incident; nothing written")
    else:
        click.echo(f"recommended: {result.recommended.name}; wrote {out_path}")
