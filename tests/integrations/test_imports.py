"""Importing sse_widgets or its integrations pulls in no framework, and tqdm only when asked."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .support import ROOT

HEAVY = ("tqdm", "keras", "jax", "lightgbm", "xgboost", "optuna", "transformers", "lightning", "anywidget")


def loaded_after(code: str) -> set[str]:
    probe = code + f"\nimport sys; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120, check=True)
    return set(eval(result.stdout.strip()))


def test_import_sse_widgets_and_the_integrations_package_load_no_framework() -> None:
    assert loaded_after("import sse_widgets as sw; sw.tqdm; sw.integrations; sw.capture_logging") == set()


def test_tqdm_is_imported_by_the_first_lock_and_only_the_used_framework_by_its_callback() -> None:
    assert loaded_after("import sse_widgets as sw; sw.tqdm.get_lock()") == {"tqdm"}
    assert loaded_after("import sse_widgets as sw; sw.integrations.LightGBMCallback") == set()  # it needs no import of lightgbm
    assert loaded_after("import sse_widgets as sw; sw.integrations.XGBoostCallback") == {"xgboost"}


def test_a_callback_with_a_bad_channel_fails_when_made_not_mid_training() -> None:
    from sse_widgets.integrations import LightGBMCallback, OptunaCallback

    with pytest.raises(ValueError, match="channel"):
        LightGBMCallback("bad channel")
    with pytest.raises(ValueError, match="channel"):
        OptunaCallback(notify_channel="no spaces")


def test_eventlog_checks_its_level_and_bound() -> None:
    import traitlets

    import sse_widgets as sw

    assert sw.EventLog("logs", level="warning").level == "WARNING"
    with pytest.raises(traitlets.TraitError, match="level must be one of DEBUG, INFO"):
        sw.EventLog("logs", level="LOUD")
    with pytest.raises(traitlets.TraitError, match="max_events must be between 1 and 100000"):
        sw.EventLog("logs", max_events=0)
