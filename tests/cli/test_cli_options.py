"""Every option a ``steward`` command shows is exercised by a test (issue 14).

The walk covers every command and subcommand of ``modelsteward.cli.main``; each option
(click.Option, --help aside) needs an entry in ``OPTION_TESTS`` naming a test, as
``path under tests/::test_function``, whose source (decorators included) passes the flag.
Adding an option: add one line here and, if no test passes it yet, a test (the parametrised
ones in ``test_cli_option_effects.py`` take one line per option).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import click

from modelsteward.cli import main

TESTS = Path(__file__).resolve().parents[1]
EFFECTS = "cli/test_cli_option_effects.py::"
CALIBRATE = "monitor/test_monitor_calibrate.py::"
MONITOR_CLI = "monitor/test_monitor_cli.py::"
DRIFT_CLI = "drift/test_drift_cli.py::"
REGISTRY_CLI = "registry/test_registry_cli.py::"
OUTBOX = "monitor/test_monitor_outbox.py::"
SERVE_UNITS = "serve/test_serve_hardening_units.py::"
STATE = "monitor/test_monitor_state.py::"
RETENTION = "store/test_store_retention.py::"

# (command path, option) -> the test that passes it
OPTION_TESTS: dict[tuple[str, str], str] = {
    ("steward", "--version"): EFFECTS + "test_version_option",
    # baseline, drift
    ("steward baseline fit", "--kind"): DRIFT_CLI + "test_baseline_fit_show_then_drift_against_it",
    ("steward baseline fit", "--bins"): EFFECTS + "test_baseline_fit_bins_option",
    ("steward baseline fit", "--joint"): EFFECTS + "test_baseline_fit_joint_and_sample_size",
    ("steward baseline fit", "--sample-size"):
        EFFECTS + "test_baseline_fit_joint_and_sample_size",
    ("steward baseline show", "--json"): DRIFT_CLI + "test_baseline_fit_show_then_drift_against_it",
    ("steward drift", "--p-threshold"): DRIFT_CLI + "test_drift_table_and_threshold",
    ("steward drift", "--json"): DRIFT_CLI + "test_drift_json_worst_first",
    # calibrate
    ("steward calibrate", "--model"): CALIBRATE + "test_calibrate_command",
    ("steward calibrate", "--stage"): EFFECTS + "test_data_options_reach_the_call",
    ("steward calibrate", "--version"): EFFECTS + "test_data_options_reach_the_call",
    ("steward calibrate", "--data"): CALIBRATE + "test_calibrate_command",
    ("steward calibrate", "--log"): CALIBRATE + "test_calibrate_command_replays_the_prediction_log",
    ("steward calibrate", "--window"): EFFECTS + "test_data_options_reach_the_call",
    ("steward calibrate", "--policy"): CALIBRATE + "test_calibrate_command_grid_starts_from_policy",
    ("steward calibrate", "--baseline"): CALIBRATE + "test_calibrate_command",
    ("steward calibrate", "--timestamp-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward calibrate", "--prediction-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward calibrate", "--outcome-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward calibrate", "--since"):
        CALIBRATE + "test_calibrate_command_since_until_cut_the_replayed_windows",
    ("steward calibrate", "--until"):
        CALIBRATE + "test_calibrate_command_since_until_cut_the_replayed_windows",
    ("steward calibrate", "--tz"): EFFECTS + "test_data_options_reach_the_call",
    ("steward calibrate", "--tracking-uri"): EFFECTS + "test_data_options_reach_the_call",
    ("steward calibrate", "--incidents"): CALIBRATE + "test_calibrate_command",
    ("steward calibrate", "--out"): CALIBRATE + "test_calibrate_command",
    ("steward calibrate", "--lookback"): EFFECTS + "test_calibrate_lookback_option",
    ("steward calibrate", "--json"):
        CALIBRATE + "test_calibrate_command_replays_the_prediction_log",
    # demo
    ("steward demo", "--workdir"): EFFECTS + "test_demo_options_reach_run_demo",
    ("steward demo", "--seed"): EFFECTS + "test_demo_options_reach_run_demo",
    ("steward demo", "--json"): EFFECTS + "test_demo_options_reach_run_demo",
    # monitor
    ("steward monitor", "--model"): MONITOR_CLI + "test_monitor_json_and_fail_on",
    ("steward monitor", "--stage"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--version"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--data"): MONITOR_CLI + "test_monitor_json_and_fail_on",
    ("steward monitor", "--log"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--window"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--policy"): MONITOR_CLI + "test_monitor_errors_are_one_line_exit_2",
    ("steward monitor", "--baseline"): MONITOR_CLI + "test_monitor_json_and_fail_on",
    ("steward monitor", "--timestamp-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--prediction-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--outcome-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--since"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--until"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--tz"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--tracking-uri"): EFFECTS + "test_data_options_reach_the_call",
    ("steward monitor", "--sink"): MONITOR_CLI + "test_monitor_json_and_fail_on",
    ("steward monitor", "--json"): MONITOR_CLI + "test_monitor_json_and_fail_on",
    ("steward monitor", "--report-dir"): EFFECTS + "test_monitor_report_dir_option",
    ("steward monitor", "--fail-on"): MONITOR_CLI + "test_monitor_json_and_fail_on",
    # registry
    ("steward registry", "--tracking-uri"): REGISTRY_CLI + "test_cli_round_trip",
    ("steward registry card", "--from-file"): REGISTRY_CLI + "test_cli_round_trip",
    ("steward registry card", "--json"): REGISTRY_CLI + "test_cli_round_trip",
    ("steward registry history", "--version"): EFFECTS + "test_registry_options_reach_the_registry",
    ("steward registry history", "--json"): REGISTRY_CLI + "test_cli_round_trip",
    ("steward registry list", "--json"): REGISTRY_CLI + "test_cli_round_trip",
    ("steward registry promote", "--reason"): REGISTRY_CLI + "test_cli_round_trip",
    ("steward registry promote", "--force"):
        REGISTRY_CLI + "test_cli_promote_without_card_says_how_to_add_one",
    ("steward registry promote", "--json"): REGISTRY_CLI + "test_cli_round_trip",
    ("steward registry rollback", "--reason"): REGISTRY_CLI + "test_cli_round_trip",
    ("steward registry rollback", "--json"): EFFECTS + "test_registry_options_reach_the_registry",
    ("steward registry show", "--stage"): EFFECTS + "test_registry_options_reach_the_registry",
    ("steward registry show", "--version"): EFFECTS + "test_registry_options_reach_the_registry",
    ("steward registry show", "--json"): REGISTRY_CLI + "test_cli_round_trip",
    # report
    ("steward report", "--model"): MONITOR_CLI + "test_report_writes_and_rerenders",
    ("steward report", "--stage"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--version"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--data"): MONITOR_CLI + "test_report_writes_and_rerenders",
    ("steward report", "--log"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--window"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--policy"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--baseline"): MONITOR_CLI + "test_report_writes_and_rerenders",
    ("steward report", "--timestamp-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--prediction-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--outcome-column"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--since"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--until"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--tz"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--tracking-uri"): EFFECTS + "test_data_options_reach_the_call",
    ("steward report", "--out"): MONITOR_CLI + "test_report_writes_and_rerenders",
    ("steward report", "--from"): MONITOR_CLI + "test_report_writes_and_rerenders",
    ("steward report", "--sink"): EFFECTS + "test_sink_option_reaches_monitor",
    ("steward monitor", "--state"): STATE + "test_run_twice_the_second_run_sends_nothing",
    ("steward monitor", "--now"): STATE + "test_run_twice_the_second_run_sends_nothing",
    ("steward monitor", "--include-partial"):
        STATE + "test_open_window_is_in_progress_unless_include_partial",
    ("steward monitor", "--rerun"):
        STATE + "test_rerun_recomputes_a_range_and_says_what_it_replaced",
    ("steward monitor", "--every"):
        STATE + "test_every_runs_as_a_service_with_a_heartbeat_and_stops_on_sigterm",
    ("steward alerts list", "--open"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts list", "--state"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts list", "--json"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts ack", "--reason"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts ack", "--state"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts silence", "--model"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts silence", "--feature"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts silence", "--until"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts silence", "--reason"): STATE + "test_ack_silence_and_escalation",
    ("steward alerts silence", "--state"): STATE + "test_ack_silence_and_escalation",
    ("steward log export", "--log"): RETENTION + "test_log_export_and_prune_commands",
    ("steward log export", "--model"): RETENTION + "test_log_export_and_prune_commands",
    ("steward log export", "--since"): RETENTION + "test_log_export_and_prune_commands",
    ("steward log export", "--until"): RETENTION + "test_log_export_and_prune_commands",
    ("steward log export", "--to"): RETENTION + "test_log_export_and_prune_commands",
    ("steward log prune", "--log"): RETENTION + "test_log_export_and_prune_commands",
    ("steward log prune", "--older-than"): RETENTION + "test_log_export_and_prune_commands",
    ("steward log prune", "--dry-run"): RETENTION + "test_log_export_and_prune_commands",
    ("steward log prune", "--json"): RETENTION + "test_log_export_and_prune_commands",
    ("steward monitor", "--outbox"): OUTBOX + "test_down_webhook_outbox_on_disk_retried_next_run",
    ("steward monitor", "--sink-deadline"):
        OUTBOX + "test_down_webhook_outbox_on_disk_retried_next_run",
    ("steward report", "--outbox"): OUTBOX + "test_report_with_a_down_sink_writes_and_exits_3",
    ("steward report", "--sink-deadline"):
        OUTBOX + "test_report_with_a_down_sink_writes_and_exits_3",
    ("steward serve", "--allowed-hosts"): SERVE_UNITS + "test_token_sources_and_non_loopback_binds",
    ("steward serve", "--insecure-no-token"):
        SERVE_UNITS + "test_token_sources_and_non_loopback_binds",
    ("steward serve", "--token-file"): SERVE_UNITS + "test_token_sources_and_non_loopback_binds",
    ("steward serve", "--allow-unverified"):
        EFFECTS + "test_serve_allow_unverified_reaches_workers",
    ("steward report", "--json"): MONITOR_CLI + "test_report_writes_and_rerenders",
    # serve
    ("steward serve", "--model"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--stage"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--log"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--host"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--port"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--workers"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--token"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--tracking-uri"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--poll-interval"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--max-body-mb"): EFFECTS + "test_serve_options_reach_the_server",
    ("steward serve", "--log-level"): EFFECTS + "test_serve_options_reach_the_server",
}


def _flag(option: click.Option) -> str:
    long = [o for o in option.opts if o.startswith("--")]
    return long[0] if long else option.opts[0]


def walk_options(command: click.Command, path: str = "steward",
                 parent: click.Context | None = None) -> set[tuple[str, str]]:
    """(command path, flag) of every option of ``command`` and its subcommands."""
    found = {(path, _flag(p)) for p in command.params
             if isinstance(p, click.Option) and p.name != "help"}
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path.rsplit(" ", 1)[-1], parent=parent)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} lists {name} but cannot load it"
            found |= walk_options(sub, f"{path} {name}", ctx)
    return found


@cache
def _functions(relpath: str) -> dict[str, str]:
    """Test function name (``Class::name`` in classes) -> its source with decorators."""
    path = TESTS / relpath
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out: dict[str, str] = {}

    def add(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                add(child, f"{prefix}{child.name}::")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and child.name.startswith("test"):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                out[prefix + child.name] = "\n".join(lines[first - 1:child.end_lineno])

    add(ast.parse(text), "")
    return out


def bad_entries(table: dict[tuple[str, str], str]) -> list[str]:
    """Entries whose test does not exist or never passes the option."""
    problems = []
    for (path, flag), ref in sorted(table.items()):
        relpath, sep, name = ref.partition("::")
        if not sep:
            problems.append(f"{path} {flag}: {ref!r} is not 'file.py::test_name'")
            continue
        source = _functions(relpath).get(name)
        if source is None:
            problems.append(f"{path} {flag}: no test {name} in tests/{relpath}")
        elif f'"{flag}"' not in source and f"'{flag}'" not in source:
            problems.append(f"{path} {flag}: tests/{relpath}::{name} never passes {flag}")
    return problems


def test_every_option_of_every_command_has_a_test() -> None:
    missing = sorted(walk_options(main) - set(OPTION_TESTS))
    assert not missing, ("options without a test; add a test that passes each and a line to "
                         "OPTION_TESTS in tests/cli/test_cli_options.py (or remove the option):\n"
                         + "\n".join(f'    ("{p}", "{f}"): EFFECTS + "test_...",'
                                     for p, f in missing))


def test_every_entry_names_an_option_that_exists() -> None:
    stale = sorted(set(OPTION_TESTS) - walk_options(main))
    assert not stale, f"OPTION_TESTS names options no command has; remove them: {stale}"


def test_every_entry_names_a_test_that_passes_its_option() -> None:
    problems = bad_entries(OPTION_TESTS)
    assert not problems, "\n".join(problems)


def test_the_checks_catch_a_new_option_and_a_wrong_entry() -> None:
    @click.group("steward")
    @click.option("--verbose", is_flag=True)
    def group(verbose: bool) -> None: ...

    @group.command("sub")
    @click.option("--fresh", "-f", default=None)
    def sub(fresh: str | None) -> None: ...

    assert walk_options(group) == {("steward", "--verbose"), ("steward sub", "--fresh")}
    problems = bad_entries({
        ("steward sub", "--fresh"): "cli/test_cli_options.py::test_that_does_not_exist",
        ("steward", "--verbose"): "nowhere/test_none.py::test_x",
        ("steward sub", "--lookback"): EFFECTS + "test_version_option",
        ("steward calibrate", "--lookback"): EFFECTS + "test_calibrate_lookback_option",
        ("steward x", "--y"): "no separator",
    })
    assert len(problems) == 4 and all(p.startswith("steward ") for p in problems)
    assert any("never passes --lookback" in p for p in problems)
