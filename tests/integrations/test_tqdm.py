"""sw.tqdm as tqdm's ``tqdm_class``: thread_map, process_map, contrib.logging, the lock API."""

from __future__ import annotations

import pytest
from servers import JupyterServer

from .support import final_states, run_script

pytestmark = pytest.mark.slow


def test_thread_map_with_tqdm_class_sw_tqdm_no_longer_fails_on_get_lock_and_bars_reach_totals(
    live_server: JupyterServer,
) -> None:
    # Before the lock API, tqdm's ensure_lock failed on `progress.get_lock` (AttributeError).
    out = run_script(
        """
        import sse_widgets as sw
        from tqdm.contrib.concurrent import thread_map

        def work(i):
            for _ in sw.tqdm(range(10 + i), desc=f"item {i}", channel="tm/progress", task=f"item{i}", position=i + 1):
                pass
            return i * i

        print(thread_map(work, range(6), max_workers=3, tqdm_class=sw.tqdm, desc="map",
                         channel="tm/progress", task="map"))
        sw.flush(10)
        """,
        live_server,
    )
    assert out.strip() == str([i * i for i in range(6)])
    final = final_states(live_server, "tm/progress")
    assert (final["map"]["n"], final["map"]["total"], final["map"]["status"]) == (6, 6, "done")
    assert final["map"]["label"] == "map"
    for i in range(6):
        assert (final[f"item{i}"]["n"], final[f"item{i}"]["status"]) == (10 + i, "done")


def test_process_map_workers_publish_through_the_hub_and_share_the_parents_lock(
    live_server: JupyterServer,
) -> None:
    out = run_script(
        """
        import os
        import sse_widgets as sw
        from tqdm.contrib.concurrent import process_map

        def work(i):
            lock = sw.tqdm.get_lock()          # what the pool's initializer set: the parent's mp lock
            with lock:
                pass
            for _ in sw.tqdm(range(20), desc=f"worker item {i}", channel="pm/progress", task=f"w{i}"):
                pass
            return (i, os.getpid(), type(lock).__name__)

        if __name__ == "__main__":
            results = process_map(work, range(4), max_workers=2, tqdm_class=sw.tqdm,
                                  channel="pm/progress", task="pmap", desc="pmap")
            parent = os.getpid()
            assert [r[0] for r in results] == [0, 1, 2, 3]
            assert all(pid != parent for _, pid, _ in results)
            print(sorted({r[2] for r in results}))
            sw.flush(10)
        """,
        live_server,
    )
    # process_map hands workers the `mp_lock` member of tqdm's lock (a multiprocessing RLock).
    assert out.strip() == "['RLock']"
    final = final_states(live_server, "pm/progress")
    assert (final["pmap"]["n"], final["pmap"]["total"], final["pmap"]["status"]) == (4, 4, "done")
    for i in range(4):
        assert (final[f"w{i}"]["n"], final[f"w{i}"]["total"], final[f"w{i}"]["status"]) == (20, 20, "done")


def test_logging_redirect_tqdm_prints_through_sw_tqdm_write_while_the_bar_publishes(
    live_server: JupyterServer,
) -> None:
    out = run_script(
        """
        import logging, sys
        import sse_widgets as sw
        from tqdm.contrib.logging import logging_redirect_tqdm

        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
        log = logging.getLogger("job")
        with logging_redirect_tqdm(tqdm_class=sw.tqdm):
            for i in sw.tqdm(range(3), channel="lr/progress", task="lr"):
                log.info("step %d", i)
        sw.tqdm.write("written", file=sys.stdout)
        sw.flush(10)
        """,
        live_server,
    )
    assert out.splitlines() == ["INFO step 0", "INFO step 1", "INFO step 2", "written"]
    assert final_states(live_server, "lr/progress")["lr"]["status"] == "done"


def test_the_lock_api_without_a_hub() -> None:
    import sse_widgets as sw

    lock = sw.tqdm.get_lock()
    assert sw.tqdm.get_lock() is lock
    with lock:
        pass
    other = type(lock)()
    sw.tqdm.set_lock(other)
    try:
        assert sw.tqdm.get_lock() is other
    finally:
        sw.tqdm.set_lock(lock)
    sw.tqdm.monitor_interval = 0  # what users do to stop tqdm's monitor thread; must not fail


def test_tqdm_pandas_registration_shows_progress_apply_as_a_bar(live_server: JupyterServer) -> None:
    out = run_script(
        """
        import pandas as pd
        import sse_widgets as sw

        sw.tqdm.pandas(desc="apply", channel="pd/progress", task="apply")
        df = pd.DataFrame({"a": range(50), "b": range(50)})
        print(int(df.progress_apply(lambda row: row.a + row.b, axis=1).sum()))
        sw.flush(10)
        """,
        live_server,
    )
    assert out.strip() == str(2 * sum(range(50)))
    bar = final_states(live_server, "pd/progress")["apply"]
    assert (bar["label"], bar["n"], bar["total"], bar["status"]) == ("apply", 50, 50, "done")
