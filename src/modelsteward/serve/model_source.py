"""Which model version to serve: poll the stage alias, load new versions, swap atomically.

The stage convention is the registry's: Production lives in the MLflow alias
``production``, Staging in ``staging``. Only the registry named by the tracking URI is
read, and only ``models:/<name>/<version>`` is loaded: nothing comes from a client.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelsteward.redact import redact_text
from modelsteward.serve.batching import MicroBatcher
from modelsteward.serve.config import ServeConfig
from modelsteward.serve.metrics import METRICS_DIR_ENV
from modelsteward.serve.validation import InputSchema

__all__ = ["LoadedModel", "ModelSource", "resolve_tracking_uri"]

log = logging.getLogger("modelsteward.serve")

_HINT_CHECK = 0.05  # seconds between looks at the other workers' promotion hint
_SHARED_HINT_CHECK = 0.1  # seconds between looks at the version row in the log database


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The registry's rule: explicit > $MLFLOW_TRACKING_URI > ./.steward/mlflow.db (SQLite)."""
    try:
        from modelsteward.registry import resolve_tracking_uri as registry_rule
    except ImportError:
        if tracking_uri:
            return tracking_uri
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        return f"sqlite:///{(Path.cwd() / '.steward' / 'mlflow.db').resolve()}"
    return str(registry_rule(tracking_uri))


@dataclass
class LoadedModel:
    """One loaded model version and the batcher that feeds it."""

    name: str
    version: str
    run_id: str | None
    pyfunc: Any
    schema: InputSchema | None
    batcher: MicroBatcher
    loaded_at: float = field(default_factory=time.time)
    #: /predict requests of this process using this model right now (event loop only)
    inflight: int = 0


@dataclass
class SourceStatus:
    """What /health reports about the registry connection and the last load."""

    tracking_reachable: bool = True
    tracking_error: str | None = None
    tracking_down_since: float | None = None
    last_poll_at: float | None = None
    alias_version: str | None = None
    alias_error: str | None = None
    load_error: dict[str, Any] | None = None
    load_failures: int = 0
    swaps: int = 0
    #: the version swapped out whose last requests are still running, and when it had none
    draining_version: str | None = None
    switched_at: float | None = None


class ModelSource:
    """Polls the stage alias in a thread and keeps ``current`` pointing at the served model.

    ``current`` is replaced by one assignment, so a request that read it keeps its model
    until it finishes, while the next request gets the new one.
    """

    def __init__(self, config: ServeConfig, executor: Executor | None) -> None:
        self.config = config
        self.tracking_uri = resolve_tracking_uri(config.tracking_uri)
        self.alias = config.alias
        self._executor = executor
        self.current: LoadedModel | None = None
        self.status = SourceStatus()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.first_poll_done = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._swap_lock = threading.Lock()  # a swap never falls between a read and its count
        #: with several workers: a file whose change means "another worker swapped: poll now"
        shared = os.environ.get(METRICS_DIR_ENV)
        self.hint_path = Path(shared) / "promotion-hint" if shared else None
        self._hint_seen = self._hint_stamp()
        #: with several processes (hosts) sharing one log database: the version row there
        #: (PredictionLog.announce_version); set by the service before start()
        self.shared_log: Any = None
        self._shared_seen: tuple[str, float] | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._shared_seen = self._shared_stamp()
        self._thread = threading.Thread(target=self._loop, name="steward-model-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def acquire(self) -> LoadedModel | None:
        """The served model, counted as in use (``inflight``) until the caller releases it."""
        with self._swap_lock:
            model = self.current
            if model is not None:
                model.inflight += 1
            return model

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - the poller must never die
                log.error("unexpected error while polling the model alias: %s",
                          self._short(exc))
            self.first_poll_done.set()
            self._wait_for_next_poll()
            self._wake.clear()

    def _hint_stamp(self) -> int | None:
        if self.hint_path is None:
            return None
        try:
            return self.hint_path.stat().st_mtime_ns
        except OSError:
            return None

    def _shared_stamp(self) -> tuple[str, float] | None:
        if self.shared_log is None:
            return None
        try:
            return self.shared_log.announced_version(
                self.config.model_name, self.alias)
        except Exception:  # noqa: BLE001 - the database is busy or down: the next look
            return self._shared_seen

    def _wait_for_next_poll(self) -> None:
        """Sleep one poll interval, or less when woken, when another worker left a hint, or
        when another process (another host) announced a version in the log database."""
        if self.hint_path is None and self.shared_log is None:
            self._wake.wait(self.config.poll_interval)
            return
        deadline = time.monotonic() + self.config.poll_interval
        step = _HINT_CHECK if self.hint_path is not None else _SHARED_HINT_CHECK
        next_shared = time.monotonic() + _SHARED_HINT_CHECK
        while (left := deadline - time.monotonic()) > 0:
            if self._wake.wait(min(left, step)):
                return
            stamp = self._hint_stamp()
            if stamp != self._hint_seen:
                self._hint_seen = stamp
                return
            if self.shared_log is not None and time.monotonic() >= next_shared:
                next_shared = time.monotonic() + _SHARED_HINT_CHECK
                shared = self._shared_stamp()
                if shared != self._shared_seen:
                    self._shared_seen = shared
                    return

    def _leave_hint(self, version: str) -> None:
        self._announce(version)
        if self.hint_path is None:
            return
        try:
            tmp = self.hint_path.with_name(f"promotion-hint.{os.getpid()}")
            tmp.write_text(version, encoding="utf-8")
            os.replace(tmp, self.hint_path)
            self._hint_seen = self._hint_stamp()
        except OSError:
            pass  # the others find the version at their next poll

    def _announce(self, version: str) -> None:
        """Tell the processes sharing the log database (unless one already did)."""
        if self.shared_log is None:
            return
        try:
            seen = self.shared_log.announced_version(self.config.model_name, self.alias)
            if seen is None or seen[0] != version:
                self.shared_log.announce_version(self.config.model_name, self.alias, version)
                seen = self.shared_log.announced_version(self.config.model_name, self.alias)
            self._shared_seen = seen
        except Exception as exc:  # noqa: BLE001 - the others find it at their next poll
            log.warning("could not record version %s in the log database: %s", version,
                        self._short(exc))

    # --- one poll -------------------------------------------------------------------------------
    def _mlflow_client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri,
                                        registry_uri=self.tracking_uri)
        return self._client

    def poll_once(self) -> None:
        """Read the alias; load and swap in its version if it differs from the served one."""
        status = self.status
        status.last_poll_at = time.time()
        try:
            mv = self._mlflow_client().get_model_version_by_alias(
                self.config.model_name, self.alias)
        except Exception as exc:  # noqa: BLE001
            if _is_missing(exc):
                status.tracking_reachable = True
                status.tracking_error = None
                status.tracking_down_since = None
                status.alias_version = None
                status.alias_error = (
                    f"model {self.config.model_name!r} has no version in stage "
                    f"{self.config.stage!r} (alias {self.alias!r})")
                return
            if status.tracking_reachable:
                log.warning("tracking server %s unreachable: %s",
                            self._short(self.tracking_uri), self._short(exc))
                status.tracking_down_since = time.time()
            status.tracking_reachable = False
            status.tracking_error = self._short(exc)
            return
        status.tracking_reachable = True
        status.tracking_error = None
        status.tracking_down_since = None
        status.alias_error = None
        version = str(mv.version)
        status.alias_version = version
        current = self.current
        if current is not None and current.version == version:
            status.load_error = None  # the alias is back on the served version
            return
        try:
            loaded = self.load(version, getattr(mv, "run_id", None))
        except Exception as exc:  # noqa: BLE001
            status.load_failures += 1
            status.load_error = {"version": version, "error": self._short(exc),
                                 "at": time.time()}
            log.error("version %s of %s failed to load; still serving %s: %s", version,
                      self.config.model_name, current.version if current else "nothing",
                      self._short(exc))
            return
        status.draining_version = current.version if current is not None else None
        with self._swap_lock:
            self.current = loaded
        if current is not None:
            self._leave_hint(version)
        if current is not None:
            self._drain(current)
        status.draining_version = None
        status.switched_at = time.time()
        # move everything loaded so far (mlflow, sklearn, the model) out of the collector's
        # reach: full collections then scan only request garbage, which keeps p99 low
        gc.collect()
        gc.freeze()
        status.swaps += 1
        status.load_error = None
        log.info("now serving %s version %s (was %s)", self.config.model_name, version,
                 current.version if current else "nothing")

    def _drain(self, old: LoadedModel, timeout: float = 60.0) -> None:
        """Wait until no request of this process still uses ``old`` (answered and logged):
        from then on every prediction this process logs carries the new version."""
        deadline = time.monotonic() + timeout
        while old.inflight > 0 and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.002)

    def _short(self, exc: BaseException | str) -> str:
        """The error's text, shortened, with URI passwords and the bearer token masked."""
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        text = redact_text(text, [self.config.resolved_token()])
        return text if len(text) <= 300 else text[:297] + "..."

    def load(self, version: str, run_id: str | None) -> LoadedModel:
        """Load ``models:/<name>/<version>`` from the registry (never from a client path)."""
        import mlflow.pyfunc

        previous = os.environ.get("MLFLOW_TRACKING_URI")
        os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        try:
            import mlflow

            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            from modelsteward.registry.integrity import allow_unverified_default
            from modelsteward.registry.loading import load_model as load_checked

            # SHA-256 of the files checked against the registration before unpickling
            pyfunc = load_checked(self.config.model_name, version=version,
                                  tracking_uri=self.tracking_uri,
                                  allow_unverified=allow_unverified_default())
        finally:
            if previous is None:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = previous
        schema = InputSchema.from_mlflow(pyfunc.metadata.get_input_schema())

        model_call = _direct_predict(pyfunc, schema)

        def predict(columns: dict[str, list[Any]]) -> Any:
            import pandas as pd

            frame = schema.frame(columns) if schema is not None else pd.DataFrame(columns)
            return model_call(frame)

        batcher = MicroBatcher(predict, self._executor, max_rows=self.config.max_batch_rows)
        return LoadedModel(self.config.model_name, version, run_id, pyfunc, schema, batcher)


def _direct_predict(pyfunc: Any, schema: InputSchema | None) -> Any:
    """The scikit-learn model's own predict when our validation already did MLflow's work.

    ``PyFuncModel.predict`` re-checks the signature on every call (about 0.5 ms, as much as
    the model itself for a few rows). For an ``mlflow.sklearn`` model with a column signature
    the request was validated and the frame built with the signature's dtypes, so the
    flavor's predict function gets the frame directly; any other model keeps the full path.
    """
    fn = getattr(pyfunc, "_predict_fn", None)
    if (schema is None or fn is None or getattr(pyfunc, "loader_module", None) != "mlflow.sklearn"
            or any(f.type == "datetime" for f in schema.fields)):
        return pyfunc.predict
    return fn


def _is_missing(exc: BaseException) -> bool:
    text = str(exc)
    code = getattr(exc, "error_code", "")
    return ("alias" in text.lower() and "not found" in text.lower()) or code in (
        "RESOURCE_DOES_NOT_EXIST",) or "RESOURCE_DOES_NOT_EXIST" in text

