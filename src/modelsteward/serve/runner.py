"""Start the service under uvicorn, in one process or several workers."""

from __future__ import annotations

import os
import shutil
import tempfile

from modelsteward.serve.config import CONFIG_ENV, ServeConfig
from modelsteward.serve.metrics import METRICS_DIR_ENV

__all__ = ["run"]

_NODELAY = "modelsteward.serve._nodelay:NoDelayHTTPProtocol"


def run(config: ServeConfig, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
        log_level: str = "warning") -> None:
    """Serve until interrupted. ``workers > 1`` starts that many uvicorn worker processes.

    Workers share one counter directory (``$STEWARD_METRICS_DIR``, a private temporary
    directory unless set), so /metrics on any worker counts all of them, and a worker that
    swaps in a new version tells the others to poll at once. Every connection gets
    TCP_NODELAY (see ``_nodelay``), so several workers do not add the
    ~40 ms keep-alive delay of plain ``uvicorn --workers``.
    """
    import uvicorn

    if workers <= 1:
        from modelsteward.serve.app import create_app

        uvicorn.run(create_app(config), host=host, port=port, log_level=log_level,
                    http=_NODELAY, access_log=False, timeout_graceful_shutdown=10)
        return
    os.environ[CONFIG_ENV] = config.to_json()
    # the workers share counters (and promotion hints) through a private directory
    own_dir = METRICS_DIR_ENV not in os.environ
    if own_dir:
        os.environ[METRICS_DIR_ENV] = tempfile.mkdtemp(prefix="steward-metrics-")
    try:
        uvicorn.run("modelsteward.serve.app:create_app_from_env", factory=True, host=host,
                    port=port, workers=workers, log_level=log_level, http=_NODELAY,
                    access_log=False, timeout_graceful_shutdown=10)
    finally:
        if own_dir:
            shutil.rmtree(os.environ.pop(METRICS_DIR_ENV), ignore_errors=True)
