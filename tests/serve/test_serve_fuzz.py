"""Hypothesis against a running ``steward serve``: whatever the body, never a 500.

Bodies: JSON of any shape and type, records of the model's fields holding anything, deep
nesting, numbers of hundreds of digits, NaN/Infinity literals, unicode, bytes that are not
JSON; sent with the right, a wrong or no content type. Every answer is 200 or a 4xx with a
JSON error body, and the service still answers /health afterwards.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_harness import FEATURES, ServerFactory, row

pytestmark = pytest.mark.integration

TOKEN = "fuzz-token-123"
CASES: list[int] = []

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 5),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                              max_size=4),
    max_leaves=12,
)
records = st.lists(st.fixed_dictionaries({name: values for name in FEATURES}), min_size=0,
                   max_size=4)
outcome_items = st.fixed_dictionaries({"prediction_id": values, "outcome": values})


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)  # NaN / Infinity / -Infinity literals


def _deep(n: int, kind: str) -> str:
    return ("[" * n + "]" * n) if kind == "list" else ('{"a":' * n + "1" + "}" * n)


def _huge_field(name: str, digits: int, negative: bool) -> str:
    """A valid record whose field ``name`` holds an integer of ``digits`` digits."""
    number = ("-" if negative else "") + "9" * digits
    return re.sub(f'"{name}": [^,}}]+', f'"{name}": {number}', _dumps([row()]))


json_text = st.one_of(
    values.map(_dumps),
    records.map(_dumps),
    records.map(lambda r: _dumps({"records": r})),
    st.dictionaries(st.sampled_from(list(FEATURES)), st.lists(values, max_size=3))
    .map(lambda c: _dumps({"columns": c})),
    outcome_items.map(_dumps),
    st.lists(outcome_items, max_size=4).map(_dumps),
    st.dictionaries(st.text(max_size=8), values, max_size=3).map(lambda o: _dumps(
        {"outcomes": o})),
    st.tuples(st.integers(1, 20_000), st.sampled_from(["list", "object"]))
    .map(lambda t: _deep(*t)),
    st.tuples(st.sampled_from(list(FEATURES)), st.integers(20, 4000), st.booleans())
    .map(lambda t: _huge_field(*t)),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "[1e400]", "", "{", "nul"]),
    st.text(max_size=50),
)
bodies = st.one_of(json_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                   st.binary(max_size=100))
content_types = st.one_of(
    st.just("application/json"),  # most cases get past the content-type check...
    st.just("application/json"),
    st.sampled_from(["application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "",
                     "application/x-www-form-urlencoded", "application/json5"]),  # ...not all
)


@pytest.fixture(scope="module")
def server(start_module_server: ServerFactory):  # type: ignore[no-untyped-def]
    return start_module_server(token=TOKEN)


@pytest.fixture(scope="module")
def client(server):  # type: ignore[no-untyped-def]
    with server.client() as c:
        yield c


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(route=st.sampled_from(["/predict", "/feedback"]), body=bodies,
       content_type=content_types)
def test_no_body_gets_a_500(client: httpx.Client, route: str, body: bytes,
                            content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client.post(route, content=body, headers=headers)
    CASES.append(r.status_code)
    assert r.status_code == 200 or 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    answer = r.json()
    if r.status_code != 200:
        assert isinstance(answer, dict) and isinstance(answer.get("error"), str), answer


def test_service_still_answers_after_the_fuzzing(server, client: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    assert CASES, "run with the fuzz test before this one"
    by_status: dict[int, int] = {}
    for status in CASES:
        by_status[status] = by_status.get(status, 0) + 1
    print(f"\nfuzz: {len(CASES)} requests, by status {dict(sorted(by_status.items()))}")
    assert httpx.get(server.base + "/health", timeout=10).json() == {"status": "ok"}
    assert client.post("/predict", json=[row()]).status_code == 200
    text = server.stderr_path.read_text()
    assert "Traceback" not in text, text[-3000:]
