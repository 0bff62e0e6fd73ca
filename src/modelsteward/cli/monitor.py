"""``steward monitor``: check production data window by window against the serving model.

    $ steward monitor --model churn_model --data 'prod/*.parquet'
    $ steward monitor --model churn_model --log sqlite:///.steward/predictions.db --window 1D
    $ steward monitor --model churn_model --policy team.toml --sink slack:https://hooks... --json

Without --data or --log the default prediction log (./.steward/predictions.db) is read.
Without --tracking-uri or MLFLOW_TRACKING_URI the embedded registry under ./.steward/ is used.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from modelsteward.cli._console import esc, make_console, plain
from modelsteward.cli._errors import errors

__all__ = ["EXIT_UNDELIVERED", "command", "data_options", "run_monitor", "sink_options",
           "state_options"]

F = TypeVar("F", bound=Callable[..., Any])

#: Exit status when notifications could not be delivered (they wait in the outbox).
EXIT_UNDELIVERED = 3


def _performance_cell(perf: Any) -> str:
    """``roc_auc 0.812 (est 0.861) concept drift`` for the first watched metric."""
    if perf is None or not perf.checks:
        return ""
    c = perf.checks[0]
    parts = [c.metric, f"{c.value:.3f}" if c.value is not None else "n/a"]
    if c.estimated is not None:
        parts.append(f"(est {c.estimated:.3f})")
    if perf.diagnosis.kind != "ok":
        parts.append(perf.diagnosis.kind.replace("_", " "))
    return " ".join(parts)

def _positive_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not (value > 0 and math.isfinite(value)):
        raise click.BadParameter("must be a positive number of seconds (e.g. 30)")
    return value


def sink_options(func: F) -> F:
    """--sink-deadline and --outbox: how long sinks may take and where undelivered waits."""
    opts = [
        click.option("--sink-deadline", default=30.0, show_default=True, type=float,
                     callback=_positive_seconds,
                     help="Seconds all sink deliveries of this run may take together; what "
                          "is not delivered by then waits in the outbox."),
        click.option("--outbox", "outbox", default=None, type=click.Path(dir_okay=False),
                     help="With --state none: JSON Lines file keeping undelivered "
                          "notifications for the next run. With a state store, an existing "
                          "outbox file is moved into the store."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def state_options(func: F) -> F:
    """--state, --include-partial, --rerun, --now: what ``monitor`` remembers between runs."""
    opts = [
        click.option("--state", "state", default=None,
                     help="Monitor state store URL (windows checked, alert episodes, outbox) "
                          "[default: the --log database, else sqlite:///.steward/monitor.db]; "
                          "'none' replays everything and remembers nothing."),
        click.option("--include-partial", is_flag=True,
                     help="Also check the still-open current window (not recorded; a later "
                          "run checks it again when it is complete)."),
        click.option("--rerun", is_flag=True,
                     help="Recompute windows already checked inside --since/--until (and say "
                          "which were replaced)."),
        click.option("--now", "now", default=None, hidden=False,
                     help="Pretend the time is this (ISO): later rows have not arrived, later "
                          "windows are open. For backfills and tests."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def data_options(func: F) -> F:
    """The options ``monitor`` and ``report`` share."""
    opts = [
        click.option("--model", "model", default=None, help="Registered model name (required)."),
        click.option("--stage", default="production", show_default=True,
                     help="Stage whose serving version is checked."),
        click.option("--version", "model_version", default=None,
                     help="Check this version instead of the one in --stage."),
        click.option("--data", "data", multiple=True,
                     help="CSV/Parquet file, directory or glob (repeatable)."),
        click.option("--log", "log_url", default=None,
                     help="Prediction-log URL (sqlite:///... or postgresql://...); "
                          "'default' for ./.steward/predictions.db."),
        click.option("--window", default="7D", show_default=True,
                     help="7D / W (calendar weeks), 1D, 1h, or a row count like 5000."),
        click.option("--policy", default="default", show_default=True,
                     help="lenient, default, strict, or a .toml file of overrides."),
        click.option("--baseline", "baseline_dir", default=None,
                     type=click.Path(exists=True, file_okay=False),
                     help="A saved Baseline directory (skips the registry lookup)."),
        click.option("--timestamp-column", default="timestamp", show_default=True),
        click.option("--prediction-column", default="prediction", show_default=True),
        click.option("--outcome-column", default="outcome", show_default=True),
        click.option("--since", default=None, help="Only rows at or after this time (ISO)."),
        click.option("--until", default=None, help="Only rows before this time (ISO)."),
        click.option("--tz", default="UTC", show_default=True,
                     help="Time zone of calendar window edges."),
        click.option("--tracking-uri", default=None, help="MLflow tracking URI."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def run_monitor(params: dict[str, Any], sinks: list[str] | None) -> Any:
    """Call :func:`modelsteward.run_monitor` from the shared options."""
    from modelsteward.monitor import run_monitor as _run_monitor

    data: Any
    if not params.get("model"):
        raise click.UsageError("--model NAME is required (the registered model to check)")
    if params["data"] and params["log_url"]:
        raise click.UsageError("give --data or --log, not both")
    if params["data"]:
        data = list(params["data"]) if len(params["data"]) > 1 else params["data"][0]
    else:
        url = params["log_url"]
        if url in (None, "default"):
            from modelsteward.store.prediction_log import default_log_url

            url = default_log_url()
            db = Path(url.removeprefix("sqlite:///"))
            if url.startswith("sqlite:///") and not db.exists():
                raise click.UsageError(f"no --data given and the default prediction log {db} "
                                       "does not exist; pass --data PATH or --log URL")
        data = url
    baseline = None
    if params["baseline_dir"]:
        from modelsteward.baseline import Baseline

        baseline = Baseline.load(params["baseline_dir"])
    window: str | int = params["window"]
    if str(window).isdigit():
        window = int(window)
    outbox = params.get("outbox")
    state: Any = None
    legacy: Any = None
    if "state" in params and (params["state"] or "").lower() != "none":
        from modelsteward.monitor.outbox import default_outbox_path
        from modelsteward.monitor.state import default_state_url

        state = params["state"] or default_state_url(data)
        legacy, outbox = Path(outbox) if outbox else default_outbox_path(data), None
    elif outbox is None and sinks and any(s.strip().lower() != "console" for s in sinks):
        from modelsteward.monitor.outbox import default_outbox_path

        outbox = default_outbox_path(data)
    return _run_monitor(
        params["model"], data, stage=params["stage"], window=window, policy=params["policy"],
        tracking_uri=params["tracking_uri"], baseline=baseline,
        model_version=params["model_version"], sinks=sinks,
        timestamp_column=params["timestamp_column"],
        prediction_column=params["prediction_column"], outcome_column=params["outcome_column"],
        since=params["since"], until=params["until"], tz=params["tz"],
        sink_deadline=params.get("sink_deadline"), outbox=outbox, state=state,
        now=params.get("now"), include_partial=bool(params.get("include_partial")),
        rerun=bool(params.get("rerun")), legacy_outbox=legacy,
    )


def print_summary(report: Any) -> None:
    """The windows table, skipped rows, the alert timeline and the delivery summary."""
    from rich.table import Table

    console = make_console()
    table = Table(title=esc(f"{report.model_name} version {report.model_version} "
                            f"({report.stage}): {report.window} windows, policy "
                            f"{report.policy.name}"))
    for col in ("window", "rows", "status", "worst", "alerts", "top feature (PSI)",
                "correlation", "coverage", "performance", "skipped"):
        table.add_column(col)
    colors = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
    for w in report.windows:
        sev = max((a.severity for a in w.alerts),
                  key=lambda s: ("info", "warning", "critical").index(s), default="")
        top = next((f for f in w.features if f.psi is not None), None)
        c = w.concept
        table.add_row(
            esc(w.label), str(w.n_rows), esc(w.status),
            f"[{colors.get(sev, '')}]{esc(sev)}[/]" if sev else "", str(len(w.alerts)),
            esc(f"{top.feature} ({top.psi:.3f})") if top else "",
            f"{c.correlation:.3f}" if c and c.correlation is not None else "",
            f"{c.coverage:.0%}" if c else "",
            esc(_performance_cell(w.performance)),
            str(sum(w.skipped.values())) if w.skipped else "",
        )
    console.print(table)

    def say(text: str) -> None:
        console.print(plain(text), markup=False, highlight=False)

    for w in report.windows:
        for reason, n in sorted(w.skipped.items(), key=lambda kv: -kv[1]):
            say(f"{w.label}: {n} row{'s' if n != 1 else ''} skipped: {reason}")
    if report.notifications:
        console.print("[bold]Alert timeline[/] (what was sent):")
        for n in report.notifications:
            say(f"  {n.window_label}: {n.title}")
    else:
        console.print("No alert reached the notification threshold.")
    for f in report.sink_failures:
        say(f"sink {f['sink']} failed in {f['window_label']}: {f['error']}"
            + (" (delivered later)" if f["delivered_later"] else ""))
    for w in report.warnings:
        say(f"note: {w}")
    if report.outbox_delivered:
        say(f"{report.outbox_delivered} notification(s) of earlier runs delivered from the "
            f"outbox {report.outbox}")
    if getattr(report, "target", None):
        if report.already_checked:
            say(f"{report.already_checked} window(s) already checked by earlier runs "
                f"(state {report.state_url}); only new windows were checked")
        if report.replaced:
            say(f"--rerun replaced the results of {len(report.replaced)} window(s): "
                + ", ".join(report.replaced))
        for label in report.in_progress:
            say(f"{label}: in progress (window still open, no alert raised)")
        for text in report.late_labels:
            say(f"late labels re-judged: {text}")
        if report.silences or report.acks:
            console.print(_people_table(report))
    if report.undelivered:
        n = len(report.undelivered)
        where = (f"kept in the outbox {report.outbox}, retried on the next run"
                 if report.outbox else "not kept: no outbox")
        say(f"{n} notification{'s' if n != 1 else ''} not delivered ({where})")


def _people_table(report: Any) -> Any:
    """Silences and acknowledgements: what, who, when, until, why."""
    from rich.table import Table

    table = Table(title="silences and acknowledgements")
    for col in ("kind", "what", "by", "when", "until", "reason"):
        table.add_column(col)
    for s in report.silences:
        table.add_row("silenced", esc(f"feature {s['feature']}"), esc(s["created_by"]),
                      esc(str(s["created_at"])[:16]), esc(str(s["until"])[:16]), esc(s["reason"]))
    for a in report.acks:
        table.add_row("acknowledged", esc(f"episode {a['id']} {a['alert_key']} "
                                          f"({a['ack_severity']})"),
                      esc(a["ack_by"]), esc(str(a["ack_at"])[:16]),
                      "severity rises", esc(a["ack_reason"]))
    return table


@click.command("monitor")
@data_options
@click.option("--sink", "sinks", multiple=True,
              help="console, jsonl:PATH, webhook:URL, slack:URL or mlflow (repeatable); "
                   "default: console (none with --json).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--report-dir", default=None, type=click.Path(file_okay=False),
              help="Also write report.json and report.html here.")
@click.option("--fail-on", type=click.Choice(["none", "warning", "critical"]), default="none",
              show_default=True, help="Exit 1 when an alert this severe is open at the end.")
@click.option("--every", default=None, callback=lambda c, p, v: _interval(v),
              help="Keep running: check again every INTERVAL (30m, 1h, 1d) until SIGTERM or "
                   "Ctrl-C; runs never overlap; a heartbeat is kept in the state store.")
@sink_options
@state_options
@errors
def command(sinks: tuple[str, ...], as_json: bool, report_dir: str | None, fail_on: str,
            every: float | None, **params: Any) -> None:
    """Run data-drift, degradation and concept-drift checks per window against the baseline
    of the model version serving --stage, send alerts, and print a summary.

    Rows that cannot be used (an infinite or text outcome, features that are not JSON, a
    prediction that is not a number) are skipped and counted per window, never fatal.

    \b
    Exit status: 0 ok; 1 an alert at --fail-on severity is open; 2 an error (one line on
    stderr); 3 some notifications were not delivered (kept in the outbox, retried first on
    the next run).

    Example: steward monitor --model churn_model --data 'prod/2026-*.parquet' --window 7D
    """
    if every is not None:
        _loop(every, sinks, as_json, report_dir, fail_on, params)
        return
    code = _once(sinks, as_json, report_dir, fail_on, params)
    if code:
        sys.exit(code)


def _interval(value: str | None) -> float | None:
    if value is None:
        return None
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value.lower())
    if not m or float(m.group(1)) <= 0:
        raise click.BadParameter("use a duration such as 30m, 1h or 1d", param_hint="--every")
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _state_url(params: dict[str, Any]) -> str | None:
    """The state store a run with these options uses (None: --state none)."""
    from modelsteward.monitor.state import default_state_url

    if (params.get("state") or "").lower() == "none":
        return None
    if params.get("state"):
        return str(params["state"])
    if params.get("data"):
        return default_state_url(None)
    url = params.get("log_url")
    if url in (None, "default"):
        from modelsteward.store.prediction_log import default_log_url

        url = default_log_url()
    return default_state_url(url)


def _loop(every: float, sinks: tuple[str, ...], as_json: bool, report_dir: str | None,
          fail_on: str, params: dict[str, Any]) -> None:
    """Run, wait, run again; SIGTERM or SIGINT end the loop after the current run."""
    import os
    import signal
    import threading
    from datetime import UTC, datetime, timedelta

    from modelsteward.errors import StewardError
    from modelsteward.monitor.state import MonitorState, who

    url = _state_url(params)
    if url is None:
        raise click.UsageError("--every needs a state store (it remembers between runs); "
                               "drop --state none")
    if params.get("now"):
        raise click.UsageError("--every runs on the clock; drop --now")
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    process = f"{who()}:{os.getpid()}"
    started = datetime.now(UTC).isoformat()
    try:
        while not stop.is_set():
            try:
                status = f"exit {_once(sinks, as_json, report_dir, fail_on, params)}"
            except StewardError as exc:  # one bad run (busy, store down) does not end the loop
                from modelsteward.redact import redact_text

                status = redact_text(f"error: {exc}")
                click.echo(status, err=True)
            next_at = (datetime.now(UTC) + timedelta(seconds=every)).isoformat()
            try:
                MonitorState.open(url).beat(process, started, status, next_at)
            except StewardError as exc:
                click.echo(f"error: heartbeat not recorded: {exc}", err=True)
            if not stop.is_set():
                click.echo(f"next run at {next_at[:19]}Z (SIGTERM or Ctrl-C stops)", err=True)
            stop.wait(every)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("stopped (SIGTERM/SIGINT): the last run had finished", err=True)


def _once(sinks: tuple[str, ...], as_json: bool, report_dir: str | None, fail_on: str,
          params: dict[str, Any]) -> int:
    """One monitoring run; returns its exit status."""
    chosen = list(sinks) if sinks else ([] if as_json else ["console"])
    report = run_monitor(params, chosen)
    undelivered = len(getattr(report, "undelivered", ()))
    if report_dir:
        paths = report.write(report_dir)
    if as_json:
        from modelsteward.report import render_json

        click.echo(render_json(report))  # strict JSON, secrets masked
    else:
        print_summary(report)
        if report_dir:
            click.echo(f"report: {paths['html']}")
    if fail_on != "none":
        rank = {"warning": 2, "critical": 3}[fail_on]
        worst = max((("info", "warning", "critical").index(a.severity) + 1
                     for a in report.open_alerts), default=0)
        if worst >= rank and not undelivered:
            return 1
    return EXIT_UNDELIVERED if undelivered else 0
