"""The one redaction rule: passwords in userinfo, secret-looking query values, known secrets."""

from __future__ import annotations

import doctest

import pytest

import modelsteward.redact as redact_module
from modelsteward.redact import MASK, redact_text, redact_uri


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("http://admin:hunter2@127.0.0.1:9", "hunter2"),
        ("https://h.example/api?token=tok-123&page=2", "tok-123"),
        ("https://h.example/?password=pw-456", "pw-456"),
        ("postgresql+psycopg://ml:s3cr3t@db:5432/prod", "s3cr3t"),
        ("http://h/?X-Amz-Signature=abcdef&X-Amz-Credential=cred99", "abcdef"),
        ("http://h/?X-Amz-Signature=abcdef&X-Amz-Credential=cred99", "cred99"),
        ("http://user:p%40ss@host/x", "p%40ss"),
        ("http://user:pa@ss@host/x", "pa@ss"),
    ],
)
def test_secret_never_survives(raw: str, secret: str) -> None:
    assert secret not in redact_uri(raw)
    message = f"Cannot reach the tracking server at {raw} (Connection refused)"
    out = redact_text(message)
    assert secret not in out
    assert MASK in out
    assert "Connection refused" in out


def test_harmless_uris_unchanged() -> None:
    for uri in ("sqlite:////tmp/a.db", "http://127.0.0.1:5000", "http://h/?page=2&sort=a",
                "file:///home/x/mlruns"):
        assert redact_uri(uri) == uri


def test_user_kept_password_masked() -> None:
    assert redact_uri("http://admin:hunter2@h:1/x") == "http://admin:***@h:1/x"


def test_bearer_and_key_value_in_prose() -> None:
    out = redact_text("header Authorization: Bearer abcdef123 and password=xyz9, token: qq12")
    assert "abcdef123" not in out and "xyz9" not in out and "qq12" not in out


def test_known_secret_values_masked_anywhere() -> None:
    assert redact_text("oops hunter2 leaked", secrets=["hunter2", None, ""]) == "oops *** leaked"


def test_docstring_examples() -> None:
    assert doctest.testmod(redact_module).failed == 0
