"""The inference service: FastAPI routes over a swappable model and a durable prediction log.

``POST /predict`` validates rows against the model signature, predicts (concurrent requests
share one model call), commits every prediction to the log (concurrent requests share one
transaction) and only then answers with the prediction ids, the predictions and the model
version that made them. ``POST /feedback`` takes outcomes by prediction id. ``GET /health``
(status only, open), ``GET /ready``, ``GET /status`` (details) and ``GET /metrics`` report on
the service. POST bodies must be ``application/json`` and the ``Host`` header one of
``config.allowed_hosts``. Build it with :func:`create_app`::

    app = create_app(ServeConfig(model_name="churn", log_url="sqlite:///preds.db"))
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from modelsteward import __version__
from modelsteward.errors import StoreError, UnknownPredictionError
from modelsteward.redact import redact_text
from modelsteward.serve.config import CONFIG_ENV, ServeConfig
from modelsteward.serve.logs import install_redaction
from modelsteward.serve.metrics import METRICS_DIR_ENV, Metrics, SharedMetrics
from modelsteward.serve.model_source import LoadedModel, ModelSource
from modelsteward.serve.validation import RequestValidationError, _describe, schemaless_parse
from modelsteward.store import GroupCommitWriter, PredictionLog, new_prediction_ids
from modelsteward.store.prediction_log import count_predictions

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("modelsteward.serve")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ROUTES = frozenset({"/predict", "/feedback", "/health", "/ready", "/status", "/metrics"})
_OPEN_ROUTES = frozenset({"/health"})
_JSON_ROUTES = frozenset({"/predict", "/feedback"})  # POST bodies must be application/json
_MAX_LISTED_IDS = 20  # unknown ids echoed back by a 404
_MAX_ID_CHARS = 64  # prediction ids are 32 hex digits; longer ones cannot be in the log
# bodies larger than this are parsed, validated and encoded for the log in a worker thread,
# so the event loop keeps answering /health and small requests meanwhile
_OFF_LOOP_BYTES = 512 * 1024


def _hook_shutdown_signals(draining: threading.Event) -> None:
    """Chain a handler in front of the server's SIGTERM/SIGINT handlers that marks this
    process as draining; the server's own handler (stop accepting, finish in-flight
    requests, then shut the app down) runs right after. Outside the main thread (a test
    client) nothing is changed. ``draining`` is the service's event."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous) or getattr(previous, "steward_drain", False):
            continue

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            draining.set()
            previous(signum, frame)

        handler.steward_drain = True  # type: ignore[attr-defined]
        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread
            return


class _BodyTooLarge(Exception):
    pass


def _finite(value: Any) -> Any:
    """NaN and infinities (not JSON) as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # orjson writes NaN and inf as null (what a model's NaN prediction is answered with)
    try:
        body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # an int beyond 64 bits or another type orjson does not take
        body = json.dumps(_finite(content), allow_nan=False,
                          separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _host_name(value: bytes) -> str:
    """The name in a Host header, without port or brackets: ``[::1]:8000`` -> ``::1``."""
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):
        end = text.find("]")
        return text[1:end] if end != -1 else text
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


class _Guard:
    """Pure ASGI middleware: Host header, bearer token, body size by Content-Length, JSON
    content type on POST routes, request metrics."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int, metrics: Metrics,
                 allowed_hosts: tuple[str, ...] = ()):
        self.app = app
        self.token = token.encode() if token else None
        self.max_body = max_body
        self.metrics = metrics
        self.allowed_hosts = frozenset(h.lower().strip("[]") for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        route = path if path in _ROUTES else "other"
        status_holder = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
            await send(message)

        try:
            problem = self._check(scope, path)
            if problem is not None:
                await problem(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.observe(route, status_holder[0], time.perf_counter() - started)

    def _check(self, scope: Scope, path: str) -> Response | None:
        headers = dict(scope["headers"])
        host = headers.get(b"host")
        if self.allowed_hosts and host is not None \
                and _host_name(host) not in self.allowed_hosts:
            # a browser page on another site reaching this port through DNS rebinding sends
            # its own name here: refuse it
            return _json({"error": f"Host header {_shown(host.decode('latin-1'))} is not "
                                   "allowed; call the service by one of its allowed names "
                                   "or start it with --allowed-hosts NAME"}, 400)
        if self.token is not None and path not in _OPEN_ROUTES:
            given = headers.get(b"authorization", b"")
            scheme, _, value = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(value.strip(), self.token):
                return _json(
                    {"error": "missing or wrong bearer token; send 'Authorization: Bearer "
                              "<token>' with the token the service was started with"},
                    401, {"WWW-Authenticate": "Bearer"})
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                return _json({"error": "Content-Length is not a number"}, 400)
            if too_big:
                return _too_large(self.max_body)
        if scope.get("method") == "POST" and path in _JSON_ROUTES:
            given_type = headers.get(b"content-type", b"")
            media = given_type.split(b";", 1)[0].strip().lower()
            if media != b"application/json":
                shown = _shown(given_type.decode("latin-1")) if given_type else "none"
                return _json({"error": f"the body must be JSON sent with 'Content-Type: "
                                       f"application/json' (got {shown})"}, 415)
        return None


def _too_large(limit: int) -> Response:
    return _json({"error": f"request body larger than the limit of {limit} bytes; send fewer "
                           "rows per request"}, 413)


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _is_big(request: Request) -> bool:
    """Whether the request's body is large enough to be handled off the event loop."""
    return int(getattr(request.state, "body_size", 0)) > _OFF_LOOP_BYTES


async def _off_loop(big: bool, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a worker thread when ``big``, else right here."""
    return await run_in_threadpool(fn, *args) if big else fn(*args)


async def _read_json(request: Request, limit: int) -> Any:
    body = await _read_body(request, limit)
    if not body:
        raise ValueError("the body is empty; send JSON")
    try:
        request.state.body_size = len(body)
    except AttributeError:  # a stand-in request without state (unit tests)
        pass
    return await _off_loop(len(body) > _OFF_LOOP_BYTES, _parse_json, body)


def _parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc).lower():
            log.warning("rejected a request body nested deeper than the JSON parser allows")
            raise ValueError("it is nested too deeply (more than 1024 levels)") from None
        # NaN/Infinity literals and ints beyond 64 bits: the stdlib parser takes them (and
        # validation then names them); anything else fails there with the same message
        try:
            return json.loads(body)
        except RecursionError:
            log.warning("rejected a request body nested deeper than the JSON parser allows")
            raise ValueError("it is nested too deeply") from None


async def _json_body(request: Request, limit: int) -> tuple[Any, Response | None]:
    """The parsed JSON body, or the 413/400 response that answers a bad one."""
    try:
        return await _read_json(request, limit), None
    except _BodyTooLarge:
        return None, _too_large(limit)
    except (ValueError, UnicodeDecodeError) as exc:  # includes ints of over 4300 digits
        return None, _json({"error": f"the body is not valid JSON: {exc}"}, 400)


class _LogCoalescer:
    """Hands the writer thread one item per loop turn instead of one per request.

    The requests answered by one model call resume in the same loop turn; each adds its rows
    here and the flush, scheduled behind them, gives the writer all of them at once (one
    wake-up, one transaction, one thread hop back). A lone request while the writer is idle
    and no other /predict request is in progress (``busy()`` false) is committed in place,
    without a hop; otherwise the writer thread commits, and the event loop parses and
    validates the other requests while SQLite inserts and fsyncs without the GIL. A large
    one (over ``INLINE_COMMIT_ROWS``) always goes to the writer thread.
    """

    INLINE_COMMIT_ROWS = 1_000

    def __init__(self, writer: GroupCommitWriter,
                 busy: Callable[[], bool] = lambda: False) -> None:
        self.writer = writer
        self.busy = busy
        self.pending: list[tuple[list[Any], asyncio.Future[Future[None] | None]]] = []
        self.scheduled = False

    async def commit(self, rows: list[Any]) -> None:
        """Return once ``rows`` are committed (raise StoreError if they cannot be)."""
        loop = asyncio.get_running_loop()
        slot: asyncio.Future[Future[None] | None] = loop.create_future()
        self.pending.append((rows, slot))
        if not self.scheduled:
            self.scheduled = True
            loop.call_soon(self._flush)
        handle = await slot
        if handle is not None:
            await asyncio.wrap_future(handle)

    def _flush(self) -> None:
        self.scheduled = False
        batch, self.pending = self.pending, []
        if len(batch) == 1 and count_predictions(batch[0][0]) <= self.INLINE_COMMIT_ROWS \
                and not self.busy():
            rows, slot = batch[0]
            try:
                done = self.writer.try_commit_now(rows)
            except StoreError as exc:
                slot.set_exception(exc)
                return
            if done:
                slot.set_result(None)
                return
        handles = self.writer.submit_many([rows for rows, _ in batch])
        for (_, slot), handle in zip(batch, handles, strict=True):
            slot.set_result(handle)


class _Service:
    """State shared by the routes of one process."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.model_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        # large batches and slow models run in this thread, off the event loop (see batching)
        self.source = ModelSource(config, self.model_executor)
        self.secrets = [config.resolved_token()]
        self.log: PredictionLog | None = None
        self.writer: GroupCommitWriter | None = None
        self.coalescer: _LogCoalescer | None = None
        self.started_at = time.time()
        shared_dir = os.environ.get(METRICS_DIR_ENV)
        self.shared = SharedMetrics(shared_dir) if shared_dir else None
        self._stopping = threading.Event()
        self.predicting = 0  # /predict requests in progress (event loop only)
        #: set once the process begins shutting down (SIGTERM/SIGINT, or the app's shutdown):
        #: /ready answers 503 while in-flight requests finish and the log is flushed
        self.draining = threading.Event()
        self._sharer: threading.Thread | None = None

    def redact(self, text: object) -> str:
        """``text`` with URI passwords, secret query values and the bearer token masked."""
        return redact_text(text, self.secrets)

    def start(self) -> None:
        import mlflow  # noqa: F401 - its log handlers exist before redaction is installed

        install_redaction(self.secrets)
        self.log = PredictionLog(self.config.log_url)
        self.writer = GroupCommitWriter(self.log)
        self.coalescer = _LogCoalescer(self.writer, lambda: self.predicting > 1)
        # several processes (hosts) sharing this log switch versions together through it
        self.source.shared_log = self.log
        self.source.start()
        # take no connection before the first look at the registry (and load) is over: with
        # several workers on one socket, a worker still loading would answer 503
        self.source.first_poll_done.wait(timeout=180)
        if self.shared is not None:
            self._sharer = threading.Thread(target=self._share, name="steward-metrics",
                                            daemon=True)
            self._sharer.start()

    def _share(self) -> None:
        """Leave this worker's counters for the others every half second (see SharedMetrics)."""
        assert self.shared is not None
        while not self._stopping.wait(_SHARE_EVERY):
            self.shared.write(_local_snapshot(self))

    def stop(self) -> None:
        self._stopping.set()
        if self._sharer is not None:
            self._sharer.join(timeout=5)
        if self.shared is not None:
            self.shared.write(_local_snapshot(self))
        self.source.stop()
        if self.writer is not None:
            self.writer.close()
        if self.log is not None:
            self.log.close()
        self.model_executor.shutdown(wait=False)


def create_app(config: ServeConfig) -> FastAPI:
    """The FastAPI app serving ``config.model_name`` at ``config.stage``."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    service = _Service(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _hook_shutdown_signals(service.draining)
        await run_in_threadpool(service.start)
        try:
            yield
        finally:
            service.draining.set()
            await run_in_threadpool(service.stop)

    app = FastAPI(title="modelsteward serve", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.service = service
    limit = config.max_body_bytes

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        body, error = await _json_body(request, limit)
        if error is not None:
            return error
        # this request stays on this model; a swap is complete once the old one has no
        # request left (ModelSource._drain)
        model: LoadedModel | None = service.source.acquire()
        # the log's time is taken with the model: rows of the old version sort before those of
        # a version swapped in later, however long each request's model call takes
        received_at = time.time()
        if model is None:
            return _json({"error": _not_ready_reason(service)}, 503)
        big = _is_big(request)
        service.predicting += 1
        try:
            return await _predict(service, model, body, big, received_at)
        finally:
            service.predicting -= 1
            model.inflight -= 1

    async def _predict(service: _Service, model: LoadedModel, body: Any, big: bool,
                       received_at: float) -> Response:
        try:
            batch = await _off_loop(big, model.schema.parse if model.schema is not None
                                    else schemaless_parse, body)
        except RequestValidationError as exc:
            return _json(exc.to_dict(), 422)
        try:
            predictions = await model.batcher.predict(batch)
        except Exception as exc:  # noqa: BLE001 - the model's own failure, reported
            text = service.redact(f"{type(exc).__name__}: {exc}")[:500]
            log.warning("model %s v%s failed: %s", model.name, model.version, text)
            return _json({"error": f"the model failed on this input: {text}",
                          "model_version": model.version}, 500)
        assert service.writer is not None
        ids = new_prediction_ids(batch.n_rows)
        try:
            rows = await _off_loop(big, functools.partial(
                PredictionLog.make_rows_from_columns, ids=ids, timestamp=received_at),
                model.name, model.version, batch.columns, predictions)
        except (StoreError, RecursionError) as exc:  # a value JSON cannot hold (schemaless)
            log.warning("predictions not logged: a value cannot be stored as JSON")
            return _json({"error": "a feature or prediction cannot be stored as JSON "
                                   f"({type(exc).__name__}); send plain numbers, strings, "
                                   "booleans or shallow lists"}, 422)
        try:
            assert service.coalescer is not None
            await service.coalescer.commit(rows)
        except StoreError as exc:
            text = service.redact(exc)
            log.error("prediction log write failed: %s", text)
            return _json({"error": f"the predictions could not be logged, so none are "
                                   f"returned: {text}"}, 503)
        if getattr(rows, "ids", None) is not None:
            ids = rows.ids  # a batch stored as one row: its rows' ids are "<batch>-<row>"
        service.metrics.predictions += batch.n_rows
        return await _off_loop(big, _json, {"model_name": model.name,
                                            "model_version": model.version,
                                            "prediction_ids": ids, "predictions": predictions})

    @app.post("/feedback")
    async def feedback(request: Request) -> Response:
        body, error = await _json_body(request, limit)
        if error is not None:
            return error
        try:
            outcomes, received, repeated = await _off_loop(_is_big(request), _parse_outcomes,
                                                           body)
        except RequestValidationError as exc:
            return _json(exc.to_dict(), 422)
        assert service.log is not None
        try:
            new = await run_in_threadpool(service.log.log_outcomes, outcomes)
        except UnknownPredictionError as exc:
            unknown = list(getattr(exc, "ids", []))
            return _json({"error": str(exc), "unknown_ids": unknown[:_MAX_LISTED_IDS],
                          "unknown_count": len(unknown)}, 404)
        except StoreError as exc:
            text = service.redact(exc)
            log.error("outcomes not recorded: %s", text)
            return _json({"error": text}, 503)
        # duplicates: items not recorded, because the id already had an outcome or came
        # earlier in this request (the first value is kept); repeated_ids lists the latter
        return _json({"received": received, "recorded": new, "duplicates": received - new,
                      "repeated_ids": repeated[:_MAX_LISTED_IDS]})

    @app.get("/health")
    async def health() -> Response:
        return _json({"status": _health(service)["status"]})

    @app.get("/status")
    async def status() -> Response:
        return _json(_health(service))

    @app.get("/ready")
    async def ready() -> Response:
        if service.draining.is_set():
            return _json({"ready": False, "reason": "draining: the service is shutting down; "
                                                    "in-flight requests finish and are "
                                                    "logged, send new ones elsewhere"}, 503)
        model = service.source.current
        if model is None:
            return _json({"ready": False, "reason": _not_ready_reason(service)}, 503)
        return _json({"ready": True, "model_name": model.name, "model_version": model.version})

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(_render_metrics(service), media_type="text/plain; version=0.0.4")

    app.add_middleware(_Guard, token=config.resolved_token(), max_body=limit,
                       metrics=service.metrics, allowed_hosts=config.allowed_hosts)
    return app


def create_app_from_env() -> FastAPI:
    """App factory for uvicorn workers: the config comes from ``$STEWARD_SERVE_CONFIG``."""
    text = os.environ.get(CONFIG_ENV)
    if not text:
        raise RuntimeError(f"{CONFIG_ENV} is not set; start the service with `steward serve`")
    return create_app(ServeConfig.from_json(text))


def _parse_outcomes(body: Any) -> tuple[dict[str, float], int, list[str]]:
    """``{"prediction_id": id, "outcome": v}``, ``{"outcomes": {id: v}}`` or a list of those.

    Returns the outcomes by id (the first value of an id sent twice), the number of items
    received and the ids sent more than once. A value must be a finite number.
    """
    items: list[Any]
    if isinstance(body, dict) and set(body) == {"outcomes"}:
        inner = body["outcomes"]
        if isinstance(inner, dict):
            items = [{"prediction_id": k, "outcome": v} for k, v in inner.items()]
        elif isinstance(inner, list):
            items = inner
        else:
            raise RequestValidationError("'outcomes' must map prediction ids to values",
                                         field="outcomes")
    elif isinstance(body, dict):
        items = [body]
    elif isinstance(body, list):
        items = body
    else:
        raise RequestValidationError(
            "send {\"prediction_id\": ..., \"outcome\": ...}, a list of those, or "
            "{\"outcomes\": {id: value}}")
    if not items:
        raise RequestValidationError("no outcomes: send at least one")
    out: dict[str, float] = {}
    repeated: dict[str, None] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"prediction_id", "outcome"}:
            raise RequestValidationError(
                f"outcome {i} must be an object with exactly 'prediction_id' and 'outcome'",
                row=i)
        pid, value = item["prediction_id"], item["outcome"]
        if not isinstance(pid, str) or not pid or len(pid) > _MAX_ID_CHARS:
            raise RequestValidationError(
                f"outcome {i}: 'prediction_id' must be an id returned by /predict (a string "
                f"of at most {_MAX_ID_CHARS} characters)",
                field="prediction_id", expected="string", row=i)
        out_value = _outcome_value(value, i)
        if pid in out:
            repeated[pid] = None  # the first value sent is kept
            continue
        out[pid] = out_value
    return out, len(items), list(repeated)


def _outcome_value(value: Any, i: int) -> float:
    """A finite float, or RequestValidationError naming the item."""
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, int | float):
        raise RequestValidationError(
            f"outcome {i}: 'outcome' must be a number (0/1 for classes), got "
            f"{_describe(value)}", field="outcome", expected="double", row=i)
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        log.warning("rejected a non-finite outcome (item %d)", i)
        raise RequestValidationError(
            f"outcome {i}: 'outcome' must be a finite number, got "
            f"{'a number too large for a double' if isinstance(value, int) else value}; "
            "send the observed value (0/1 for classes)",
            field="outcome", expected="double", row=i)
    return number


def _not_ready_reason(service: _Service) -> str:
    st = service.source.status
    if not st.tracking_reachable:
        reason = f"no model loaded yet: tracking server unreachable ({st.tracking_error})"
    elif st.alias_error:
        reason = f"no model loaded yet: {st.alias_error}"
    elif st.load_error:
        reason = f"no model loaded yet: version {st.load_error['version']} failed to load " \
                 f"({st.load_error['error']})"
    else:
        reason = "no model loaded yet: the first poll of the registry is still running"
    return service.redact(reason)


def _health(service: _Service) -> dict[str, Any]:
    model = service.source.current
    st = service.source.status
    problems = []
    if not st.tracking_reachable:
        problems.append("tracking server unreachable: serving the loaded model, promotions "
                        "are not seen until it is back")
    if st.load_error:
        problems.append(f"version {st.load_error['version']} failed to load; still serving "
                        f"{model.version if model else 'nothing'}")
    if st.alias_error:
        problems.append(service.redact(st.alias_error))
    writer = service.writer
    load_error = st.load_error
    if load_error is not None:
        load_error = {**load_error, "error": service.redact(load_error.get("error"))}
    return {
        "status": "ok" if not problems else "degraded",
        "problems": problems,
        "version": __version__,
        "model_name": service.config.model_name,
        "stage": service.config.stage,
        "model_version": model.version if model else None,
        "loaded_at": model.loaded_at if model else None,
        # a swap is complete when the previous version has no request left in this process
        "draining_version": st.draining_version,
        "switched_at": st.switched_at,
        "pid": os.getpid(),
        "tracking": {
            "uri": service.redact(service.source.tracking_uri),
            "reachable": st.tracking_reachable,
            "error": service.redact(st.tracking_error) if st.tracking_error else None,
            "down_since": st.tracking_down_since,
            "last_poll_at": st.last_poll_at,
            "alias_version": st.alias_version,
        },
        "last_load_error": load_error,
        "prediction_log": {"url": service.redact(service.log.url) if service.log else None,
                           "backlog": writer.backlog if writer else None,
                           "commits": writer.commits if writer else 0},
        "uptime_seconds": round(time.time() - service.started_at, 3),
    }


_SHARE_EVERY = 0.5  # seconds between snapshots a worker leaves for the others


def _local_snapshot(service: _Service) -> dict[str, Any]:
    """This process's counters and gauges, as SharedMetrics stores them."""
    model = service.source.current
    st = service.source.status
    writer = service.writer
    snap = service.metrics.snapshot()
    snap["counters"] = {"commits": writer.commits if writer else 0,
                        "model_calls": model.batcher.calls if model else 0,
                        "swaps": st.swaps, "load_failures": st.load_failures}
    snap["gauges"] = {"version": model.version if model else None,
                      "backlog": writer.backlog if writer else 0,
                      "tracking_reachable": 1 if st.tracking_reachable else 0}
    return snap


def _render_metrics(service: _Service) -> str:
    """Prometheus text; with several workers, the sum over all of them (SharedMetrics)."""
    local = _local_snapshot(service)
    snaps = [local]
    if service.shared is not None:
        service.shared.write(local)
        snaps += service.shared.others()
    merged = Metrics()
    for snap in snaps:
        merged.add_snapshot(snap)
    live = [snap for snap in snaps if snap.get("alive", True)]

    def total(key: str) -> float:
        return float(sum(snap.get("counters", {}).get(key, 0) for snap in snaps))

    versions = [snap["gauges"]["version"] for snap in live]
    served = sorted({v for v in versions if v is not None})
    name = service.config.model_name
    gauges: dict[str, tuple[str, list[tuple[dict[str, str], float]]]] = {
        "steward_model_info": ("Served model version: how many worker processes serve it.",
                               [({"model": name, "version": v}, float(versions.count(v)))
                                for v in served]),
        "steward_model_ready": ("1 when every worker has a model loaded.",
                                [({}, 1.0 if None not in versions else 0.0)]),
        "steward_workers": ("Worker processes alive whose counters are summed here.",
                            [({}, float(len(live)))]),
        "steward_predictions_total": ("Rows predicted and logged.",
                                      [({}, float(merged.predictions))]),
        "steward_prediction_log_backlog": ("Prediction rows waiting to be committed.",
                                           [({}, float(sum(s["gauges"]["backlog"]
                                                           for s in live)))]),
        "steward_prediction_log_commits_total": ("Group commits to the prediction log.",
                                                 [({}, total("commits"))]),
        "steward_model_calls_total": ("Model predict calls (batched requests share one).",
                                      [({}, total("model_calls"))]),
        "steward_model_swaps_total": ("Model versions swapped in.", [({}, total("swaps"))]),
        "steward_model_load_failures_total": ("Versions that failed to load.",
                                              [({}, total("load_failures"))]),
        "steward_tracking_reachable": ("1 when every worker's last registry poll succeeded.",
                                       [({}, float(min(s["gauges"]["tracking_reachable"]
                                                       for s in live)))]),
    }
    return merged.render(gauges)
