"""The extension in-process, through jupyter_server.pytest_plugin (jp_fetch, jp_serverapp)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
from typing import Any

import pytest
from sse_client import SSEParser
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.httputil import HTTPServerRequest

from sse_widgets.server.handlers import StreamHandler

KEY = "test-publish-key"


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"sse_widgets": True}},
        "SSEWidgetsApp": {"publish_key": KEY, "heartbeat_interval": 0.1, "history_size": 3},
    }


async def until(condition: Any, timeout: float = 30.0) -> None:
    """Wait for an event the test means (not for a time), or fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def extension(jp_serverapp: Any) -> Any:
    return jp_serverapp.extension_manager.extension_apps["sse_widgets"].pop()


async def publish(jp_fetch: Any, body: Any) -> Any:
    response = await jp_fetch(
        "sse-widgets", "api", "publish", method="POST", body=json.dumps(body),
        headers={"X-SSE-Widgets-Key": KEY},
    )
    return json.loads(response.body)


async def test_config_reaches_the_hub_and_env_is_exported(jp_serverapp: Any) -> None:
    app = extension(jp_serverapp)
    assert app.hub.heartbeat_interval == 0.1
    assert app.hub.backend.history_size == 3
    assert os.environ["SSE_WIDGETS_KEY"] == KEY
    assert os.environ["SSE_WIDGETS_URL"] == f"http://127.0.0.1:{jp_serverapp.port}{jp_serverapp.base_url}"


async def test_publish_and_history_trimmed_by_config(jp_fetch: Any) -> None:
    reply = await publish(jp_fetch, [{"channel": "h", "data": i} for i in range(5)])
    assert len(reply["ids"]) == 5
    response = await jp_fetch("sse-widgets", "api", "channels", "h", "events")
    assert [e["data"] for e in json.loads(response.body)["events"]] == [2, 3, 4]


async def test_bad_publish_is_a_400_with_a_message(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await publish(jp_fetch, {"channel": "no spaces allowed"})
    assert info.value.code == 400
    assert "bad channel name" in json.loads(info.value.response.body)["message"]  # type: ignore[union-attr]


async def test_unknown_channel_delete_is_404(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("sse-widgets", "api", "channels", "nothing-here", method="DELETE")
    assert info.value.code == 404


async def test_stream_heartbeat_and_stop_extension_ends_it_cleanly(
    jp_serverapp: Any, jp_fetch: Any, jp_base_url: str, jp_http_port: int, jp_auth_header: dict[str, str]
) -> None:
    # jp_fetch starts the HTTP server that listens on jp_http_port.
    parser = SSEParser()
    events: list[Any] = []
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}sse-widgets/api/stream?channel=s"

    def on_chunk(chunk: bytes) -> None:
        events.extend(parser.feed(chunk))

    client = AsyncHTTPClient()
    request = client.fetch(url, headers=jp_auth_header, streaming_callback=on_chunk, request_timeout=30)
    app = extension(jp_serverapp)
    await until(lambda: app.hub.stats()["subscribers"] == 1 and parser.comments.count("ping") >= 2)
    assert parser.retry is not None
    await app.hub.publish({"channel": "s", "data": "live"})
    await until(lambda: len(events) >= 1)
    assert [e.json["data"] for e in events] == ["live"]
    await app.stop_extension()
    response = await asyncio.wait_for(request, 10)  # the response ended, no error
    assert response.code == 200
    assert app.hub.stats()["subscribers"] == 0


async def test_an_open_stream_keeps_no_handler_or_request_alive(
    jp_serverapp: Any, jp_fetch: Any, jp_base_url: str, jp_http_port: int, jp_auth_header: dict[str, str]
) -> None:
    # Each of 10,000 viewers' streams kept its handler, request, headers and cookies (about
    # 12 KiB) until it ended: the handler awaited the stream, and jupyter-server's
    # CallContext held the handler in every callback the stream registered (and, for the
    # request that started the hub, in the hub's own tasks).
    parser = SSEParser()
    events: list[Any] = []
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}sse-widgets/api/stream?channel=g"
    request = AsyncHTTPClient().fetch(url, headers=jp_auth_header, request_timeout=30,
                                      streaming_callback=lambda chunk: events.extend(parser.feed(chunk)))
    app = extension(jp_serverapp)
    await until(lambda: parser.retry is not None and app.hub.stats()["subscribers"] == 1)
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, (StreamHandler, HTTPServerRequest))
             and "/stream" in str(getattr(o, "uri", None) or getattr(o.request, "uri", ""))]
    assert alive == []
    await publish(jp_fetch, {"channel": "g", "data": "live"})  # the stream itself still works
    await until(lambda: len(events) == 1)
    await app.stop_extension()
    assert (await asyncio.wait_for(request, 10)).code == 200
    assert app.hub.stats()["subscribers"] == 0
