"""``steward report``: write the JSON and the self-contained HTML report of a monitoring run.

    $ steward report --model churn_model --data 'prod/*.parquet' --out reports/
    $ steward report --from reports/report.json --out html/     # re-render a saved report
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from modelsteward.cli._console import plain
from modelsteward.cli._errors import errors
from modelsteward.cli.monitor import EXIT_UNDELIVERED, data_options, run_monitor, sink_options
from modelsteward.errors import ConfigError, StewardError

__all__ = ["command"]


def _rerender(source: str, out_dir: str) -> dict[str, Path]:
    from modelsteward.report import write_report

    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{source} does not exist; pass the report.json of a run") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{source} is a directory; pass the report.json of a run") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source} is not JSON ({exc}); pass the report.json of a run") from exc
    except RecursionError:
        raise ConfigError(f"{source} is nested too deeply to be a report; pass the "
                          "report.json of a run") from None
    if not isinstance(data, dict) or data.get("kind") != "modelsteward.monitor_report":
        raise ConfigError(f"{source} is not a modelsteward monitor report (report.json)")
    try:
        return write_report(data, out_dir)
    except StewardError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError,
            RecursionError) as exc:
        raise ConfigError(f"{source} is not a complete modelsteward monitor report "
                          f"({type(exc).__name__}: {str(exc)[:200]}); re-run steward report "
                          "to write a new one") from None


@click.command("report")
@data_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for report.json and report.html.")
@click.option("--from", "from_json", default=None, type=click.Path(dir_okay=False),
              help="Re-render a saved report.json instead of monitoring.")
@click.option("--sink", "sinks", multiple=True, help="Also send alerts to these sinks.")
@click.option("--json", "as_json", is_flag=True, help="Print the written paths as JSON.")
@sink_options
@errors
def command(out_dir: str, from_json: str | None, sinks: tuple[str, ...], as_json: bool,
            **params: Any) -> None:
    """Monitor the serving version and write report.json and report.html into --out.

    The HTML file is self-contained (inline SVG, no scripts, no network): alerts first,
    the model version, features worst first, distributions of flagged features, PSI over
    windows and the concept-drift panel.

    Exit status: 0 written; 2 an error; 3 written, but some notifications to --sink were not
    delivered (kept in the outbox, retried first on the next run).

    Example: steward report --model churn_model --data prod.parquet --out reports/
    """
    undelivered = 0
    if from_json:
        paths = _rerender(from_json, out_dir)
    else:
        report = run_monitor(params, list(sinks))
        paths = report.write(out_dir)
        undelivered = len(getattr(report, "undelivered", ()))
    if as_json:
        click.echo(json.dumps({k: str(v) for k, v in paths.items()}))
    else:
        click.echo(plain(f"wrote {paths['json']}\nwrote {paths['html']}"))
    if undelivered:  # the same status as steward monitor
        click.echo(f"{undelivered} notification{'s' if undelivered != 1 else ''} not delivered "
                   "(kept in the outbox, retried on the next run)", err=True)
        sys.exit(EXIT_UNDELIVERED)
