"""The widgets' Python side: traits, tickets, layout and the fallbacks for exported notebooks."""

from __future__ import annotations

import pytest
import traitlets

import sse_widgets as sw
from sse_widgets.protocol import ProtocolError, verify_ticket
from sse_widgets.widgets import _base
from sse_widgets.widgets.dashboard import DashboardHeader

KEY = "test-key-123"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SSE_WIDGETS_KEY", KEY)
    return KEY


def test_ticket_covers_the_widgets_channels_and_follows_them(key: str) -> None:
    chart = sw.LiveChart("train", series=["loss"])
    assert verify_ticket(key, chart.ticket) == ["train"]
    chart.channels = ["jobs/*", "eval"]
    assert verify_ticket(key, chart.ticket) == ["jobs/*", "eval"]


def test_no_key_in_the_kernel_means_no_ticket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSE_WIDGETS_KEY", raising=False)
    assert sw.Toasts().ticket == ""


def test_frontend_asks_for_a_fresh_ticket(key: str) -> None:
    board = sw.ProgressBoard("jobs")
    board.ticket = "expired"
    board._on_frontend_msg(board, {"kind": "refresh_ticket"}, [])
    assert verify_ticket(key, board.ticket) == ["jobs"]


def test_a_page_cannot_widen_the_channels_its_ticket_covers(key: str) -> None:
    """Anyone viewing a page (a shared dashboard's viewers too) can send widget updates;
    the kernel applies only the cursor, so no update makes it mint a wider ticket."""
    chart = sw.LiveChart("train", series=["loss"])
    ticket = chart.ticket
    # What ipywidgets does with a frontend's {"method": "update"} message.
    chart.set_state({"channels": ["*"], "ticket": "forged", "transport": "comm",
                     "hub_url": "http://elsewhere/", "last_event_id": "e-7"})
    assert chart.channels == ["train"]
    assert chart.ticket == ticket and verify_ticket(key, chart.ticket) == ["train"]
    assert chart.transport == "sse" and chart.hub_url != "http://elsewhere/"
    assert chart.last_event_id == ""
    chart._on_frontend_msg(chart, {"kind": "refresh_ticket"}, [])
    assert verify_ticket(key, chart.ticket) == ["train"]


def test_the_cursor_comes_as_a_custom_message_not_a_trait_a_reactive_host_would_rerun_on(key: str) -> None:
    """marimo re-runs every cell that uses a widget when its page updates a trait: the
    frontend's cursor (reported about once a second) made such cells re-run forever."""
    chart = sw.LiveChart("train")
    assert "last_event_id" not in chart.keys and chart._frontend_writable == frozenset({"smoothing"})
    chart._on_frontend_msg(chart, {"kind": "cursor", "id": "e-7"}, [])
    assert chart.last_event_id == "e-7"
    chart._on_frontend_msg(chart, {"kind": "cursor", "id": "x" * 1000}, [])
    assert chart.last_event_id == "e-7"


def test_a_chart_takes_its_smoothing_slider_from_the_page_and_nothing_it_follows(key: str) -> None:
    chart = sw.LiveChart("train", series=["loss"])
    chart.set_state({"smoothing": 0.6, "series": ["secret"], "channels": ["*"]})
    assert (chart.smoothing, chart.series, chart.channels) == (0.6, ["loss"], ["train"])


def test_channels_accept_one_string_or_a_list_and_reject_bad_names() -> None:
    assert sw.LiveChart("train").channels == ["train"]
    assert sw.EventLog(["a", "b/*"]).channels == ["a", "b/*"]
    with pytest.raises(ProtocolError, match="bad channel pattern"):
        sw.LiveChart("no spaces")
    with pytest.raises(traitlets.TraitError, match="window must be between"):
        sw.LiveChart("train", window=1)


def test_defaults_follow_the_kernel_api_channels() -> None:
    assert sw.ProgressBoard().channels == ["progress"]
    assert sw.Toasts().channels == ["notify"]
    assert sw.EventLog().channels == ["*"]


def test_progress_bar_needs_a_task() -> None:
    with pytest.raises(ValueError, match="needs the task"):
        sw.ProgressBar("jobs")
    assert sw.ProgressBar("jobs", task="download").task == "download"


def test_each_widget_has_its_own_uid() -> None:
    a, b = sw.LiveChart("x"), sw.LiveChart("x")
    assert a._uid and b._uid and a._uid != b._uid


def test_dashboard_lays_out_cells_and_floats_toasts() -> None:
    chart, board, toasts = sw.LiveChart("train"), sw.ProgressBoard(), sw.Toasts()
    board_title = "Run 42"
    dash = sw.Dashboard([chart, board, toasts], title=board_title, columns=2)
    assert isinstance(dash.children[0], DashboardHeader)
    assert dash.header.title == board_title
    assert list(dash.grid.children) == [chart, board]
    assert toasts in dash.children and "sse-toasts-overlay" in toasts._dom_classes
    assert "sse-dashboard" in dash._dom_classes
    assert dash.grid.layout.grid_template_columns == "repeat(2, minmax(0, 1fr))"
    assert set(dash.widgets) == {chart, board, toasts}
    dash.title = "Run 43"
    assert dash.header.title == "Run 43"


def test_text_and_html_fallbacks_for_exported_notebooks() -> None:
    chart = sw.LiveChart("train", series=["loss", "acc"], window=500, title="<Training>")
    data, _ = chart._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("LiveChart '<Training>' (channels train; series loss, acc")
    assert "&lt;Training&gt;" in data["text/html"] and "<Training>" not in data["text/html"]
    dash = sw.Dashboard([chart, sw.Toasts()], title="Run")
    data = dash._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert data["text/plain"].splitlines()[0] == "Dashboard 'Run'"
    assert "LiveChart" in data["text/plain"] and "Toasts" in data["text/plain"]


def test_a_missing_js_build_gives_a_module_that_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(_base, "STATIC", tmp_path)
    module = _base.static_asset("chart", ".js")
    assert isinstance(module, str) and "npm run build" in module
    assert _base.static_asset("chart", ".css") == ""
    (tmp_path / "chart.js").write_text("export default {}")
    assert _base.static_asset("chart", ".js") == tmp_path / "chart.js"


@pytest.mark.parametrize(
    ("make", "unknown", "suggestion"),
    [
        (lambda: sw.LiveChart("a", serie=["y"]), "serie", "series"),
        (lambda: sw.ProgressBoard(chanels="jobs"), "chanels", "channels"),
        (lambda: sw.Toasts(max_visibl=3), "max_visibl", "max_visible"),
        (lambda: sw.EventLog(type=["x"]), "type", "types"),
        (lambda: sw.ProgressBar("jobs", task="t", colapse_finished=True), "colapse_finished", "collapse_finished"),
        (lambda: sw.Dashboard([], titel="Run"), "titel", "title"),
    ],
)
def test_keyword_typos_raise_type_error_naming_the_valid_ones(make: object, unknown: str, suggestion: str) -> None:
    with pytest.raises(TypeError, match=f"'{unknown}' \\(did you mean '{suggestion}'\\?\\); valid keywords: .*{suggestion}"):
        make()  # type: ignore[operator]


def test_channel_is_accepted_as_channels_on_every_widget() -> None:
    # The publishing side spells it channel= (sw.progress(..., channel="jobs")).
    assert sw.ProgressBoard(channel="jobs").channels == ["jobs"]
    assert sw.ProgressBar(channel="jobs", task="t").channels == ["jobs"]
    assert sw.LiveChart(channel="train", series=["loss"]).channels == ["train"]
    assert sw.Toasts(channel="etl/notify").channels == ["etl/notify"]
    assert sw.EventLog(channel=["a", "b/*"]).channels == ["a", "b/*"]
    assert sw.ProgressBoard().channels == ["progress"]  # defaults are unchanged
    with pytest.raises(TypeError, match="both channels= and channel="):
        sw.Toasts("a", channel="b")
    with pytest.raises(TypeError, match="needs the channel"):
        sw.LiveChart()


def test_chart_traits_sync_panels_as_ordered_pairs() -> None:
    chart = sw.LiveChart("train", panels={"2": ["loss", "val_loss"], "1": ["acc"]}, smoothing=0.6,
                         log_y=True, x_axis="elapsed", x_label="wall time", max_runs=3)
    # Pairs, not an object: JavaScript would put the integer-like key "1" first.
    assert chart._panels == [["2", ["loss", "val_loss"]], ["1", ["acc"]]]
    assert (chart.smoothing, chart.log_y, chart.x_axis, chart.x_label, chart.max_runs) == (
        0.6, True, "elapsed", "wall time", 3)
    chart.panels = None
    assert chart._panels is None
    chart.panels = "auto"
    assert chart._panels == "auto"
    assert sw.LiveChart("train")._panels == "auto"


@pytest.mark.parametrize(("traits", "message"), [
    ({"smoothing": 1.0}, "smoothing must be at least 0 and less than 1, not 1.0"),
    ({"smoothing": -0.1}, "smoothing must be at least 0 and less than 1"),
    ({"smoothing": float("nan")}, "smoothing must be at least 0 and less than 1, not nan"),
    ({"x_axis": "epoch"}, "x_axis must be one of 'auto', 'step', 'time', 'elapsed', not 'epoch'"),
    ({"max_runs": 0}, "max_runs must be between 1 and 100, not 0"),
    ({"panels": "grouped"}, "panels must be 'auto', None or a dict of panel name to series names"),
    ({"panels": {}}, "panels must name at least one panel"),
    ({"panels": {"loss": "loss"}}, "panel 'loss' must list series names"),
    ({"panels": {"loss": []}}, "panel 'loss' lists no series"),
    ({"panels": {"a": ["loss"], "b": ["loss"]}}, "series 'loss' is in two panels: 'a' and 'b'"),
    ({"panels": {"": ["loss"]}}, "panel names must be non-empty strings"),
])
def test_chart_rejects_bad_traits_with_a_clear_error(traits: dict[str, object], message: str) -> None:
    with pytest.raises(traitlets.TraitError, match=message.replace("(", r"\(")):
        sw.LiveChart("train", **traits)  # type: ignore[arg-type]


def test_a_bad_chart_trait_keeps_the_value_already_accepted() -> None:
    chart = sw.LiveChart("train", smoothing=0.5, panels={"loss": ["loss"]})
    with pytest.raises(traitlets.TraitError, match="smoothing must be"):
        chart.smoothing = 2
    with pytest.raises(traitlets.TraitError, match="in two panels"):
        chart.panels = {"a": ["x"], "b": ["x"]}
    assert chart.smoothing == 0.5
    assert chart.panels == {"loss": ["loss"]} and chart._panels == [["loss", ["loss"]]]


def test_toasts_position_inline_takes_a_grid_cell_and_bottom_right_floats() -> None:
    chart = sw.LiveChart("train")
    inline, corner = sw.Toasts(position="inline"), sw.Toasts(position="bottom-right")
    dash = sw.Dashboard([chart, inline, corner])
    assert list(dash.grid.children) == [chart, inline]
    assert "sse-toasts-overlay" not in inline._dom_classes
    assert corner in dash.children
    assert {"sse-toasts-overlay", "sse-toasts-overlay-bottom"} <= set(corner._dom_classes)
    assert sw.Toasts().position == "top-right" and sw.Toasts().desktop_level == "success"


@pytest.mark.parametrize(("make", "words"), [
    (lambda: sw.Toasts(position="left"), "Toasts position must be one of 'top-right', 'bottom-right', 'inline', not 'left'"),
    (lambda: sw.Toasts(desktop_level="loud"), "desktop_level must be one of 'info', 'success', 'warning', 'error'"),
    (lambda: sw.Toasts(max_visible=0), "max_visible must be at least 1, not 0"),
])
def test_toasts_bad_options_say_what_is_wrong(make: object, words: str) -> None:
    with pytest.raises(traitlets.TraitError, match=words.replace("(", r"\(")):
        make()  # type: ignore[operator]
