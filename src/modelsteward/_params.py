"""Declarative checks of function parameters at the public boundary.

In the style of scikit-learn's ``Interval`` / ``StrOptions``: each public function declares
what each scalar parameter may be, and :func:`validate_params` checks the call before the
body runs. Every violation raises the one :class:`~modelsteward.errors.InvalidParameterError`
naming the function, the parameter, what it accepts and what it got.

One rule for every p-value threshold (:data:`P_THRESHOLD`): a real number (not a bool, not a
string) in the open interval (0, 1).

    >>> @validate_params({"n_bins": [Interval("int", 1, MAX_BINS)]})
    ... def f(n_bins: int = 10) -> int:
    ...     return n_bins
    >>> f(3)
    3
    >>> f(float("nan"))
    Traceback (most recent call last):
    ...
    modelsteward.errors.InvalidParameterError: f: n_bins must be an integer in [1, 10000], got nan
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

import numpy as np

from modelsteward.errors import InvalidParameterError

__all__ = [
    "MAX_BINS",
    "MODE",
    "NON_NEGATIVE",
    "P_THRESHOLD",
    "ROW_LIMIT",
    "SHARE",
    "Constraint",
    "InstanceOf",
    "Interval",
    "StrOptions",
    "check_param",
    "validate_params",
]

P = ParamSpec("P")
R = TypeVar("R")

#: the largest number of PSI bins accepted (edges and counts are allocated per bin)
MAX_BINS = 10_000


class Constraint(Protocol):
    """What a parameter may be: a test and a phrase for the error message."""

    def is_satisfied_by(self, value: Any) -> bool: ...

    def __str__(self) -> str: ...


@dataclass(frozen=True)
class Interval:
    """A real or integer number in ``[left, right]`` (ends open or closed; None: unbounded).

    Booleans are never numbers here; NaN never satisfies; infinities only when
    ``finite=False`` and the matching end is unbounded. Integer intervals take Python and
    numpy integers only (``10.0`` is not an integer parameter).
    """

    kind: Literal["int", "real"]
    left: float | None = None
    right: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"
    finite: bool = True

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind == "int":
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real):
            return False
        else:
            v = float(value)
            if math.isnan(v) or (self.finite and math.isinf(v)):
                return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        what = "an integer" if self.kind == "int" else "a finite real number"
        if self.left is None and self.right is None:
            return what
        lo = "(-inf" if self.left is None else ("[" if self.closed in ("both", "left") else "(")
        hi = "inf)" if self.right is None else ("]" if self.closed in ("both", "right") else ")")
        left = "" if self.left is None else _num(self.left)
        right = "" if self.right is None else _num(self.right)
        return f"{what} in {lo}{left}, {right}{hi}"


@dataclass(frozen=True)
class StrOptions:
    """One of a fixed set of strings."""

    options: frozenset[str]

    def __init__(self, options: Iterable[str]) -> None:
        object.__setattr__(self, "options", frozenset(options))

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in sorted(self.options))


@dataclass(frozen=True)
class InstanceOf:
    """An instance of the given type(s)."""

    types: tuple[type, ...]
    name: str

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.types) and not isinstance(value, (bool, np.bool_))

    def __str__(self) -> str:
        return self.name


#: the one rule for every p-value threshold: a real number strictly between 0 and 1
P_THRESHOLD: list[Constraint | None] = [Interval("real", 0.0, 1.0, closed="neither")]
#: a share of values (a rate threshold): a real number in [0, 1]
SHARE: list[Constraint | None] = [Interval("real", 0.0, 1.0)]
#: a finite real number >= 0 (ratios, minimum effects)
NON_NEGATIVE: list[Constraint | None] = [Interval("real", 0.0, None)]
#: exact or sketch checking
MODE: list[Constraint | None] = [StrOptions(("auto", "exact", "sketch"))]
#: a row count limit, or None for the default
ROW_LIMIT: list[Constraint | None] = [Interval("int", 0, None), None]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def _phrase(constraints: Sequence[Constraint | None]) -> str:
    parts = ["None" if c is None else str(c) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def check_param(
    where: str, name: str, value: Any, constraints: Sequence[Constraint | None]
) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` satisfies one constraint
    (``None`` in the list accepts ``None``)."""
    for c in constraints:
        if c is None:
            if value is None:
                return
        elif c.is_satisfied_by(value):
            return
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise InvalidParameterError(
        f"{where}: {name} must be {_phrase(constraints)}, got {shown}"
        + (f" ({type(value).__name__})" if isinstance(value, (bool, str)) else "")
    )


def validate_params(
    spec: Mapping[str, Sequence[Constraint | None]],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: check the named parameters of every call against ``spec`` first.

    Only arguments actually passed are checked (defaults are trusted); a call that does
    not bind (wrong argument names) is left to Python's own TypeError. The check costs a
    few microseconds per call: positions come from the signature once, at decoration.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        params = inspect.signature(fn).parameters
        unknown = set(spec) - set(params)
        if unknown:  # a typo in the spec must fail at import, not silently check nothing
            raise TypeError(f"{fn.__qualname__}: spec names unknown parameters {unknown}")
        where = fn.__qualname__.replace(".<locals>", "")
        positional: list[tuple[int, str, Sequence[Constraint | None]]] = []
        for i, (name, p) in enumerate(params.items()):
            if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                break
            if name in spec:
                positional.append((i, name, spec[name]))

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            # no inspect.Signature.bind per call: positions are known, keywords are named
            n = len(args)
            for i, name, constraints in positional:
                if i < n:
                    check_param(where, name, args[i], constraints)
            for name, value in kwargs.items():
                rule = spec.get(name)
                if rule is not None:
                    check_param(where, name, value, rule)
            return fn(*args, **kwargs)

        return wrapper

    return decorate
