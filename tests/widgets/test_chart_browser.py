"""LiveChart in real Chromium: panels, hover values, log scale, smoothing, zoom and follow,
runs side by side, CSV and PNG downloads, dark theme.

Each test writes a notebook with a LiveChart on channels of its own, opens it as a Voila
page of a real Jupyter server (the page's kernel makes the widget, as a shared dashboard
would), then publishes metric events from the test process to the server's hub over HTTP
with the server's key, as a training script would. It reads what the page shows through
the DOM, the controls' accessible names and the widgets' test hook, and the downloads
through Playwright.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import struct
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import WidgetPage, chromium, notebook, require_built_js

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# True once the chart following `channel` streams (its store says live).
CHART_LIVE = """(channel) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.state === 'live')
  && document.querySelector('.sse-chart') !== null"""

# True once the chart following `channel` holds `count` points in all its runs.
CHART_TOTAL = """([channel, count]) => [...(globalThis.__sseWidgets?.stores?.values() ?? [])]
  .some(s => s.kind === 'chart' && s.channels.includes(channel) && s.total >= count)"""

# The runs a chart holds: id, label, channel, faded, count.
CHART_RUNS = """(channel) => [...globalThis.__sseWidgets.stores.values()]
  .find(s => s.kind === 'chart' && s.channels.includes(channel)).snapshot(1).runs"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_built_js()
    with chromium() as launched:
        yield launched


class ChartPage(WidgetPage):
    """A Voila page showing one LiveChart made by the page's kernel."""

    def __init__(self, browser: Any, server: Any, channel: str, code: str, theme: str = "light"):
        super().__init__(browser)
        self.server, self.channel = server, channel
        name = f"chart-{uuid.uuid4().hex[:8]}.ipynb"
        (server.root_dir / name).write_text(notebook("import sse_widgets as sw\n" + code))
        self.page.goto(f"{server.url}voila/render/{name}?token={server.token}&theme={theme}")
        # Voila runs the notebook in a fresh kernel before the widget appears.
        self.wait(CHART_LIVE, channel, timeout=120_000)

    def publish(self, events: list[dict[str, Any]]) -> None:
        """POST events to the hub with the server's key (what ``sw.metric`` does, batched)."""
        request = urllib.request.Request(
            self.server.url + "sse-widgets/api/publish", data=json.dumps(events).encode(),
            method="POST", headers={"X-SSE-Widgets-Key": self.server.key,
                                    "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert len(json.load(response)["ids"]) == len(events)

    def metrics(self, points: list[tuple[float, dict[str, float | None]]], channel: str | None = None) -> None:
        self.publish([{"channel": channel or self.channel, "type": "metric",
                       "data": {"x": x, "values": values}} for x, values in points])

    def wait_total(self, count: int, channel: str | None = None) -> None:
        self.wait(CHART_TOTAL, [channel or self.channel, count])

    def runs(self) -> list[dict[str, Any]]:
        return list(self.js(CHART_RUNS, self.channel))

    def legend_value(self, series: str, run: str | None = None) -> str:
        selector = f".sse-legend-value[data-series='{series}']"
        if run is not None:
            selector += f"[data-run='{run}']"
        return str(self.page.locator(selector).first.get_attribute("data-value"))

    def away(self) -> None:
        """Move the mouse off the plots (the legend then shows the latest values)."""
        self.page.mouse.move(2, 2)

    def drawn(self, series: str, value: float, run: str | None = None) -> None:
        """Wait until the legend (cursor away) shows `value` as the latest of `series`."""
        self.away()
        self.wait("""([series, run, value]) => [...document.querySelectorAll('.sse-legend-value')]
          .some(el => el.dataset.series === series && (run === null || el.dataset.run === run)
                && el.dataset.value !== '' && Number(el.dataset.value) === value)""", [series, run, value])

    def download(self, name: str) -> bytes:
        with self.page.expect_download() as info:
            self.page.get_by_role("button", name=name).click()
        path = info.value.path()
        with open(path, "rb") as f:
            return f.read()

    def csv_rows(self) -> list[tuple[float, str, str, float | None]]:
        """The CSV download's rows: x, run, series, value (None for a gap)."""
        text = self.download("Download CSV").decode()
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["x", "run", "series", "value"], rows[:2]
        return [(float(x), run, series, float(value) if value else None) for x, run, series, value in rows[1:]]

    def over(self, panel: int = 0) -> dict[str, float]:
        """The plotting area of a panel (uPlot's .u-over), in page coordinates."""
        box = self.page.locator(".sse-panel").nth(panel).locator(".u-over").bounding_box()
        assert box is not None
        return dict(box)


@pytest.fixture
def open_chart(browser: Any, live_server: Any) -> Iterator[Any]:
    pages: list[ChartPage] = []

    def open_(code_for: Any, channel_suffix: str = "train", theme: str = "light") -> ChartPage:
        prefix = f"c{uuid.uuid4().hex[:6]}"
        channel = f"{prefix}/{channel_suffix}"
        page = ChartPage(browser, live_server, channel, code_for(channel), theme=theme)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        assert not page.errors, page.errors
        page.close()


def loss(i: int) -> float:
    return round(2.5 * math.exp(-i / 30) + 0.05 * (i % 3), 6)


def accuracy(i: int) -> float:
    return round(1 - 0.9 * math.exp(-i / 25), 6)


def test_two_panels_for_loss_and_accuracy_and_hover_shows_each_series_value(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", title="training")')
    steps = range(60)
    points = []
    for i in steps:
        values: dict[str, float | None] = {"loss": loss(i), "acc": accuracy(i)}
        if i % 10 == 9:  # validation once an "epoch": a sparse series on the same channel
            values |= {"val_loss": loss(i) + 0.1, "val_acc": accuracy(i) - 0.05}
        points.append((i, values))
    page.metrics(points)
    page.wait_total(60)

    panels = page.page.locator(".sse-panel")
    expect(panels).to_have_count(2)
    assert [panels.nth(k).get_attribute("data-panel") for k in range(2)] == ["loss", "acc"]
    for k in range(2):
        assert panels.nth(k).locator("canvas").count() >= 1
    # Each panel has its own log toggle.
    expect(page.page.get_by_role("checkbox", name="Log scale")).to_have_count(2)

    # Cursor away: the latest values.
    page.drawn("loss", loss(59))
    assert float(page.legend_value("val_loss")) == loss(59) + 0.1

    # Hover a third of the way along the loss panel: every series' value at that x, in both
    # panels (the cursor is shared).
    box = page.over(0)
    page.page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
    legend_x = page.page.locator(".sse-legend-x")
    expect(legend_x).not_to_have_attribute("data-x", "")
    x = float(str(legend_x.get_attribute("data-x")))
    assert 5 < x < 50, x
    step = min(steps, key=lambda s: (abs(s - x), s))
    assert float(page.legend_value("loss")) == loss(step)
    assert float(page.legend_value("acc")) == accuracy(step)
    val_step = min((s for s in steps if s % 10 == 9), key=lambda s: (abs(s - x), s))
    assert float(page.legend_value("val_loss")) == loss(val_step) + 0.1
    assert float(page.legend_value("val_acc")) == accuracy(val_step) - 0.05
    expect(legend_x).to_contain_text("step")

    page.away()
    expect(legend_x).to_have_attribute("data-x", "")
    assert float(page.legend_value("loss")) == loss(59)


def test_log_scale_toggle_gives_power_of_ten_ticks_and_notes_values_it_cannot_draw(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", series=["loss"], panels=None)')
    points: list[tuple[float, dict[str, float | None]]] = [(i, {"loss": 10 ** (-i / 10)}) for i in range(41)]
    points += [(41, {"loss": 0.0}), (42, {"loss": -1.0}), (43, {"loss": 2e-4})]
    page.metrics(points)
    page.wait_total(44)
    plot = page.page.locator(".sse-panel .sse-plot")
    expect(plot).to_have_attribute("data-distr", "linear")
    linear = str(plot.get_attribute("data-y-ticks")).split()
    assert not all(is_power_of_ten(float(t)) for t in linear), linear

    toggle = page.page.get_by_role("checkbox", name="Log scale")
    expect(toggle).not_to_be_checked()
    toggle.check()
    expect(plot).to_have_attribute("data-distr", "log")
    ticks = [float(t) for t in str(plot.get_attribute("data-y-ticks")).split()]
    assert len(ticks) >= 3 and all(is_power_of_ten(t) for t in ticks), ticks
    assert min(ticks) <= 1e-3 and max(ticks) >= 1, ticks
    expect(page.page.locator(".sse-legend-note")).to_contain_text("loss: 2 values ≤ 0 not shown on the log scale")

    toggle.uncheck()
    expect(plot).to_have_attribute("data-distr", "linear")
    expect(page.page.locator(".sse-legend-note")).to_have_text("")


def is_power_of_ten(value: float) -> bool:
    return value > 0 and abs(math.log10(value) - round(math.log10(value))) < 1e-9


def test_smoothing_changes_the_drawn_line_but_not_the_csv(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", series=["y"], panels=None, x_label="batch")')
    noisy = [(i, {"y": float(i % 2) + i / 100}) for i in range(120)]
    noisy[50] = (50, {"y": None})  # a gap: published NaN
    page.metrics(noisy)
    page.wait_total(120)
    page.drawn("y", 119 % 2 + 1.19)
    canvas = page.page.locator(".sse-panel canvas").first
    plain = canvas.evaluate("c => c.toDataURL()")
    plain_rows = page.csv_rows()
    expected = [(float(x), page.channel, "y", v["y"]) for x, v in noisy]
    assert plain_rows == expected

    slider = page.page.get_by_role("slider", name="Smoothing")
    expect(slider).to_have_value("0")
    slider.fill("0.9")
    expect(page.page.locator(".sse-smoothing-value")).to_have_text("0.90")
    expect(page.page.locator(".sse-panel .sse-plot")).to_have_attribute("data-lines", "2")
    page.wait("(before) => document.querySelector('.sse-panel canvas').toDataURL() !== before", plain)
    # The download has the raw points, never the smoothed ones.
    assert page.csv_rows() == plain_rows
    # The kernel's widget hears the slider (a synced trait).
    page.wait("() => [...globalThis.__sseWidgets.stores.values()].some(s => s.kind === 'chart' && s.model.get('smoothing') === 0.9)")


def test_zoom_holds_the_view_while_data_arrives_and_follow_latest_resumes(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}")')
    page.metrics([(i, {"loss": loss(i), "acc": accuracy(i)}) for i in range(100)])
    page.wait_total(100)
    page.drawn("loss", loss(99))
    root = page.page.locator(".sse-chart")
    follow = page.page.get_by_role("button", name="Follow latest")
    expect(follow).to_be_disabled()
    expect(root).to_have_attribute("data-zoomed", "false")

    box = page.over(0)
    y = box["y"] + box["height"] / 2
    page.page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.page.mouse.down()
    page.page.mouse.move(box["x"] + box["width"] * 0.35, y, steps=4)
    page.page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=4)
    page.page.mouse.up()
    expect(root).to_have_attribute("data-zoomed", "true")
    expect(follow).to_be_enabled()
    low, high = float(str(root.get_attribute("data-x-min"))), float(str(root.get_attribute("data-x-max")))
    assert 10 < low < high < 60, (low, high)
    # Both panels show the same x range.
    ranges = page.js("() => [...document.querySelectorAll('.sse-panel .sse-plot')].map(p => [p.dataset.xMin, p.dataset.xMax])")
    assert len(ranges) == 2 and ranges[0] == ranges[1], ranges

    page.metrics([(i, {"loss": loss(i), "acc": accuracy(i)}) for i in range(100, 200)])
    page.wait_total(200)
    page.drawn("loss", loss(199))
    assert (float(str(root.get_attribute("data-x-min"))), float(str(root.get_attribute("data-x-max")))) == (low, high)

    follow.click()
    expect(root).to_have_attribute("data-zoomed", "false")
    expect(root).to_have_attribute("data-x-max", "199")
    expect(follow).to_be_disabled()

    # Double-click also returns to the live window.
    page.page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.page.mouse.down()
    page.page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=6)
    page.page.mouse.up()
    expect(root).to_have_attribute("data-zoomed", "true")
    page.page.mouse.dblclick(box["x"] + box["width"] * 0.5, y)
    expect(root).to_have_attribute("data-zoomed", "false")


def test_a_pattern_chart_draws_each_channel_as_a_run_newest_max_runs_kept_dark_theme(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", max_runs=2)', "*", theme="dark")
    prefix = page.channel.removesuffix("/*")
    for run in ("a", "b"):
        page.metrics([(i, {"loss": loss(i) + (run == "b"), "val_loss": loss(i) + 0.2}) for i in range(20)],
                     channel=f"{prefix}/{run}")
    page.wait_total(40)
    runs = page.runs()
    assert [(r["label"], r["faded"], r["count"]) for r in runs] == [("a", False, 20), ("b", False, 20)]
    groups = page.page.locator(".sse-legend-run")
    expect(groups).to_have_count(2)
    assert sorted(groups.nth(k).get_attribute("data-run") for k in range(2)) == ["a", "b"]
    # One colour per run; within a run, series told apart by dashes.
    swatch = "(el) => getComputedStyle(el).borderTopColor + ' ' + getComputedStyle(el).borderTopStyle"
    a = [page.page.locator(f".sse-legend-item[data-run='a'][data-series='{s}'] .sse-swatch").evaluate(swatch)
         for s in ("loss", "val_loss")]
    b = page.page.locator(".sse-legend-item[data-run='b'][data-series='loss'] .sse-swatch").evaluate(swatch)
    assert a[0].split()[-1] == "solid" and a[1].split()[-1] == "dashed", a
    assert a[0].rsplit(" ", 1)[0] == a[1].rsplit(" ", 1)[0] != b.rsplit(" ", 1)[0], (a, b)
    page.drawn("loss", loss(19) + 1, run="b")

    # A third run: max_runs=2 keeps the two newest.
    page.metrics([(i, {"loss": 0.5}) for i in range(5)], channel=f"{prefix}/c")
    page.wait("(channel) => [...globalThis.__sseWidgets.stores.values()].some(s => s.kind === 'chart'"
              " && s.channels.includes(channel) && s.runs.map(r => r.label).join() === 'b,c')", page.channel)
    expect(groups).to_have_count(2)

    # Dark theme: light text and axes on a dark background.
    root = page.page.locator(".sse-chart")
    assert luminance(root.evaluate("el => getComputedStyle(el).backgroundColor")) < 0.3
    assert luminance(str(root.get_attribute("data-axis-color"))) > 0.5
    button = page.page.get_by_role("button", name="Download CSV")
    assert luminance(button.evaluate("el => getComputedStyle(el).color")) > 0.5


def luminance(css_colour: str) -> float:
    """Relative lightness (0 dark, 1 light) of an `rgb()`/`rgba()`/`#rrggbb` colour."""
    text = css_colour.strip()
    if text.startswith("#"):
        r, g, b = (int(text[i:i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (float(v) for v in text[text.index("(") + 1:text.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_x_going_back_keeps_the_previous_runs_faded_and_the_csv_has_every_point(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", series=["loss"])')
    lengths = [30, 12, 8, 6, 4]  # five runs restarting at step 0: the current one and the last 3 kept
    published: list[tuple[float, str, str, float | None]] = []
    for k, n in enumerate(lengths):
        points = [(i, {"loss": round(1 / (i + 1) + k, 6)}) for i in range(n)]
        page.metrics(points)
        label = page.channel if k == 0 else f"{page.channel} ({k + 1})"
        published += [(float(x), label, "loss", v["loss"]) for x, v in points]
        page.wait("([channel, n, runs]) => [...globalThis.__sseWidgets.stores.values()].some(s => s.kind === 'chart'"
                  " && s.channels.includes(channel) && s.count === n && s.runs.length === runs)",
                  [page.channel, n, min(k + 1, 4)])
    runs = page.runs()
    assert [(r["label"], r["faded"], r["count"]) for r in runs] == [
        (f"{page.channel} (2)", True, 12), (f"{page.channel} (3)", True, 8),
        (f"{page.channel} (4)", True, 6), (f"{page.channel} (5)", False, 4)]
    expect(page.page.locator(".sse-legend-run[data-faded]")).to_have_count(3)
    page.drawn("loss", round(1 / 4 + 4, 6), run=f"{page.channel} (5)")
    # The first run fell off (only the last 3 previous runs are kept); the rest is exact.
    assert page.csv_rows() == published[lengths[0]:]


def test_png_download_decodes_to_an_image_of_the_charts_size(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", height=180)')
    page.metrics([(i, {"loss": loss(i), "acc": accuracy(i)}) for i in range(50)])
    page.wait_total(50)
    page.drawn("acc", accuracy(49))
    size = page.js("() => { const cs = [...document.querySelectorAll('.sse-panel canvas')];"
                   " return [Math.max(...cs.map(c => c.width)), cs.reduce((h, c) => h + c.height, 0), cs.length]; }")
    assert size[2] == 2
    width, height, pixels = decode_png(page.download("Download PNG"))
    assert (width, height) == (size[0], size[1])
    # Not blank: the background, the axes' and the two curves' colours at least.
    colours = {pixels[i:i + 4] for i in range(0, len(pixels), 4)}
    assert len(colours) > 3, len(colours)
    assert pixels[3] == 255, "opaque: drawn on the widget's background"


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGBA pixels of an 8-bit RGBA PNG, decoded with the stdlib only
    (chunk CRCs checked, scanline filters undone: PNG spec, sections 5 and 9)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header[:13])
    assert (depth, colour, interlace) == (8, 6, 0), (depth, colour, interlace)
    raw = zlib.decompress(idat)
    stride = 4 * width
    assert len(raw) == height * (1 + stride)
    pixels = bytearray()
    previous = bytearray(stride)
    for row in range(height):
        kind = raw[row * (1 + stride)]
        line = bytearray(raw[row * (1 + stride) + 1:(row + 1) * (1 + stride)])
        for i in range(stride):
            left = line[i - 4] if i >= 4 else 0
            up = previous[i]
            corner = previous[i - 4] if i >= 4 else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
            else:
                assert kind == 0, kind
        pixels += line
        previous = line
    return width, height, bytes(pixels)



def test_two_runs_with_panels_and_smoothing_draw_raw_and_smoothed_lines_per_run(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", smoothing=0.8, height=200, title="lr sweep")', "*")
    prefix = page.channel.removesuffix("/*")
    for run, rate in (("lr=0.1", 1.0), ("lr=0.03", 0.6)):
        points = []
        for i in range(300):
            noise = 0.15 * math.sin(i * 1.7 + rate * 5) * math.cos(i * 0.31)
            values: dict[str, float | None] = {
                "loss": round(2.3 * math.exp(-i * rate / 90) + 0.1 + noise, 6),
                "acc": round(0.95 - 0.85 * math.exp(-i * rate / 70) + noise / 4, 6),
            }
            if i % 30 == 29:
                values |= {"val_loss": round(2.3 * math.exp(-i * rate / 90) + 0.25, 6),
                           "val_acc": round(0.9 - 0.85 * math.exp(-i * rate / 70), 6)}
            points.append((i, values))
        page.metrics(points, channel=f"{prefix}/{run}")
    page.wait_total(600)
    page.drawn("loss", points[-1][1]["loss"], run="lr=0.03")  # type: ignore[arg-type]
    panels = page.page.locator(".sse-panel")
    expect(panels).to_have_count(2)
    # Two runs x two series x (raw + smoothed) in each panel.
    for k in range(2):
        expect(panels.nth(k).locator(".sse-plot")).to_have_attribute("data-lines", "8")
    expect(page.page.locator(".sse-legend-run")).to_have_count(2)
    expect(page.page.get_by_role("slider", name="Smoothing")).to_have_value("0.8")

    # The README's picture: SSE_WIDGETS_CHART_SCREENSHOT=docs/chart_runs.png
    if os.environ.get("SSE_WIDGETS_CHART_SCREENSHOT"):
        page.page.locator(".sse-chart").screenshot(path=os.environ["SSE_WIDGETS_CHART_SCREENSHOT"])


def test_a_dense_chart_is_binned_per_pixel_yet_hover_csv_and_zoom_use_the_exact_points(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", series=["loss"], panels=None, window=20_000)')
    n = 12_000

    def value(i: int) -> float:
        return round(1 + math.sin(i * 0.7) * 0.5 + i / n, 6)

    for start in range(0, n, 2000):
        page.metrics([(i, {"loss": value(i)}) for i in range(start, start + 2000)])
    page.wait_total(n)
    page.drawn("loss", value(n - 1))
    root = page.page.locator(".sse-chart")
    # 12,000 points on ~1,300 pixel columns: drawn as each column's min and max.
    expect(root).to_have_attribute("data-binned", "true")

    box = page.over(0)
    y = box["y"] + box["height"] / 2
    page.page.mouse.move(box["x"] + box["width"] * 0.41, y)
    legend_x = page.page.locator(".sse-legend-x")
    expect(legend_x).not_to_have_attribute("data-x", "")
    x = float(str(legend_x.get_attribute("data-x")))
    assert float(page.legend_value("loss")) == value(min(range(n), key=lambda s: (abs(s - x), s)))

    # Zoomed to a few hundred points: the exact points again.
    page.page.mouse.move(box["x"] + box["width"] * 0.40, y)
    page.page.mouse.down()
    page.page.mouse.move(box["x"] + box["width"] * 0.41, y, steps=3)
    page.page.mouse.move(box["x"] + box["width"] * 0.42, y, steps=3)
    page.page.mouse.up()
    expect(root).to_have_attribute("data-zoomed", "true")
    expect(root).to_have_attribute("data-binned", "false")
    page.page.get_by_role("button", name="Follow latest").click()
    expect(root).to_have_attribute("data-binned", "true")

    rows = page.csv_rows()
    assert rows == [(float(i), page.channel, "loss", value(i)) for i in range(n)]


def test_elapsed_x_axis_starts_at_zero_and_shows_its_label(open_chart: Any) -> None:
    page = open_chart(lambda ch: f'sw.LiveChart("{ch}", series=["loss"], x_axis="elapsed", x_label="wall time")')
    for i in range(3):
        page.metrics([(i, {"loss": 1.0 / (i + 1)})])
        page.wait_total(i + 1)
    chart = page.chart(page.channel)
    assert chart["axis"] == "elapsed"
    assert chart["x"][0] == 0 and chart["x"] == sorted(chart["x"]), chart["x"]
    box = page.over(0)
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.page.locator(".sse-legend-x")).to_have_text(re.compile(r"^wall time \d\d:\d\d$"))
