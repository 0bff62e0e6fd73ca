"""Start the service under uvicorn, in one process or several workers."""

from __future__ import annotations

import os

from modelsteward.serve.config import CONFIG_ENV, ServeConfig

__all__ = ["run"]

_NODELAY = "modelsteward.serve._nodelay:NoDelayHTTPProtocol"


def run(config: ServeConfig, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
        log_level: str = "warning") -> None:
    """Serve until interrupted. ``workers > 1`` starts that many uvicorn worker processes.

    Every connection gets TCP_NODELAY (see ``_nodelay``), so several workers do not add the
    ~40 ms keep-alive delay of plain ``uvicorn --workers``.
    """
    import uvicorn

    if workers <= 1:
        from modelsteward.serve.app import create_app

        uvicorn.run(create_app(config), host=host, port=port, log_level=log_level,
                    http=_NODELAY, access_log=False, timeout_graceful_shutdown=10)
        return
    os.environ[CONFIG_ENV] = config.to_json()
    uvicorn.run("modelsteward.serve.app:create_app_from_env", factory=True, host=host,
                port=port, workers=workers, log_level=log_level, http=_NODELAY,
                access_log=False, timeout_graceful_shutdown=10)
