"""A real ``marimo run app.py`` on 127.0.0.1 for the browser tests, and the app it serves."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from servers import LoggedProcess, free_port

#: The app: widgets in one cell, shown by a second, fed by a third. The showing and the
#: publishing cells append their name to RUNS_FILE each time they run, so a test can tell
#: whether anything the page sent made marimo run them again.
APP = '''
import marimo

app = marimo.App()


@app.cell
def _():
    import os
    import time
    import marimo as mo
    import sse_widgets as sw
    return mo, os, sw, time


@app.cell
def _(mo, sw):
    chart = mo.ui.anywidget(sw.LiveChart("train", series=["loss"], title="train"))
    other = mo.ui.anywidget(sw.LiveChart("other", series=["loss"], title="other"))
    board = mo.ui.anywidget(sw.ProgressBoard(cancel=True))
    return board, chart, other


@app.cell
def _(board, chart, mo, os, other):
    with open(os.environ["RUNS_FILE"], "a") as _runs:
        _runs.write("show\\n")
    mo.vstack([chart, other, board])
    return


@app.cell
def _(board, chart, os, sw, time):
    with open(os.environ["RUNS_FILE"], "a") as _runs:
        _runs.write("publish\\n")
    # Uses the widgets, so marimo would run this cell again if the page changed them.
    assert chart.channels == ["train"] and board.channels
    __PUBLISH__
    return
'''

#: 50 steps in the cell itself, with a progress bar: everything is published before the
#: page can ask for anything (marimo handles the page's messages between cells).
TRAIN_IN_THE_CELL = '''for _i in sw.progress(range(50), desc="train"):
        sw.metric("train", x=_i, loss=1.0 / (_i + 1))
        time.sleep(0.01)
    sw.flush(10)'''

#: A thread publishing ten points a second for long enough to outlive a test: events keep
#: coming after the page has chosen its path.
TICKING_THREAD = '''import threading

    def _tick():
        for _i in range(3000):
            sw.metric("train", x=_i, loss=1.0 / (_i + 1))
            time.sleep(0.1)

    threading.Thread(target=_tick, daemon=True).start()'''


#: A long loop in a thread that the board's Stop button ends: the app's process notes how.
STOPPABLE_THREAD = '''import threading

    def _long():
        try:
            for _i in sw.progress(range(100_000), desc="long"):
                time.sleep(0.01)
        except sw.Cancelled:
            with open(os.environ["RUNS_FILE"], "a") as _runs:
                _runs.write("cancelled\\n")

    threading.Thread(target=_long, daemon=True).start()'''


class MarimoApp(LoggedProcess):
    """``marimo run app.py`` on 127.0.0.1 in an environment without SSE_WIDGETS_*, plus ``env``.

    ``runs()`` lists the cells' runs, in order; ``url`` is the app's page.
    """

    name = "marimo"

    def __init__(self, tmp: Path, publish: str, env: dict[str, str] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.origin = self.url.rstrip("/")
        (tmp / "app.py").write_text(APP.replace("__PUBLISH__", publish))
        self.runs_file = tmp / "runs.txt"
        self.log_path = tmp / "marimo.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("SSE_WIDGETS_")}
        clean.update(
            RUNS_FILE=str(self.runs_file), HOME=str(tmp), XDG_CONFIG_HOME=str(tmp / "config"),
            # No Jupyter server to be found by the publisher's discovery unless env names one.
            JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), MARIMO_SKIP_UPDATE_CHECK="1",
            PYTHONUNBUFFERED="1", **(env or {}),
        )
        self.launch(
            [sys.executable, "-m", "marimo", "run", "app.py", "--headless", "--no-token",
             "--host", "127.0.0.1", f"--port={self.port}"],
            tmp, clean, self.log_path,
        )
        self.wait_until(lambda: urllib.request.urlopen(self.url, timeout=2).close())

    def runs(self) -> list[str]:
        try:
            return self.runs_file.read_text().split()
        except FileNotFoundError:
            return []
