"""HTTP inference service: serves a model by name and stage, swaps it on promotion or
rollback, logs every prediction before answering, and takes outcomes."""

from modelsteward.serve.config import ServeConfig, stage_alias

__all__ = ["ServeConfig", "create_app", "run", "stage_alias"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from modelsteward.serve.app import create_app

        return create_app
    if name == "run":
        from modelsteward.serve.runner import run

        return run
    raise AttributeError(name)
