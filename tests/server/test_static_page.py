"""The page of a static dashboard, built from an executed notebook (no server needed)."""

from __future__ import annotations

import json
import re
from typing import Any

from sse_widgets.server.static import STATE_MIME, VIEW_MIME, build_page, page_state


def notebook(state: dict[str, Any], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"widgets": {STATE_MIME: {"version_major": 2, "version_minor": 0, "state": state}}},
        "cells": [
            {"cell_type": "markdown", "source": "# The title\n\nSome *text*."},
            {"cell_type": "code", "source": "secret_code()", "outputs": outputs},
        ],
    }


OURS = {"model_module": "anywidget", "model_name": "AnyModel", "model_module_version": "~0.9.*",
        "state": {"_uid": "u1", "channels": ["a/b", "jobs/*"], "ticket": "kernel-ticket",
                  "transport": "comm", "last_event_id": "e-5", "_esm": "x = '</script><!--'"}}
SLIDER = {"model_module": "@jupyter-widgets/controls", "model_name": "IntSliderModel",
          "model_module_version": "2.0.0", "state": {"value": 7}}


def test_the_page_state_drops_the_kernels_ticket_and_names_the_channels() -> None:
    state, channels = page_state(notebook({"m1": OURS, "m2": SLIDER}, []))
    assert channels == ["a/b", "jobs/*"]
    ours = state["state"]["m1"]["state"]
    assert ours["ticket"] != "kernel-ticket" and ours["transport"] == "sse" and "last_event_id" not in ours
    assert state["state"]["m2"] == SLIDER, "other widgets are kept as they were"
    assert OURS["state"]["ticket"] == "kernel-ticket", "the notebook itself is not changed"


def test_the_page_shows_outputs_not_code_and_no_string_ends_a_script_early() -> None:
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": "<b>printed</b>\n"},
        {"output_type": "display_data", "data": {VIEW_MIME: {"model_id": "m1", "version_major": 2,
                                                             "version_minor": 0},
                                                 "text/plain": "LiveChart"}},
        {"output_type": "display_data", "data": {VIEW_MIME: {"model_id": "gone"}, "text/plain": "closed widget"}},
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}},
        {"output_type": "error", "ename": "E", "evalue": "", "traceback": ["\x1b[31mTraceback\x1b[0m"]},
    ]
    page, _ = build_page(notebook({"m1": OURS}, outputs), "dash.ipynb", "/base/", "/base/static/x/", "1")
    assert "secret_code" not in page
    assert "<title>The title</title>" in page and "<em>text</em>" in page
    assert "&lt;b&gt;printed&lt;/b&gt;" in page
    assert "closed widget" in page and 'src="data:image/png;base64,iVBORw0KGgo="' in page
    assert "Traceback" in page and "\x1b" not in page
    # Every script element ends where it should: the _esm's "</script>" is escaped.
    assert page.count("</script>") == page.count("<script")
    scripts = dict(re.findall(r'<script (?:id="[^"]+" )?type="([^"]+)">(.*?)</script>', page, re.DOTALL))
    state = json.loads(scripts[STATE_MIME])
    assert state["state"]["m1"]["state"]["_esm"] == "x = '</script><!--'"
    assert json.loads(scripts[VIEW_MIME])["model_id"] == "m1"
