"""Code that shows the library, not part of it: the chapter's example functions and the demo.

``train_and_register`` and ``load_production_model`` keep the chapter's names, signatures
and churn defaults on top of :mod:`modelsteward.registry`; :func:`run_demo` is the whole loop
that ``steward demo`` (and ``make demo``) runs. Examples may use every part below ``cli``;
no library part imports them.

    >>> from modelsteward.examples import train_and_register
    >>> import inspect
    >>> inspect.signature(train_and_register).parameters["model_name"].default
    'churn_model'
"""

from __future__ import annotations

from modelsteward.examples.chapter import (
    CHURN_CARD,
    churn_data,
    load_production_model,
    train_and_register,
)
from modelsteward.examples.demo import PLANTED, DemoResult, run_demo

__all__ = [
    "CHURN_CARD",
    "PLANTED",
    "DemoResult",
    "churn_data",
    "load_production_model",
    "run_demo",
    "train_and_register",
]
