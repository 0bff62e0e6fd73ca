"""SHA-256 of every artifact file a version is loaded from, recorded at registration and
checked before anything is unpickled or read.

At registration, :func:`file_manifest` hashes the model's files (``MLmodel``, ``model.pkl``,
requirements...) and the baseline's files; the digest of each sorted manifest goes into a
version tag (``steward.model_sha256``, ``steward.baseline_sha256``, kept in the tracking
database) and the manifests themselves into ``integrity.json`` in the run's artifacts (to name
the file that differs). Loading downloads the files to a local directory, hashes them and
compares with the tag *before* loading from that same directory, so what was checked is what
is loaded. Write access to the artifact store alone is no longer enough to swap a model::

    >>> manifest_digest({"b": "00", "a": "11"}) == manifest_digest({"a": "11", "b": "00"})
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelsteward.errors import IntegrityError

__all__ = [
    "ALLOW_UNVERIFIED_ENV",
    "BASELINE_ARTIFACT_PATH",
    "BASELINE_DIGEST_TAG",
    "INTEGRITY_FILE",
    "MODEL_DIGEST_TAG",
    "UnverifiedArtifactWarning",
    "allow_unverified_default",
    "file_manifest",
    "manifest_digest",
    "verify_files",
]

MODEL_DIGEST_TAG = "steward.model_sha256"
BASELINE_DIGEST_TAG = "steward.baseline_sha256"
#: The run folder the baseline is logged under.
BASELINE_ARTIFACT_PATH = "baseline"
INTEGRITY_FILE = "integrity.json"
#: set (to 1/true/yes) by ``steward serve --allow-unverified``; read by the serve load path
ALLOW_UNVERIFIED_ENV = "STEWARD_ALLOW_UNVERIFIED"
#: written by MLflow into the download directory at download time, not part of the model
_GENERATED = frozenset({"registered_model_meta"})
_CHUNK = 1 << 20
_log = logging.getLogger("modelsteward.registry")


class UnverifiedArtifactWarning(UserWarning):
    """A model or baseline was loaded without a matching SHA-256 (allowed explicitly, or
    registered before checksums were recorded)."""


def allow_unverified_default() -> bool:
    """Whether ``$STEWARD_ALLOW_UNVERIFIED`` asks to load unverified artifacts."""
    return os.environ.get(ALLOW_UNVERIFIED_ENV, "").strip().lower() in ("1", "true", "yes")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def file_manifest(directory: str | os.PathLike[str]) -> dict[str, str]:
    """``relative/posix/path -> sha256 hex`` of every file under ``directory`` (MLflow's
    download-time ``registered_model_meta`` excluded)."""
    root = Path(directory)
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if rel in _GENERATED:
            continue
        out[rel] = _sha256(path)
    return out


def manifest_digest(manifest: Mapping[str, str]) -> str:
    """SHA-256 (hex) of the sorted ``path<TAB>sha256`` lines."""
    h = hashlib.sha256()
    for path in sorted(manifest):
        h.update(f"{path}\t{manifest[path]}\n".encode())
    return h.hexdigest()


def _difference(actual: Mapping[str, str], recorded: Mapping[str, str] | None) -> str:
    """Which files differ, from the recorded manifest (when it can be trusted)."""
    if recorded is None:
        return ("the recorded file list (integrity.json) is missing or was altered too, so "
                f"the file that differs cannot be named; files now: {sorted(actual)[:10]}")
    parts: list[str] = []
    changed = sorted(p for p in actual if p in recorded and actual[p] != recorded[p])
    added = sorted(p for p in actual if p not in recorded)
    missing = sorted(p for p in recorded if p not in actual)
    if changed:
        parts.append(f"changed: {', '.join(changed[:10])}")
    if added:
        parts.append(f"added: {', '.join(added[:10])}")
    if missing:
        parts.append(f"missing: {', '.join(missing[:10])}")
    return "; ".join(parts) or "the file list differs"


def _recorded_manifest(client: Any, run_id: str, key: str, expected: str) -> dict[str, str] | None:
    """The manifest under ``key`` in the run's integrity.json, only if it matches the tag."""
    if not run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, INTEGRITY_FILE, tmp)
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            manifest = {str(k): str(v) for k, v in dict(data[key]).items()}
        except Exception:  # noqa: BLE001 - absent or unreadable: cannot name the file
            return None
    return manifest if manifest_digest(manifest) == expected else None


def verify_files(
    directory: str | os.PathLike[str],
    expected: str | None,
    *,
    what: str,
    name: str,
    version: str,
    tag: str,
    manifest_key: str,
    client: Any = None,
    run_id: str = "",
    allow_unverified: bool = False,
    strict: bool = False,
) -> None:
    """Compare the files in ``directory`` with the digest recorded at registration.

    Mismatch: IntegrityError naming the version, the file that differs and the fix (or a
    warning with ``allow_unverified``). No recorded digest (a version registered before
    checksums existed): a warning, or IntegrityError with ``strict`` (unless
    ``allow_unverified``).
    """
    actual = file_manifest(directory)
    if expected is None:
        message = (
            f"version {version} of {name!r} has no recorded {what} SHA-256 (tag {tag!r}; it "
            f"was registered before modelsteward recorded checksums), so its {what} files are "
            f"loaded unverified. Re-register it with log_training_run to record one"
        )
        if strict and not allow_unverified:
            raise IntegrityError(message + ", or pass allow_unverified=True "
                                           "(`--allow-unverified`) to load it anyway.")
        warnings.warn(message + ".", UnverifiedArtifactWarning, stacklevel=3)
        _log.warning("%s", message)
        return
    if manifest_digest(actual) == expected:
        return
    recorded = _recorded_manifest(client, run_id, manifest_key, expected) if client else None
    message = (
        f"the {what} files of {name!r} version {version} do not match the SHA-256 recorded "
        f"at registration ({_difference(actual, recorded)}): the artifact store was changed "
        f"after registration. Do not load it: re-register the model from a trusted copy "
        f"(log_training_run) and promote that version, or, if you made the change yourself, "
        f"pass allow_unverified=True (`--allow-unverified`) to load it anyway."
    )
    if not allow_unverified:
        raise IntegrityError(message)
    warnings.warn(message, UnverifiedArtifactWarning, stacklevel=3)
    _log.warning("loading despite a checksum mismatch (allow_unverified): %s", message)
