"""Request bodies checked against the model signature, turned into typed columns.

A body is a list of records, ``{"records": [...]}`` or ``{"columns": {name: [...]}}``.
Errors name the field, the row and the expected type::

    >>> schema = InputSchema.from_spec([("age", "double", True), ("plan", "string", True)])
    >>> batch = schema.parse([{"age": 41, "plan": "b"}])
    >>> batch.n_rows, batch.columns["age"]
    (1, [41.0])
    >>> try:
    ...     schema.parse([{"age": "old", "plan": "b"}])
    ... except RequestValidationError as exc:
    ...     print(exc)
    row 0, field 'age': expected double (a number), got string 'old'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.errors import DataError

__all__ = ["InputSchema", "ParsedBatch", "RequestValidationError", "FieldSpec"]


class RequestValidationError(DataError):
    """A request body does not match the model signature (answered with 422)."""

    def __init__(self, message: str, *, field: str | None = None, expected: str | None = None,
                 row: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.expected = expected
        self.row = row

    def to_dict(self) -> dict[str, Any]:
        return {"error": str(self), "field": self.field, "expected": self.expected,
                "row": self.row}


_BOOL = (bool, np.bool_)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# mlflow type name -> (accepts value?, converts value, description, pandas dtype)
def _to_float(v: Any) -> float:
    return float(v)


def _to_int(v: Any) -> int:
    return int(v)


_TYPES: dict[str, tuple[Any, Any, str, str | None]] = {
    "double": (_is_number, _to_float, "double (a number)", "float64"),
    "float": (_is_number, _to_float, "float (a number)", "float32"),
    "long": (
        lambda v: _is_int(v) or (isinstance(v, float) and v.is_integer()),
        _to_int, "long (an integer)", "int64",
    ),
    "integer": (
        lambda v: _is_int(v) or (isinstance(v, float) and v.is_integer()),
        _to_int, "integer (an integer)", "int32",
    ),
    "boolean": (lambda v: isinstance(v, bool), bool, "boolean (true or false)", "bool"),
    "string": (lambda v: isinstance(v, str), str, "string", "object"),
    "datetime": (lambda v: isinstance(v, str), str, "datetime (an ISO 8601 string)", None),
}


# the range a value must fit in once converted (JSON allows any number of digits)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_RANGES: dict[str, tuple[float, float]] = {
    "float": (-_FLOAT32_MAX, _FLOAT32_MAX),
    "long": (-(2**63), 2**63 - 1),
    "integer": (-(2**31), 2**31 - 1),
}


def _in_range(type_name: str, values: list[Any]) -> bool:
    bounds = _RANGES.get(type_name)
    if bounds is None or not values:
        return True
    return bool(bounds[0] <= min(values) and max(values) <= bounds[1])


# types a whole column may hold to skip the per-value check (bool is not an int here)
_FAST_TYPES: dict[str, tuple[set[type], None]] = {
    "double": ({float, int}, None),
    "float": ({float, int}, None),
    "long": ({int}, None),
    "integer": ({int}, None),
    "string": ({str}, None),
    "boolean": ({bool}, None),
}


def _describe(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, str):
        shown = v if len(v) <= 40 else v[:37] + "..."
        return f"string {shown!r}"
    if isinstance(v, int) and abs(v) >= 10**30:
        return f"a {len(str(abs(v)))}-digit integer"
    if isinstance(v, int | float):
        return f"number {v!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _name(name: Any, limit: int = 80) -> str:
    """A client-sent field name as echoed in an error: at most ``limit`` characters."""
    text = str(name)
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass(frozen=True)
class FieldSpec:
    """One input column of the signature."""

    name: str
    type: str
    required: bool = True

    @property
    def expected(self) -> str:
        return _TYPES[self.type][2]


@dataclass(frozen=True)
class ParsedBatch:
    """Validated rows: typed column lists (signature order) and the row count."""

    columns: dict[str, list[Any]]
    n_rows: int

    def records(self) -> list[dict[str, Any]]:
        """One dict per row, in signature order (what the prediction log stores)."""
        names = list(self.columns)
        return [dict(zip(names, vals, strict=True)) for vals in zip(*self.columns.values(),
                                                                     strict=True)]


class InputSchema:
    """Column schema of a model (from its MLflow signature), used to check request bodies."""

    def __init__(self, fields: Sequence[FieldSpec]) -> None:
        self.fields = list(fields)
        self.by_name = {f.name: f for f in self.fields}
        self.names = [f.name for f in self.fields]

    @classmethod
    def from_spec(cls, spec: Sequence[tuple[str, str, bool]]) -> InputSchema:
        return cls([FieldSpec(n, t, r) for n, t, r in spec])

    @classmethod
    def from_mlflow(cls, schema: Any) -> InputSchema | None:
        """From ``model.metadata.get_input_schema()``; None when the model has no signature.

        Raises DataError for tensor signatures or column types this service cannot take.
        """
        if schema is None:
            return None
        if getattr(schema, "is_tensor_spec", lambda: False)():
            raise DataError(
                "the model has a tensor signature; steward serve needs a column signature "
                "(log the model with a pandas input example or infer_signature(DataFrame, ...))"
            )
        fields = []
        for i, col in enumerate(schema.inputs):
            name = col.name if col.name is not None else str(i)
            type_name = getattr(col.type, "name", str(col.type))
            if type_name not in _TYPES:
                raise DataError(
                    f"signature column {name!r} has type {type_name!r}, which steward serve "
                    f"does not take; supported: {', '.join(sorted(_TYPES))}"
                )
            fields.append(FieldSpec(name, type_name, bool(getattr(col, "required", True))))
        return cls(fields)

    def describe(self) -> list[dict[str, Any]]:
        return [{"name": f.name, "type": f.type, "required": f.required} for f in self.fields]

    # --- parsing --------------------------------------------------------------------------------
    def parse(self, body: Any) -> ParsedBatch:
        """Validate a decoded JSON body; raise RequestValidationError naming the problem."""
        if isinstance(body, list):
            return self._parse_records(body)
        if isinstance(body, dict):
            keys = set(body)
            if keys == {"records"}:
                if not isinstance(body["records"], list):
                    raise RequestValidationError(
                        "'records' must be a list of objects, one per row", field="records")
                return self._parse_records(body["records"])
            if keys == {"columns"}:
                if not isinstance(body["columns"], dict):
                    raise RequestValidationError(
                        "'columns' must be an object mapping each field to a list of values",
                        field="columns")
                return self._parse_columns(body["columns"])
        raise RequestValidationError(
            "the body must be a list of records, {\"records\": [...]} or "
            "{\"columns\": {\"field\": [...]}}"
        )

    def _unknown(self, names: Any) -> None:
        extra = [n for n in names if n not in self.by_name]
        if extra:
            raise RequestValidationError(
                f"unknown field {_name(extra[0])!r}; the model takes {', '.join(self.names)}",
                field=_name(extra[0]))

    def _check(self, spec: FieldSpec, value: Any, row: int) -> Any:
        if value is None:
            if spec.required:
                raise RequestValidationError(
                    f"row {row}, field {spec.name!r}: expected {spec.expected}, got null",
                    field=spec.name, expected=spec.type, row=row)
            return None
        accepts, convert, expected, _ = _TYPES[spec.type]
        if not accepts(value):
            raise RequestValidationError(
                f"row {row}, field {spec.name!r}: expected {expected}, got {_describe(value)}",
                field=spec.name, expected=spec.type, row=row)
        if isinstance(value, float) and not math.isfinite(value):
            raise RequestValidationError(
                f"row {row}, field {spec.name!r}: expected a finite {expected}",
                field=spec.name, expected=spec.type, row=row)
        try:
            converted = convert(value)
            fits = not isinstance(converted, float) or math.isfinite(converted)
        except OverflowError:  # an integer of hundreds of digits for a double
            converted, fits = None, False
        if not fits or (isinstance(converted, int | float) and not isinstance(converted, bool)
                        and not _in_range(spec.type, [converted])):
            raise RequestValidationError(
                f"row {row}, field {spec.name!r}: {_describe(value)} is out of the range of "
                f"{expected}", field=spec.name, expected=spec.type, row=row)
        return converted

    def _parse_records(self, records: list[Any]) -> ParsedBatch:
        if not records:
            raise RequestValidationError("no rows: send at least one record")
        n_fields = len(self.fields)
        names = self.names
        try:
            # fast path: every row is a dict holding exactly the signature's fields
            if all(type(rec) is dict and len(rec) == n_fields for rec in records):
                raw = {name: [rec[name] for rec in records] for name in names}
                return ParsedBatch(self._check_columns(raw, len(records)), len(records))
        except KeyError:
            pass
        return self._parse_records_slow(records)

    def _parse_records_slow(self, records: list[Any]) -> ParsedBatch:
        """Row by row, to name the first problem (or to fill optional fields)."""
        columns: dict[str, list[Any]] = {name: [] for name in self.names}
        for row, rec in enumerate(records):
            if not isinstance(rec, dict):
                raise RequestValidationError(
                    f"row {row} is {_describe(rec)}, not an object of field values", row=row)
            self._unknown(rec)
            for spec in self.fields:
                if spec.name not in rec:
                    if spec.required:
                        raise RequestValidationError(
                            f"row {row}: missing field {spec.name!r} (expected {spec.expected})",
                            field=spec.name, expected=spec.type, row=row)
                    columns[spec.name].append(None)
                    continue
                columns[spec.name].append(self._check(spec, rec[spec.name], row))
        return ParsedBatch(columns, len(records))

    def _check_columns(self, raw: dict[str, list[Any]], n: int) -> dict[str, list[Any]]:
        """Type-check whole columns at once; fall back per value to name the bad one."""
        out: dict[str, list[Any]] = {}
        for spec in self.fields:
            values = raw[spec.name]
            kinds = set(map(type, values))
            fast = _FAST_TYPES.get(spec.type)
            if fast is not None and kinds <= fast[0]:
                if spec.type in ("double", "float"):
                    if kinds == {float}:
                        converted = values
                    else:
                        try:
                            converted = [float(v) for v in values]
                        except OverflowError:  # an integer too large for a double
                            converted = [math.inf]
                    if all(map(math.isfinite, converted)) and _in_range(spec.type, converted):
                        out[spec.name] = converted
                        continue
                elif _in_range(spec.type, values):
                    out[spec.name] = values
                    continue
            out[spec.name] = [self._check(spec, v, i) for i, v in enumerate(values)]
        return out

    def _parse_columns(self, cols: dict[str, Any]) -> ParsedBatch:
        self._unknown(cols)
        n: int | None = None
        for name, values in cols.items():
            if not isinstance(values, list):
                raise RequestValidationError(
                    f"column {_name(name)!r} must be a list of values, got {_describe(values)}",
                    field=_name(name))
            if n is None:
                n = len(values)
            elif len(values) != n:
                raise RequestValidationError(
                    f"column {_name(name)!r} has {len(values)} values but the others have {n}",
                    field=_name(name))
        if not n:
            raise RequestValidationError("no rows: send at least one value per column")
        raw: dict[str, list[Any]] = {}
        for spec in self.fields:
            if spec.name not in cols:
                if spec.required:
                    raise RequestValidationError(
                        f"missing field {spec.name!r} (expected {spec.expected})",
                        field=spec.name, expected=spec.type)
                raw[spec.name] = [None] * n
            else:
                raw[spec.name] = cols[spec.name]
        return ParsedBatch(self._check_columns(raw, n), n)

    # --- to the model ---------------------------------------------------------------------------
    def frame(self, columns: dict[str, list[Any]]) -> pd.DataFrame:
        """A DataFrame with the dtypes the signature asks for."""
        data: dict[str, Any] = {}
        for spec in self.fields:
            values = columns[spec.name]
            dtype = _TYPES[spec.type][3]
            if spec.type == "datetime":
                data[spec.name] = pd.to_datetime(pd.Series(values))
            elif dtype is not None and (dtype == "object" or None not in values):
                data[spec.name] = np.asarray(values, dtype=dtype) if dtype != "object" else \
                    pd.Series(values, dtype=object)
            else:
                data[spec.name] = pd.Series(values)  # optional column with nulls
        return pd.DataFrame(data)


def schemaless_parse(body: Any) -> ParsedBatch:
    """Parse records or columns without a signature (any JSON scalars; column order as sent)."""
    if isinstance(body, dict) and set(body) == {"columns"} and isinstance(body["columns"], dict):
        cols = body["columns"]
        lengths = {len(v) if isinstance(v, list) else -1 for v in cols.values()}
        if len(lengths) != 1 or -1 in lengths or 0 in lengths:
            raise RequestValidationError("'columns' must map each field to a list of equal length")
        return ParsedBatch({str(k): list(v) for k, v in cols.items()}, lengths.pop())
    records = body.get("records") if isinstance(body, dict) and set(body) == {"records"} else body
    if not isinstance(records, list) or not records or not all(isinstance(r, dict)
                                                               for r in records):
        raise RequestValidationError(
            "the body must be a non-empty list of records or {\"columns\": {...}}")
    names: dict[str, None] = {}
    for rec in records:
        for k in rec:
            names.setdefault(str(k), None)
    return ParsedBatch({n: [r.get(n) for r in records] for n in names}, len(records))
