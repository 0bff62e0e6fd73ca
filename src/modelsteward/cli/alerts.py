"""``steward alerts``: the alert episodes the monitor keeps, acknowledgements and silences.

    $ steward alerts list --open
    $ steward alerts ack 3 --reason "known upstream outage, fix deployed Monday"
    $ steward alerts silence --model churn_model --feature plan --until 2026-04-01 \\
          --reason "new pricing plan launched; retrain scheduled"

The store is the one ``steward monitor`` uses: --state URL, else ./.steward/monitor.db (for
a monitor that reads a prediction log, pass the log's URL as --state).
"""

from __future__ import annotations

import json
from typing import Any

import click

from modelsteward.cli._console import esc, make_console
from modelsteward.cli._errors import errors

__all__ = ["command"]


def _state(url: str | None, *, create: bool = False) -> Any:
    from modelsteward.monitor.state import DEFAULT_STATE, MonitorState

    if url is None and not create and not DEFAULT_STATE.exists():
        raise click.UsageError(f"no monitor state at {DEFAULT_STATE}; run `steward monitor` "
                               "first or pass --state URL")
    return MonitorState.open(url or f"sqlite:///{DEFAULT_STATE}")


_STATE = click.option("--state", "state_url", default=None,
                      help="Monitor state store URL [default: sqlite:///.steward/monitor.db].")


@click.group("alerts")
def command() -> None:
    """List alert episodes, acknowledge them, silence known changes."""


@command.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only episodes still open.")
@_STATE
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@errors
def list_(open_only: bool, state_url: str | None, as_json: bool) -> None:
    """Alert episodes (open first), with acknowledgements and active silences."""
    from datetime import UTC, datetime

    from rich.table import Table

    state = _state(state_url)
    episodes = sorted(state.episodes(open_only=open_only),
                      key=lambda e: ("open", "resolved").index(e.status)
                      if e.status in ("open", "resolved") else 2)
    silences = state.silences(at=datetime.now(UTC).isoformat())
    if as_json:
        click.echo(json.dumps({"episodes": [e.to_dict() for e in episodes],
                               "silences": silences}, indent=2, default=str))
        return
    table = Table(title="alert episodes")
    for col in ("id", "model", "alert", "severity", "since", "status", "acknowledged"):
        table.add_column(col)
    for e in episodes:
        model = e.target.split("|", 2)
        ack = f"{e.ack_by} {e.ack_at[:16]}: {e.ack_reason}" if e.ack_at else ""
        status = (f"resolved {e.resolved_label}" if e.status == "resolved" else
                  "superseded" if e.status == "superseded" else e.status)
        table.add_row(str(e.id), esc(f"{model[0]} v{model[1]}" if len(model) > 1 else model[0]),
                      esc(e.alert_key), esc(e.severity), esc(e.opened_label), esc(status),
                      esc(ack))
    console = make_console()
    console.print(table)
    for s in silences:
        console.print(esc(f"silenced: {s['model']} feature {s['feature']} until {s['until']} "
                          f"by {s['created_by']} at {s['created_at'][:16]} ({s['reason']})"))


@command.command("ack")
@click.argument("episode_id", type=int)
@click.option("--reason", required=True, help="Why no further reminders are needed.")
@_STATE
@errors
def ack(episode_id: int, reason: str, state_url: str | None) -> None:
    """Acknowledge episode ID: no reminders until its severity rises above the acked one."""
    e = _state(state_url).ack(episode_id, reason)
    click.echo(f"episode {e.id} ({e.alert_key}, {e.severity}) acknowledged by {e.ack_by}")


def _date(ctx: click.Context, param: click.Parameter, value: str) -> str:
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise click.BadParameter("use an ISO date or time, e.g. 2026-04-01") from None
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).isoformat()


@command.command("silence")
@click.option("--model", required=True, help="Registered model name.")
@click.option("--feature", required=True, help="Feature whose alerts are not sent.")
@click.option("--until", required=True, callback=_date, help="ISO date the silence ends.")
@click.option("--reason", required=True, help="The known, accepted change.")
@_STATE
@errors
def silence(model: str, feature: str, until: str, reason: str, state_url: str | None) -> None:
    """Stop sending alerts on one feature of a model until a date (still in the report)."""
    s = _state(state_url, create=True).silence(model, feature, until, reason)
    click.echo(f"silence {s['id']}: {model} feature {feature} until {until} "
               f"(by {s['created_by']})")
