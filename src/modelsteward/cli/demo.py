"""``steward demo``: the whole loop on generated data (what ``make demo`` runs).

Train and register two versions of the chapter's churn model on an embedded MLflow store,
promote them, serve twelve weeks of traffic into the prediction log with three planted
events (gradual drift, an upstream break, a concept drift) and late outcomes, monitor the
serving version week by week, write the HTML report and roll back.

    $ steward demo                      # in ./.steward/demo (wiped and rebuilt each run)
    $ steward demo --workdir /tmp/demo  # a new or empty directory, or an earlier demo's

A directory that exists, is not empty and was not made by the demo (no .steward-demo
marker file) is refused: the demo never deletes what it did not create.
"""

from __future__ import annotations

import json

import click

from modelsteward.cli._console import esc, make_console, plain

__all__ = ["command"]


@click.command("demo")
@click.option("--workdir", default=".steward/demo", show_default=True,
              type=click.Path(file_okay=False),
              help="Directory for the MLflow store, prediction log, alerts and report: new, "
                   "empty, or made by an earlier demo (then wiped first; any other non-empty "
                   "directory is refused).")
@click.option("--seed", default=42, show_default=True, help="Random seed of the data.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary at the end.")
def command(workdir: str, seed: int, as_json: bool) -> None:
    """Run the registry-to-monitor loop end to end and print what happened.

    Example: steward demo --workdir /tmp/steward-demo
    """
    from rich.table import Table

    from modelsteward.errors import StewardError
    from modelsteward.examples.demo import PLANTED, check_workdir, run_demo, week_label

    try:
        check_workdir(workdir)  # before anything is printed or touched
    except StewardError as exc:
        click.echo(f"error: {plain(exc, keep_newlines=False)}", err=True)
        raise SystemExit(2) from exc
    console = make_console(highlight=False)
    console.print("[bold]steward demo[/]: train -> register -> promote -> serve -> outcomes "
                  "-> monitor -> alert -> report -> roll back\n")
    try:
        res = run_demo(workdir, seed=seed, echo=lambda s: console.print(plain(s), markup=False))
    except StewardError as exc:
        click.echo(f"error: {plain(exc, keep_newlines=False)}", err=True)
        raise SystemExit(2) from exc

    console.print("\n[bold]alert timeline[/] (one message per window, as sent):")
    for label, title in res.report.timeline():
        console.print(plain(f"  {label}  {title}"), markup=False)
    table = Table(title="alert timeline against the planted events")
    for col in ("planted event", "planted in", "first alert sent", "lead / delay"):
        table.add_column(col)
    for kind, (week, text) in PLANTED.items():
        got = res.first_alert_week.get(kind)
        delay = "missed" if got is None else (
            "same week" if got == week else f"{got - week} week(s) later")
        table.add_row(esc(text), f"week {week} ({week_label(week)})",
                      f"week {got} ({week_label(got)})" if got else "-", delay)
    console.print(table)
    rep = res.report
    console.print(plain(f"\n6. report: {res.paths['html']}  (JSON: {res.paths['json']})"),
                  markup=False)
    console.print(plain(f"   alerts as JSON Lines: {res.workdir / 'alerts.jsonl'}"), markup=False)
    if res.production_after != rep.model_version:
        console.print(f"7. rolled back: concept drift on version {rep.model_version} -> "
                      f"Production is version {res.production_after} again", markup=False)
    else:
        console.print("7. no concept drift alert: no rollback", markup=False)
    console.print(f"\ndone in {res.seconds:.0f}s. Explore:", markup=False)
    console.print(plain(f"  steward registry --tracking-uri {res.tracking_uri} history "
                        "churn_model\n"
                  f"  steward monitor --model churn_model --log {res.log_url} --version "
                  f"{rep.model_version} --tracking-uri {res.tracking_uri}\n"
                  f"  mlflow ui --backend-store-uri {res.tracking_uri}"), markup=False)
    if as_json:
        click.echo(json.dumps({
            "workdir": str(res.workdir), "tracking_uri": res.tracking_uri,
            "log_url": res.log_url, "versions": res.versions,
            "monitored_version": rep.model_version, "production_after": res.production_after,
            "first_alert_week": res.first_alert_week, "report": str(res.paths["html"]),
            "timeline": rep.timeline(), "seconds": round(res.seconds, 1)}, indent=2))
