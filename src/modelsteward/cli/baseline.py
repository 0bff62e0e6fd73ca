"""``steward baseline fit DATA OUT_DIR`` and ``steward baseline show DIR``.

$ steward baseline fit train.parquet ./baseline --kind zip=categorical
$ steward baseline show ./baseline
"""

from __future__ import annotations

import json
import sys

import click

from modelsteward.cli._console import esc, make_console, plain
from modelsteward.errors import StewardError

__all__ = ["command"]


@click.group("baseline")
def command() -> None:
    """Fit and inspect drift baselines (the reference a model is monitored against)."""


@command.command("fit")
@click.argument("data", type=click.Path(exists=True))
@click.argument("out_dir", type=click.Path())
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    metavar="COLUMN=KIND",
    help="Override an inferred kind: numeric or categorical (repeatable).",
)
@click.option("--bins", default=10, show_default=True, type=click.IntRange(2, 1000),
              help="PSI bins (2 to 1000).")
@click.option("--joint", is_flag=True,
              help="Also fit the joint reference for the multivariate drift checks (PCA "
                   "reconstruction and domain classifier).")
@click.option("--sample-size", type=click.IntRange(50, None), default=None, metavar="N",
              help="Rows kept as the joint reference sample (default 20000; needs --joint).")
def fit(data: str, out_dir: str, kinds: tuple[str, ...], bins: int, joint: bool,
        sample_size: int | None) -> None:
    """Fit a baseline on DATA (CSV/Parquet) and save it into OUT_DIR.

    \b
    Example:
        steward baseline fit train.csv ./baseline --kind plan=categorical
        steward baseline fit train.parquet ./baseline --joint --sample-size 10000
    """
    from modelsteward.baseline import Baseline
    from modelsteward.io import read_table

    if sample_size is not None and not joint:
        raise click.UsageError("--sample-size sets the joint reference sample; add --joint")
    try:
        overrides: dict[str, str] = {}
        for item in kinds:
            name, sep, kind = item.partition("=")
            if not sep or not name or not kind:
                raise click.BadParameter(f"{item!r}: use COLUMN=numeric or COLUMN=categorical")
            overrides[name] = kind
        baseline = Baseline.fit(
            read_table(data), overrides, n_bins=bins, metadata={"source": str(data)},
            joint=joint, sample_size=20_000 if sample_size is None else sample_size,
        )
        path = baseline.save(out_dir)
    except StewardError as exc:
        click.echo(f"error: {plain(exc, keep_newlines=False)}", err=True)
        sys.exit(2)
    except OSError as exc:  # OUT_DIR is a file, not writable, disk full
        click.echo(f"error: cannot write the baseline to {plain(out_dir)} ({exc.strerror or exc}); "
                   "pass a new or empty directory you can write to", err=True)
        sys.exit(2)
    click.echo(plain(f"baseline of {len(baseline.columns)} columns saved to {path}"))


@command.command("show")
@click.argument("directory", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def show(directory: str, as_json: bool) -> None:
    """Print the profiles of a saved baseline.

    \b
    Example:
        steward baseline show ./baseline
    """
    from rich.table import Table

    from modelsteward.baseline import Baseline

    try:
        baseline = Baseline.load(directory)
    except StewardError as exc:
        click.echo(f"error: {plain(exc, keep_newlines=False)}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(baseline.to_dict(), indent=2))
        return
    table = Table(title=esc(f"Baseline {directory} ({baseline.created_at:%Y-%m-%d %H:%M} UTC)"))
    for col in ("column", "kind", "rows", "null %", "distinct", "mean", "std", "min", "max"):
        table.add_column(col, justify="left" if col in ("column", "kind") else "right")
    for p in baseline.columns.values():
        numeric = p.kind == "numeric"
        table.add_row(
            esc(p.name),
            esc(p.kind),
            str(p.n_rows),
            f"{p.null_rate:.1%}",
            str(p.n_distinct),
            f"{p.mean:.4g}" if numeric else "",
            f"{p.variance**0.5:.4g}" if numeric else "",
            f"{p.minimum:.4g}" if numeric else "",
            f"{p.maximum:.4g}" if numeric else "",
        )
    make_console().print(table)
    if baseline.concept is not None:
        c = baseline.concept
        click.echo(
            f"concept reference: correlation {c.correlation:.4f} on {c.n} rows ({c.task}), "
            + ", ".join(f"{k} {v:.4f}" for k, v in c.metrics.items())
        )
    if baseline.joint is not None:
        j = baseline.joint
        click.echo(plain(
            f"joint reference: {len(j.columns)} columns ({j.encoded_dim} encoded), "
            f"{j.n_components} components explaining "
            f"{float(j.explained_variance_ratio.sum()):.1%} of the variance "
            f"(target {j.variance_share:.0%}), sample of {j.sample.shape[0]} rows "
            f"(size {j.sample_size}), PCA fitted on {j.n_fit_rows} rows, held-out error on "
            f"{j.heldout_errors.size}"))
        for note in j.notes:
            click.echo(plain(f"  note: {note}"))
