"""Integrations: sse-widgets bars, charts and toasts from the libraries users already run.

Each integration imports its framework only when it is first used, so
``import sse_widgets.integrations`` costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> submodule that defines it (and imports its framework)
_LAZY: dict[str, str] = {
    "capture_tqdm": "capture",
    "TqdmCapture": "capture",
    "KerasCallback": "keras",
    "LightGBMCallback": "lightgbm",
    "XGBoostCallback": "xgboost",
    "OptunaCallback": "optuna",
    "TransformersCallback": "transformers",
    "LightningLogger": "lightning",
    "LightningProgressBar": "lightning",
}

__all__ = [
    "KerasCallback",
    "LightGBMCallback",
    "LightningLogger",
    "LightningProgressBar",
    "OptunaCallback",
    "TqdmCapture",
    "TransformersCallback",
    "XGBoostCallback",
    "capture_tqdm",
]


#: submodule -> what to install for it
_NEEDS: dict[str, str] = {
    "capture": "tqdm",
    "keras": "keras (and a backend: jax, tensorflow or torch)",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "optuna": "optuna",
    "transformers": "transformers",
    "lightning": "lightning",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sse_widgets.integrations' has no attribute {name!r}")
    try:
        loaded = importlib.import_module(f"{__name__}.{module}")
    except ModuleNotFoundError as exc:
        raise ImportError(
            f"sse_widgets.integrations.{name} needs {_NEEDS[module]}, which is not installed "
            f"({exc}); install it with pip"
        ) from exc
    value = getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
