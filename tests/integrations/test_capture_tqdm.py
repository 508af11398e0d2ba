"""capture_tqdm in a real kernel: bars made by modules that imported tqdm.auto before the call."""

from __future__ import annotations

import textwrap

import pytest
from kernel_client import Kernel
from servers import JupyterServer

from .support import final_states

pytestmark = pytest.mark.slow

LIBRARY = '''
"""A library that chose its bars at import, as most do."""
from tqdm.auto import tqdm, trange
import tqdm.notebook as tqdm_nb

def train(n):
    for _ in tqdm(range(n), desc="lib tqdm"):
        pass
    for _ in trange(n, desc="lib trange"):
        pass
    for _ in tqdm_nb.tqdm(range(n), desc="lib notebook"):
        pass
    return tqdm
'''


def test_capture_tqdm_catches_bars_of_a_module_imported_before_the_call_and_undoes_it(
    live_server: JupyterServer,
) -> None:
    (live_server.root_dir / "early_lib.py").write_text(LIBRARY)
    with Kernel(live_server) as kernel:
        out = kernel.execute(textwrap.dedent(f"""
            import sys; sys.path.insert(0, {str(live_server.root_dir)!r})
            import early_lib                     # imported tqdm.auto before the call
            import tqdm.auto, tqdm.notebook, tqdm.autonotebook
            from tqdm.contrib.concurrent import thread_map
            original = tqdm.auto.tqdm
            import sse_widgets as sw

            capture = sw.capture_tqdm(channel="cap/progress")
            cls = early_lib.train(7)
            print(cls.__module__, issubclass(cls, sw.tqdm))
            print(issubclass(tqdm.autonotebook.tqdm, sw.tqdm), issubclass(tqdm.notebook.tqdm, sw.tqdm))
            # tqdm's own default bar for thread_map is tqdm.auto's: caught too
            thread_map(abs, range(5), max_workers=2, desc="default thread_map")
            # transformers looks tqdm.auto.tqdm up at each call, and its Trainer's console
            # callback imported it: both caught
            from transformers.utils import logging as hf_logging
            import transformers.trainer_callback as hf_callbacks
            for _ in hf_logging.tqdm(range(4), desc="transformers tqdm"):
                pass
            print(issubclass(hf_callbacks.tqdm, sw.tqdm))
            sw.capture_tqdm(False)
            print(early_lib.tqdm is original, tqdm.auto.tqdm is original)
            with sw.capture_tqdm(channel="cap/progress"):
                for _ in tqdm.auto.tqdm(range(3), desc="in with"):
                    pass
            print(early_lib.tqdm is original)
            sw.flush(10)
        """), timeout=120)
    lines = out.split("\n")
    assert lines[0] == "sse_widgets.integrations.capture True", out
    assert lines[1] == "True True", out
    assert lines[2] == "True", out  # transformers' ProgressCallback
    assert lines[3] == "True True", out
    assert lines[4] == "True", out
    by_label = {s["label"]: s for s in final_states(live_server, "cap/progress").values()}
    for label, n in [("lib tqdm", 7), ("lib trange", 7), ("lib notebook", 7), ("default thread_map", 5), ("transformers tqdm", 4), ("in with", 3)]:
        assert (by_label[label]["n"], by_label[label]["status"]) == (n, "done"), by_label
