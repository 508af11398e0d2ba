"""Hosts that can carry widget messages: where a process without a hub can still feed its widgets.

A *widget host* is a runtime whose frontend shows this process's anywidgets and carries
their custom messages (``widget.send(content, buffers)`` in Python, ``msg:custom`` in the
page). In one, the in-kernel transport (``local.py``) sends events to the widgets over that
channel when no hub is reachable; anywhere else (a script, a worker) there is nobody to send
them to. Each host is one small adapter with two duties:

- ``present()``: this process (this thread, for hosts whose runtime is per thread) is
  running in the host now. It imports nothing: a host is present only if its runtime was
  loaded already, so a script never imports ipykernel or marimo because of us.
- ``send(widget, content, payload)``: one custom message to the widget's frontend, from
  the transport's sender thread; False when that frontend is gone.

Adapters, in the order they are asked:

- ``IPythonKernel``: ipykernel (JupyterLab, Notebook 7, Voila, VS Code, Colab). Its IOPub
  socket takes sends from any thread (handed to its IO thread), so events leave while a
  cell runs.
- ``Marimo``: a marimo notebook or app (``marimo edit``, ``marimo run``). Detected as
  marimo documents it, ``marimo.running_in_notebook()`` (``marimo/_runtime/context/
  utils.py``: a ``KernelRuntimeContext`` is installed for this thread). marimo gives every
  anywidget a ``MarimoComm`` bound to its session's stream when it opens, and that stream
  is thread safe (``marimo/_plugins/ui/_impl/comm.py``, ``_messaging/streams.py``
  ``ThreadSafeStream``), so the sender thread can send too; custom messages become
  ``ModelCustom`` notifications, which (unlike model updates) re-run no cell.

A new host is one more class here and one entry in ``HOSTS``.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol


class WidgetHost(Protocol):
    """A runtime whose frontends show this process's widgets and carry their custom messages."""

    #: Shown in messages: "an IPython kernel", "marimo".
    name: str
    #: The module whose presence in ``sys.modules`` means the host may be present, now or
    #: in another thread later.
    runtime: str

    def present(self) -> bool:
        """True when this process runs in the host now; never imports it."""

    def send(self, widget: Any, content: dict[str, Any], payload: bytes) -> bool:
        """Send one custom message (``payload`` as its binary buffer); False when the frontend is gone."""


def _send_over_comm(widget: Any, content: dict[str, Any], payload: bytes) -> bool:
    if getattr(widget, "comm", None) is None:  # closed: ipywidgets sets comm to None
        return False
    widget.send(content, buffers=[payload])
    return True


class IPythonKernel:
    """ipykernel: Jupyter's own kernels, and those of VS Code and Colab."""

    name = "an IPython kernel"
    runtime = "ipykernel.kernelapp"

    def present(self) -> bool:
        app = sys.modules.get(self.runtime)
        return app is not None and bool(app.IPKernelApp.initialized())

    def send(self, widget: Any, content: dict[str, Any], payload: bytes) -> bool:
        # ipykernel's IOPub socket is thread safe: a send from any thread is queued to its
        # IO thread, so this works while a cell runs.
        return _send_over_comm(widget, content, payload)


class Marimo:
    """A marimo notebook or app: anywidgets shown with ``mo.ui.anywidget(widget)``."""

    name = "marimo"
    runtime = "marimo"

    def present(self) -> bool:
        marimo = sys.modules.get(self.runtime)
        running = getattr(marimo, "running_in_notebook", None) if marimo is not None else None
        return callable(running) and bool(running())

    def send(self, widget: Any, content: dict[str, Any], payload: bytes) -> bool:
        # marimo closes a widget's comm when its cell runs again or is deleted, without
        # telling the widget (CommLifecycleItem.dispose calls MarimoComm.close); a closed
        # MarimoComm still broadcasts, to a model the page has dropped, so ask it.
        if getattr(getattr(widget, "comm", None), "_closed", False):
            return False
        return _send_over_comm(widget, content, payload)


#: Asked in this order; the first present one carries this process's widget messages.
HOSTS: tuple[WidgetHost, ...] = (IPythonKernel(), Marimo())


def current() -> WidgetHost | None:
    """The host this process (or thread) runs in, or None: nobody shows its widgets."""
    for host in HOSTS:
        if host.present():
            return host
    return None


def runtime_loaded() -> bool:
    """Some host's runtime is loaded: a host may be present later, or in another thread."""
    return any(host.runtime in sys.modules for host in HOSTS)
