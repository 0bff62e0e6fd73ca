"""How models are serialized, chosen deliberately.

**Default: cloudpickle.** MLflow 3 saves scikit-learn models with skops by default and then
refuses trees, forests and gradient boosting unless their types are listed as trusted. That
protection is weaker than it looks inside MLflow: the trusted-types list is written into the
model's own ``MLmodel`` file and read back from it at load time, and MLflow 3.17 gates every
format (skops included) behind the same ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` switch. What
protects you is write access to the artifact store, not the file format. cloudpickle logs
every scikit-learn-compatible model (linear, trees, gradient boosting, pipelines, custom
transformers, XGBoost/LightGBM wrappers) in one pass, whereas skops serializes, re-loads to
verify and fails on custom classes.

**Opt-in: skops** (``serialization="skops"``): the trusted types are computed from the model
itself (``skops.io.get_untrusted_types``) and accepted only when every one of them comes from
scikit-learn, NumPy or SciPy; anything else raises ModelNotSerializableError-like RegistryError
naming cloudpickle as the fix.

Requirements are passed explicitly (scikit-learn, the serializer and the model's own package),
which skips MLflow's 3-second pip inference per logged model.

>>> choose_serialization(None)
'cloudpickle'
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from modelsteward.errors import RegistryError

# skops is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["SERIALIZATIONS", "choose_serialization", "pip_requirements_for", "skops_trusted_types"]

SERIALIZATIONS = ("cloudpickle", "skops")
_SAFE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


def choose_serialization(serialization: str | None) -> str:
    """Validate the requested format (None -> ``"cloudpickle"``)."""
    chosen = (serialization or "cloudpickle").lower()
    if chosen not in SERIALIZATIONS:
        raise RegistryError(
            f"unknown serialization {serialization!r}; use one of {', '.join(SERIALIZATIONS)}"
        )
    return chosen


def skops_trusted_types(model: Any) -> list[str]:
    """The types skops would refuse in ``model``, when all are scikit-learn/NumPy/SciPy."""
    import skops.io

    try:
        untrusted = list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    except Exception as exc:  # noqa: BLE001 - skops cannot represent the model at all
        raise RegistryError(
            f"skops cannot serialize {type(model).__name__}: {exc}. Use "
            f"serialization='cloudpickle'."
        ) from exc
    foreign = [t for t in untrusted if not t.startswith(_SAFE_PREFIXES)]
    if foreign:
        raise RegistryError(
            f"skops would have to trust non-scikit-learn types {foreign} of "
            f"{type(model).__name__}; use serialization='cloudpickle' for this model."
        )
    return untrusted


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


_PACKAGES: dict[str, list[str]] | None = None


def pip_requirements_for(model: Any, serialization: str) -> list[str]:
    """Pinned requirements: scikit-learn, the serializer, and the model's top-level package."""
    global _PACKAGES
    reqs: list[str] = []
    for dist in ("scikit-learn", serialization):
        v = _version(dist)
        if v:
            reqs.append(f"{dist}=={v}")
    top = type(model).__module__.split(".", 1)[0]
    if top not in ("sklearn", "builtins", "__main__", "modelsteward"):
        if _PACKAGES is None:
            _PACKAGES = dict(importlib.metadata.packages_distributions())
        for dist in _PACKAGES.get(top, []):
            v = _version(dist)
            if v and not any(r.lower().startswith(dist.lower() + "==") for r in reqs):
                reqs.append(f"{dist}=={v}")
    return reqs
