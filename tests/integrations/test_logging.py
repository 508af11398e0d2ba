"""Log records from a process, its threads and its forked workers reach a real hub."""

from __future__ import annotations

import pytest
from servers import JupyterServer

from .support import events, final_states, run_script

pytestmark = pytest.mark.slow


def test_records_from_main_thread_worker_thread_and_forked_process_arrive_while_a_bar_runs(
    live_server: JupyterServer,
) -> None:
    run_script(
        """
        import logging, multiprocessing, threading
        import sse_widgets as sw

        sw.capture_logging("INFO", loggers="job", channel="lg/logs")
        log = logging.getLogger("job")

        def in_thread():
            log.warning("from a thread")

        def in_process():
            logging.getLogger("job.worker").info("from a worker process")  # no flush: exit must deliver it

        for i in sw.tqdm(range(3), channel="lg/progress", task="bar"):
            log.info("step %d", i)
        t = threading.Thread(target=in_thread, name="loader")
        t.start(); t.join()
        p = multiprocessing.get_context("fork").Process(target=in_process)
        p.start(); p.join()
        try:
            raise KeyError("missing")
        except KeyError:
            log.exception("failed")
        sw.flush(10)
        """,
        live_server,
    )
    records = [e["data"] for e in events(live_server, "lg/logs", "log")]
    by_message = {r["message"]: r for r in records}
    assert sorted(by_message) == ["failed", "from a thread", "from a worker process", "step 0", "step 1", "step 2"]
    assert by_message["from a thread"]["thread"] == "loader" and by_message["from a thread"]["level"] == "WARNING"
    worker = by_message["from a worker process"]
    assert worker["process"] != "MainProcess" and worker["logger"] == "job.worker"
    assert worker["pid"] != by_message["step 0"]["pid"]
    assert "KeyError: 'missing'" in by_message["failed"]["exc"]
    assert final_states(live_server, "lg/progress")["bar"]["status"] == "done"
