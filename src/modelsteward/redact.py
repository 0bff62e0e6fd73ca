"""One redaction rule for every URI and message that may hold a secret.

Passwords in ``user:pass@`` userinfo and the values of query parameters whose names look
like secrets (``token``, ``password``, ``secret``, ``key``, ``auth``, ``signature``...) are
replaced by ``***`` before a text reaches a response, a log line, a report, an alert or an
exception message::

    >>> redact_uri("http://admin:hunter2@10.0.0.5:5000/api?token=abc&x=1")
    'http://admin:***@10.0.0.5:5000/api?token=***&x=1'
    >>> redact_text("cannot reach postgresql://ml:s3cret@db/prod (timeout)")
    'cannot reach postgresql://ml:***@db/prod (timeout)'
    >>> redact_text("failed", secrets=["hunter2"]) == "failed"
    True
    >>> redact_text("bad password hunter2", secrets=["hunter2"])
    'bad password ***'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MASK", "redact_text", "redact_uri", "is_secret_name"]

MASK = "***"

_SECRET_NAME = re.compile(
    r"(pass|pwd|secret|token|key|auth|credential|signature|sig|session|cookie|bearer)",
    re.IGNORECASE,
)
# scheme://[userinfo@]rest, up to whitespace or a quote/bracket that ends a URL in prose
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>[^\s'\"<>\[\]{}()]+)")
# a query or fragment parameter: name=value (value up to & ; # or end)
_PARAM = re.compile(r"(?P<lead>[?&;#])(?P<name>[^=&;#?]+)=(?P<value>[^&;#]*)")
# headers or key=value text outside URLs: "Authorization: Bearer abc", "password=abc"
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]{4,}")
_KV = re.compile(r"(?i)\b(?P<name>[\w.\-]*(?:password|passwd|secret|token|api[_-]?key))"
                 r"(?P<sep>\s*[=:]\s*)(?P<value>[^\s&,;'\"]+)")


def is_secret_name(name: str) -> bool:
    """Whether a parameter name looks like it carries a secret.

    >>> is_secret_name("access_token"), is_secret_name("page")
    (True, False)
    """
    return bool(_SECRET_NAME.search(name))


def _redact_url_match(match: re.Match[str]) -> str:
    scheme, rest = match.group("scheme"), match.group("rest")
    # userinfo: everything before the last '@' that comes before the first '/', '?' or '#'
    cut = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1:
            cut = min(cut, i)
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        authority = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    tail = _PARAM.sub(
        lambda m: (f"{m.group('lead')}{m.group('name')}={MASK}"
                   if is_secret_name(m.group("name")) and m.group("value") else m.group(0)),
        tail,
    )
    return f"{scheme}://{authority}{tail}"


def redact_uri(uri: str) -> str:
    """The URI with the password of its userinfo and secret-looking query values masked.

    >>> redact_uri("sqlite:////tmp/x.db")
    'sqlite:////tmp/x.db'
    >>> redact_uri("https://u:p@h/?api_key=k")
    'https://u:***@h/?api_key=***'
    """
    return redact_text(uri)


def redact_text(text: object, secrets: Iterable[str | None] = ()) -> str:
    """``str(text)`` with every URL in it redacted and every known secret value masked.

    ``secrets`` are literal values to mask wherever they appear (a bearer token, a password
    taken from the environment); empty and very short values are ignored.
    """
    out = _URL.sub(_redact_url_match, str(text))
    out = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", out)
    out = _KV.sub(lambda m: f"{m.group('name')}{m.group('sep')}{MASK}"
                  if m.group("value") != MASK else m.group(0), out)
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, MASK)
    return out
