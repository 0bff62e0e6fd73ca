"""Policy presets, TOML overrides, sources quoted in alerts."""

from __future__ import annotations

import pytest

from modelsteward.errors import ConfigError
from modelsteward.monitor import load_policy, run_monitor
from modelsteward.monitor.policy import PRESETS


def test_presets_follow_the_chapter() -> None:
    lenient, default, strict = (load_policy(n) for n in ("lenient", "default", "strict"))
    assert (lenient.value("psi_warning"), lenient.value("ks_p_value"),
            lenient.value("null_rate")) == (0.25, 0.001, 0.10)
    assert (default.value("ks_p_value"), default.value("psi_warning"),
            default.value("psi_critical"), default.value("null_rate"),
            default.value("variance_ratio"), default.value("cardinality_ratio")) == (
        0.01, 0.1, 0.2, 0.05, 0.1, 0.3)
    for name in ("psi_warning", "psi_critical", "null_rate"):
        assert strict.value(name) < default.value(name) < lenient.value(name) or (
            strict.value(name) <= default.value(name) <= lenient.value(name))
    assert strict.value("ks_p_value") > default.value("ks_p_value") > lenient.value("ks_p_value")
    assert set(PRESETS) == {"lenient", "default", "strict"}
    assert default.source("psi_critical") == "preset default"


def test_toml_overrides_any_threshold_and_names_the_file(tmp_path) -> None:
    path = tmp_path / "team.toml"
    path.write_text('preset = "lenient"\n[thresholds]\npsi_warning = 0.15\nnull_rate = 0.2\n'
                    'notify_severity = "critical"\n')
    pol = load_policy(str(path))
    assert pol.value("psi_warning") == 0.15 and pol.source("psi_warning") == "file team.toml"
    assert pol.value("null_rate") == 0.2
    assert pol.value("ks_p_value") == 0.001 and pol.source("ks_p_value") == "preset lenient"
    assert pol.value("notify_severity") == "critical"


@pytest.mark.parametrize("body, match", [
    ("[thresholds]\npsi_warnin = 0.1\n", "unknown threshold 'psi_warnin'"),
    ("[thresholds]\nnull_rate = 1.5\n", "between 0 and 1"),
    ("[thresholds]\npsi_warning = 'high'\n", "must be a number"),
    ("[thresholds]\npsi_warning = 0.3\npsi_critical = 0.2\n", "critical must be at least"),
    ('preset = "paranoid"\n', "unknown policy"),
    ("psi_warning = \n", "not valid TOML"),
])
def test_bad_policy_files_are_config_errors(tmp_path, body: str, match: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=match):
        load_policy(path)


def test_missing_policy_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_policy(tmp_path / "nope.toml")


def test_alerts_quote_the_override_and_its_source(tmp_path, baseline, make_stream) -> None:
    path = tmp_path / "ops.toml"
    path.write_text("[thresholds]\npsi_critical = 0.5\n")
    frame = make_stream(weeks=3, shift={2: 0.7}, seed=20)
    rep = run_monitor("m", frame, baseline=baseline, sinks=[], policy=path)
    (alert,) = [a for a in rep.alerts if a.feature == "f2"]
    # PSI ~0.4: critical under default, only a warning with psi_critical = 0.5
    assert alert.severity == "warning"
    assert alert.threshold_name == "psi_warning" and alert.threshold_source == "preset default"
    rep2 = run_monitor("m", frame, baseline=baseline, sinks=[],
                   policy={"psi_warning": 0.3, "psi_critical": 0.35})
    (alert2,) = [a for a in rep2.alerts if a.feature == "f2"]
    assert alert2.severity == "critical" and alert2.threshold_source == "argument"
    assert "psi_critical 0.35 (argument)" in alert2.message


def test_lenient_is_quieter_than_strict(baseline, make_stream) -> None:
    frame = make_stream(weeks=4, shift={1: 0.2, 2: 0.35, 3: 0.5}, seed=21)
    counts = {}
    for name in ("lenient", "default", "strict"):
        rep = run_monitor("m", frame, baseline=baseline, sinks=[], policy=name)
        counts[name] = sum(1 for a in rep.alerts if a.severity != "info")
    assert counts["lenient"] < counts["default"] < counts["strict"]
