"""``steward calibrate``: replay history against marked incidents and recommend thresholds.

    $ steward calibrate --model churn_model --data 'history/*.parquet' \\
          --incidents incidents.csv --out policy.toml
    $ steward calibrate --model churn_model --log sqlite:///.steward/predictions.db \\
          --since 2026-01-05 --until 2026-04-01 --policy lenient --incidents incidents.csv

incidents.csv has a header ``window,feature`` and one marked incident per line (the window
label a human noticed it in, e.g. ``2026-W09``; feature empty or ``concept`` for concept
drift and performance drops). The history is --data files or the prediction log (--log), cut
to [--since, --until); --policy is the starting point whose PSI, KS and performance_alpha
thresholds the grid varies.
The written TOML is a policy file for ``steward monitor --policy policy.toml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from modelsteward.cli._console import esc, make_console, plain
from modelsteward.cli._errors import errors
from modelsteward.cli.monitor import data_options

__all__ = ["command", "history_source"]


def history_source(data: tuple[str, ...], log_url: str | None) -> Any:
    """The history to replay: --data path(s) or the --log URL ('default': ./.steward/...)."""
    if bool(data) == bool(log_url):
        raise click.UsageError("give exactly one of --data PATH (files) or --log URL (the "
                               "prediction log, 'default' for ./.steward/predictions.db) as "
                               "the history to replay")
    if data:
        return list(data) if len(data) > 1 else data[0]
    assert log_url is not None
    if log_url == "default":
        from modelsteward.store.prediction_log import default_log_url

        log_url = default_log_url()
    if log_url.startswith("sqlite:///") and not Path(log_url.removeprefix("sqlite:///")).exists():
        raise click.UsageError(f"the prediction log {log_url} does not exist; run `steward "
                               "serve` (or `steward demo`) first or pass --data PATH")
    from modelsteward.monitor.data import is_log_url

    if not is_log_url(log_url):
        raise click.UsageError(f"--log {log_url!r} is not a database URL; use sqlite:///PATH, "
                               "postgresql://... or 'default'")
    return log_url


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
    """Replay history (--data files or the --log prediction log, cut to --since/--until)
    under the presets and a grid of thresholds around --policy; print alerts sent, incidents
    caught, lead in windows and false alerts for each, and write the quietest setting (fewest
    alerts sent) that catches every incident as a TOML policy.

    Example: steward calibrate --model churn_model --log default --incidents inc.csv
    """
    from modelsteward.monitor.calibrate import calibrate, read_incidents

    if not params.get("model"):
        raise click.UsageError("--model NAME is required")
    baseline = None
    if params["baseline_dir"]:
        from modelsteward.baseline import Baseline

        baseline = Baseline.load(params["baseline_dir"])
    window: str | int = int(params["window"]) if str(params["window"]).isdigit() \
        else params["window"]
    result = calibrate(
        params["model"], history_source(params["data"], params["log_url"]),
        read_incidents(incidents_path), start=params["policy"], lookback=lookback,
        baseline=baseline, stage=params["stage"], window=window,
        tracking_uri=params["tracking_uri"], model_version=params["model_version"],
        timestamp_column=params["timestamp_column"], tz=params["tz"],
        since=params["since"], until=params["until"],
        prediction_column=params["prediction_column"], outcome_column=params["outcome_column"],
    )
    if result.recommended is not None:
        Path(out_path).write_text(result.policy_toml(), encoding="utf-8")
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "written": out_path if result.recommended
                               else None}, indent=2))
        return
    from rich.table import Table

    table = Table(title=esc(f"candidates replayed on {len(result.windows)} windows "
                            f"({result.windows[0]} .. {result.windows[-1]}), "
                            f"grid around {result.start}"))
    for col in ("candidate", "alerts sent", "caught", "lead (windows)", "false alerts"):
        table.add_column(col)
    for c in result.candidates:
        mark = " *" if result.recommended is not None and c.name == result.recommended.name \
            else ""
        table.add_row(esc(c.name + mark), str(c.alerts_sent), f"{c.caught}/{c.incidents}",
                      ", ".join("-" if x is None else str(x) for x in c.lead_windows),
                      str(c.false_alerts))
    make_console().print(table)
    if result.recommended is None:
        click.echo("no candidate caught every incident; nothing written")
    else:
        click.echo(plain(f"recommended: {result.recommended.name}; wrote {out_path}"))
