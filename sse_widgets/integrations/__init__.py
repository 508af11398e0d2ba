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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sse_widgets.integrations' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
