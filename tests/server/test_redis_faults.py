"""Redis faults against two real Jupyter servers sharing one real redis-server.

Each case runs a publisher (batches sent to either server in turn, retried with the same
idempotency key once an answer was 504, with a new one while every answer was 503, since
a 503 says nothing was stored) and a follower (one stream that moves between the servers, resuming
from its cursor), injects a fault, recovers, and then checks: nothing acknowledged is
lost, nothing is duplicated (a 503 that stored something would show up twice), no 500 was
ever answered, and live delivery resumes on both servers.
"""

from __future__ import annotations

import collections
import http.client
import json
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis_servers import RedisServer
from servers import JupyterServer
from sse_client import SSEParser, SSEStream

from sse_widgets.protocol import IDEMPOTENCY_HEADER, KEY_HEADER, mint_ticket

pytestmark = [pytest.mark.redis, pytest.mark.slow]

#: A command timeout far below the default 10 s, so that each case takes seconds.
SOCKET_TIMEOUT = 1.0
#: Runs in Redis for ARGV[1] ms: longer than SOCKET_TIMEOUT.
BUSY_SCRIPT = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
while true do
  t = redis.call('TIME')
  if t[1] * 1000000 + t[2] - start > tonumber(ARGV[1]) * 1000 then return 1 end
end
"""


def server_options(url: str, prefix: str) -> dict[str, Any]:
    return {
        "SSEWidgetsApp.backend": "redis",
        "SSEWidgetsApp.redis_url": url,
        "SSEWidgetsApp.redis_prefix": prefix,
        "SSEWidgetsApp.redis_socket_timeout": SOCKET_TIMEOUT,
        "SSEWidgetsApp.retry_ms": 200,
        "SSEWidgetsApp.heartbeat_interval": 1,
    }


class Cluster:
    def __init__(self, redis_server: RedisServer, prefix: str, servers: list[JupyterServer], key: str):
        self.redis = redis_server
        self.prefix = prefix
        self.servers = servers
        self.key = key


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One Redis (append-only, fsync always) and servers A and B sharing it and its key."""
    redis_server = RedisServer().start()
    prefix = f"faults-{uuid.uuid4().hex[:6]}:"
    started: list[JupyterServer] = []
    try:
        for _ in range(2):
            started.append(JupyterServer(key="", options=server_options(redis_server.url, prefix)).start())
        key = redis_server.client().get(prefix + "publish-key").decode()
        for server in started:
            server.key = key
        yield Cluster(redis_server, prefix, started, key)
    finally:
        for server in started:
            server.stop()
        redis_server.cleanup()


def post(server: JupyterServer, key: str, body: Any, idempotency_key: str | None = None, timeout: float = 15) -> tuple[int, Any]:
    url = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    headers = {KEY_HEADER: key, "Content-Type": "application/json"}
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    try:
        connection.request("POST", f"{url.path}sse-widgets/api/publish", body=json.dumps(body).encode(), headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = payload
    return response.status, parsed


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait for an event (bounded, so that a broken case fails instead of hanging)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {what}")
        time.sleep(0.05)


class Publisher(threading.Thread):
    """Publishes numbered batches to the servers in turn, as a careful client would."""

    def __init__(self, cluster: Cluster, channel: str, key: str | None = None):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.channel = channel
        self.key = key or cluster.key
        self.acked: dict[int, str] = {}  # n -> id
        self.statuses: collections.Counter[int] = collections.Counter()
        self.bad: list[tuple[int, Any]] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        n, turn = 0, 0
        while not self.stopping.is_set():
            batch = [{"channel": f"{self.channel}/{(n + i) % 3}", "data": {"n": n + i}} for i in range(3)]
            idempotency_key = uuid.uuid4().hex
            uncertain = False
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                server = self.cluster.servers[turn % len(self.cluster.servers)]
                turn += 1
                try:
                    status, reply = post(server, self.key, batch, idempotency_key)
                except OSError:
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.statuses[status] += 1
                if status == 200:
                    with self.lock:
                        for i, event_id in enumerate(reply["ids"]):
                            self.acked[n + i] = event_id
                    break
                if status == 503 and not uncertain:
                    # Every answer so far said nothing was stored: a new key is safe, and
                    # a 503 that lied would show up as a duplicate.
                    idempotency_key = uuid.uuid4().hex
                elif status == 504:
                    uncertain = True  # from now on only the same key is safe
                elif status != 503:
                    self.bad.append((status, reply))
                    break
                if self.stopping.is_set() and status == 503 and not uncertain:
                    break
                time.sleep(0.05)
            n += 3
            time.sleep(0.01)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def stop(self) -> None:
        self.stopping.set()
        self.join(150)
        assert not self.is_alive()


class Follower(threading.Thread):
    """One stream on ``channel/*`` that moves between the servers every few events (and
    whenever it ends), resuming from its cursor; keeps what a page would show."""

    def __init__(self, cluster: Cluster, channel: str):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.channel = channel
        self.view: list[tuple[str, int]] = []  # (id, n) since the last reset
        self.resets: list[str] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        cursor: str | None = None
        turn = 0
        while not self.stopping.is_set():
            server = self.cluster.servers[turn % len(self.cluster.servers)]
            turn += 1
            try:
                stream = SSEStream(
                    server.url, [f"{self.channel}/*"], token=server.token,
                    last_event_id="0" if cursor is None else None, header_cursor=cursor, timeout=15,
                )
            except OSError:
                time.sleep(0.1)
                continue
            with self.lock:
                self.statuses[stream.status] += 1
            if stream.status != 200:
                stream.close()
                time.sleep(0.1)
                continue
            parser, got = SSEParser(), 0
            try:
                while got < 40 and not self.stopping.is_set():
                    data = stream._recv(0.5)
                    if data is None:
                        continue
                    if not data:
                        break
                    for event in parser.feed(data):
                        got += 1
                        with self.lock:
                            if event.type == "reset":
                                self.resets.append(event.data)
                                self.view = []
                            else:
                                self.view.append((event.id or "", event.json["data"]["n"]))
                        cursor = event.id
            finally:
                stream.close()

    def seen(self) -> list[tuple[str, int]]:
        with self.lock:
            return list(self.view)

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)
        assert not self.is_alive()


def seq(event_id: str) -> int:
    return int(event_id.rsplit("-", 1)[1])


def epoch(event_id: str) -> str:
    return event_id.rsplit("-", 1)[0]


def assert_live_on_every_server(cluster: Cluster) -> None:
    """A live-only stream on each server receives an event published after recovery."""
    marker = f"live-{uuid.uuid4().hex[:8]}"
    streams = [SSEStream(s.url, [marker], token=s.token, timeout=15) for s in cluster.servers]
    try:
        assert [s.status for s in streams] == [200] * len(streams)
        status, reply = post(cluster.servers[0], cluster.key, {"channel": marker, "data": {"n": -1}}, uuid.uuid4().hex)
        assert status == 200, reply
        for stream in streams:
            events = stream.read_count(1, timeout=30)
            assert [e.id for e in events] == reply["ids"]
    finally:
        for stream in streams:
            stream.close()
    for server in cluster.servers:
        wait_for(lambda server=server: server.api("GET", "sse-widgets/api/channels")["stats"]["redis_connected"],
                 "the server's reader is connected again")


def run_case(cluster: Cluster, fault: Callable[[], None], *, data_loss: bool = False) -> tuple[Publisher, Follower]:
    """Publish and follow, inject ``fault`` (returns once Redis has recovered), then check."""
    try:
        return _run_case(cluster, fault, data_loss)
    except BaseException:
        for server in cluster.servers:  # what the servers said, to explain the failure
            print(f"--- log of {server.url}\n{server.log()[-20000:]}")
        raise


def _run_case(cluster: Cluster, fault: Callable[[], None], data_loss: bool) -> tuple[Publisher, Follower]:
    channel = f"case-{uuid.uuid4().hex[:8]}"
    publisher, follower = Publisher(cluster, channel), Follower(cluster, channel)
    follower.start()
    publisher.start()
    try:
        wait_for(lambda: publisher.count() >= 30, "publishing before the fault")
        fault()
        recovered_at = publisher.count()
        wait_for(lambda: publisher.count() >= recovered_at + 30, "publishing after the fault")
        assert_live_on_every_server(cluster)
    finally:
        publisher.stop()
    try:
        acked = dict(publisher.acked)
        final_epoch = epoch(acked[max(acked)])
        expected = {n for n, event_id in acked.items() if epoch(event_id) == final_epoch}
        if not data_loss:
            assert len(expected) == len(acked), "the epoch changed without a data loss"
        try:
            wait_for(lambda: expected <= {n for _, n in follower.seen()}, "every acknowledged event followed")
        except AssertionError:
            missing = sorted(expected - {n for _, n in follower.seen()})
            print("missing:", [(n, acked[n]) for n in missing][:20], "view tail:", follower.seen()[-5:],
                  "resets:", follower.resets, "stream statuses:", follower.statuses)
            for server in cluster.servers:
                print(server.api("GET", "sse-widgets/api/channels")["stats"])
            raise
    finally:
        follower.stop()
    view = follower.seen()
    ns = [n for _, n in view]
    twice = {n: [i for i, m in view if m == n] for n, k in collections.Counter(ns).items() if k > 1}
    assert not twice, f"delivered twice: {twice}; acked as {[publisher.acked.get(n) for n in twice]}"
    assert [seq(i) for i, _ in view] == sorted(seq(i) for i, _ in view)
    assert {epoch(i) for i, _ in view} == {final_epoch}
    assert {n: acked[n] for n in expected} == {n: i for i, n in view if n in expected}
    assert publisher.bad == []
    assert set(publisher.statuses) <= {200, 503, 504}, publisher.statuses
    assert set(follower.statuses) <= {200, 503}, follower.statuses
    return publisher, follower


def run_script_in_redis(cluster: Cluster, milliseconds: int) -> threading.Thread:
    def busy() -> None:
        client = cluster.redis.client()
        try:
            client.eval(BUSY_SCRIPT, 0, milliseconds)
        finally:
            client.close()

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    return thread


def test_busy_script_longer_than_the_client_timeout(cluster: Cluster) -> None:
    """Redis runs a script for 3 s: first silently (every command waits, publishes time out
    and are answered 504, then run when the script ends), then answering BUSY to everyone
    (the reader's reconnect gets BUSY: it used to end the reader for good)."""
    control = cluster.redis.client()

    def fault() -> None:
        control.config_set("busy-reply-threshold", 10_000)
        run_script_in_redis(cluster, 3000).join(30)
        control.config_set("busy-reply-threshold", 100)
        try:
            run_script_in_redis(cluster, 3000).join(30)
        finally:
            control.config_set("busy-reply-threshold", 5000)

    publisher, _ = run_case(cluster, fault)
    assert publisher.statuses[504] > 0 and publisher.statuses[503] > 0


def test_redis_frozen_then_thawed(cluster: Cluster) -> None:
    def fault() -> None:
        cluster.redis.pause()
        time.sleep(3)  # the fault itself: frozen longer than the command timeout
        cluster.redis.resume()

    publisher, _ = run_case(cluster, fault)
    assert publisher.statuses[504] + publisher.statuses[503] > 0


def test_redis_killed_and_restarted_with_its_append_only_file(cluster: Cluster) -> None:
    def fault() -> None:
        cluster.redis.kill()
        time.sleep(1)  # the fault: Redis is away for a while
        cluster.redis.start()

    publisher, follower = run_case(cluster, fault)
    assert publisher.statuses[503] > 0
    assert follower.resets == []  # nothing was lost, so no stream had to reset


def test_flushall_then_servers_converge_on_one_key_and_old_kernels_keep_publishing(cluster: Cluster) -> None:
    """FLUSHALL, and a third server starting right after it makes a new key (done here in
    the same transaction, so that it certainly comes first)."""
    control = cluster.redis.client()
    old_key = cluster.key

    def fault() -> None:
        pipe = control.pipeline(transaction=True)
        pipe.flushall()
        pipe.set(cluster.prefix + "publish-key", "key-of-a-server-started-after-the-flush")
        pipe.sadd(cluster.prefix + "publish-keys", "key-of-a-server-started-after-the-flush")
        pipe.execute()

    _, follower = run_case(cluster, fault, data_loss=True)
    assert any(json.loads(r)["reason"] == "epoch" for r in follower.resets)
    # A server started now gets the key every server converged on ...
    late = JupyterServer(key="", options=server_options(cluster.redis.url, cluster.prefix)).start()
    try:
        new_key = control.get(cluster.prefix + "publish-key").decode()
        assert new_key == "key-of-a-server-started-after-the-flush"
        # ... and kernels that were running before (the old key) publish to it, and to A,
        # and new ones (the new key) to A and B too.
        for server, key in [(late, old_key), (cluster.servers[0], old_key), (cluster.servers[0], new_key),
                            (cluster.servers[1], new_key)]:
            status, reply = post(server, key, {"channel": "converged", "data": {"n": 0}})
            assert status == 200, reply
        # A ticket minted in an old kernel opens a stream on the new server.
        with SSEStream(late.url, ["converged"], tickets=[mint_ticket(old_key, ["converged"], ttl=60)]) as stream:
            assert stream.status == 200
        status, _ = post(late, "not-a-key-anyone-handed-out", {"channel": "converged", "data": {"n": 0}})
        assert status == 403
    finally:
        late.stop()


def test_redis_out_of_memory(cluster: Cluster) -> None:
    """maxmemory with noeviction: publish gets 503 with Redis's reason, nothing of the
    request is stored, open streams keep running, and publishing resumes after."""
    control = cluster.redis.client()
    a = cluster.servers[0]
    probe_channel = f"oom-{uuid.uuid4().hex[:6]}"
    survivor = SSEStream(a.url, [probe_channel], token=a.token, timeout=15)
    refusals: list[str] = []
    probes: list[str] = []
    refused: list[str] = []

    def fault() -> None:
        used = int(control.info("memory")["used_memory"])
        control.config_set("maxmemory-policy", "noeviction")
        control.config_set("maxmemory", used + (2 << 20))
        try:
            for i in range(400):  # fill it up: 32 KiB events
                status, reply = post(a, cluster.key, [{"channel": f"{probe_channel}-fill", "data": "x" * 32768}] * 8)
                if status == 503:
                    refusals.append(reply["message"])
                    break
                assert status == 200, reply
            else:
                raise AssertionError("maxmemory was never reached")
            # Right at the limit a small request may still fit: probe until one is refused.
            for i in range(100):
                probe = {"channel": probe_channel, "data": {"n": f"probe-{i}", "pad": "p" * 16384}}
                status, reply = post(a, cluster.key, probe)
                if status == 503:
                    refused.append(f"probe-{i}")
                    refusals.append(reply["message"])
                    break
                assert status == 200, reply
                probes.append(f"probe-{i}")
            assert refused, "maxmemory refused nothing small"
        finally:
            control.config_set("maxmemory", 0)

    try:
        run_case(cluster, fault)
        assert all("OOM" in m and "nothing was published" in m for m in refusals), refusals
        status, _ = post(a, cluster.key, {"channel": probe_channel, "data": {"n": "after"}})
        assert status == 200
        # The stream opened before the fault kept running: the first thing on it is this.
        events = survivor.read_count(len(probes) + 1, timeout=30)
        assert [e.json["data"]["n"] for e in events] == [*probes, "after"]
        history = a.api("GET", f"sse-widgets/api/channels/{probe_channel}/events")
        assert [e["data"]["n"] for e in history["events"]] == [*probes, "after"]  # not the refused one
    finally:
        survivor.close()


def test_connections_dropped_by_client_kill(cluster: Cluster) -> None:
    control = cluster.redis.client()

    def fault() -> None:
        for _ in range(5):
            control.client_kill_filter(_type="normal", skipme=True)
            time.sleep(0.3)

    run_case(cluster, fault)


def test_server_stops_on_sigterm_after_its_reader_met_busy(cluster: Cluster) -> None:
    """The reader used to end on BUSY, and then stopping the server re-raised its error:
    the server ignored SIGTERM."""
    server = JupyterServer(key=cluster.key, options=server_options(cluster.redis.url, cluster.prefix)).start()
    try:
        control = cluster.redis.client()
        control.config_set("busy-reply-threshold", 100)
        try:
            run_script_in_redis(cluster, 3000).join(30)
        finally:
            control.config_set("busy-reply-threshold", 5000)
        wait_for(lambda: server.api("GET", "sse-widgets/api/channels")["stats"]["redis_outages"] > 0,
                 "the reader noticed the busy Redis")
        wait_for(lambda: server.api("GET", "sse-widgets/api/channels")["stats"]["redis_connected"],
                 "the reader is back")
        with SSEStream(server.url, ["after-busy"], token=server.token) as stream:
            status, reply = post(server, cluster.key, {"channel": "after-busy", "data": {"n": 1}})
            assert status == 200
            assert [e.id for e in stream.read_count(1, timeout=30)] == reply["ids"]
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server ignored SIGTERM") from None
    finally:
        server.stop()


def test_publish_timing_out_while_redis_is_busy_then_retried_is_stored_once(cluster: Cluster) -> None:
    """The first attempt gets no answer from Redis in time (504, outcome unknown), yet it
    runs once Redis is free; the retry with the same key gets the same ids."""
    a, b = cluster.servers
    control = cluster.redis.client()
    channel = f"once-{uuid.uuid4().hex[:6]}"
    control.config_set("busy-reply-threshold", 10_000)
    try:
        busy = run_script_in_redis(cluster, 3000)
        wait_for(lambda: _redis_is_busy(cluster), "Redis is running the script")
        key = uuid.uuid4().hex
        batch = [{"channel": channel, "data": {"n": i}} for i in range(3)]
        status, reply = post(a, cluster.key, batch, key)
        assert status == 504, reply
        assert "outcome is unknown" in reply["message"] and "same idempotency key" in reply["message"]
        busy.join(30)
    finally:
        control.config_set("busy-reply-threshold", 5000)
    wait_for(lambda: post(b, cluster.key, batch, key)[0] == 200, "the retry is answered")
    status, reply = post(b, cluster.key, batch, key)
    history = a.api("GET", f"sse-widgets/api/channels/{channel}/events")
    assert [e["id"] for e in history["events"]] == reply["ids"]
    assert [e["data"]["n"] for e in history["events"]] == [0, 1, 2]


def _redis_is_busy(cluster: Cluster) -> bool:
    client = cluster.redis.client(socket_timeout=0.2)
    try:
        client.ping()
        return False
    except redis.TimeoutError:
        return True
    finally:
        client.close()


def test_python_publisher_retrying_through_a_busy_redis_stores_each_event_once(cluster: Cluster) -> None:
    """The kernel-side sender: its first POST times out in Redis (504), its retries carry
    the same idempotency key, and the batch is stored once."""
    from sse_widgets.publisher.connection import Connection
    from sse_widgets.publisher.transport import Transport

    a = cluster.servers[0]
    channel = f"sender-{uuid.uuid4().hex[:6]}"
    sender = Transport(Connection(a.url, cluster.key))
    control = cluster.redis.client()
    control.config_set("busy-reply-threshold", 10_000)
    try:
        busy = run_script_in_redis(cluster, 3000)
        wait_for(lambda: _redis_is_busy(cluster), "Redis is running the script")
        for i in range(5):
            event = json.dumps({"channel": channel, "type": "message", "data": i})
            sender.put(event, len(event))
        sender.flush(0.01)  # starts the sender, which posts and waits for an answer
        wait_for(lambda: "504" in (sender.last_error or ""), "the first attempt's outcome is unknown")
        busy.join(30)
    finally:
        control.config_set("busy-reply-threshold", 5000)
    wait_for(lambda: sender.flush(1).ok, "the sender delivered its batch")
    sender.close()
    history = a.api("GET", f"sse-widgets/api/channels/{channel}/events")
    assert [e["data"] for e in history["events"]] == [0, 1, 2, 3, 4]


def test_server_stops_on_sigterm_while_redis_is_frozen(cluster: Cluster) -> None:
    server = JupyterServer(key=cluster.key, options=server_options(cluster.redis.url, cluster.prefix)).start()
    try:
        stream = SSEStream(server.url, ["frozen"], token=server.token)
        assert stream.status == 200
        cluster.redis.pause()
        try:
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(60)
            except subprocess.TimeoutExpired:
                raise AssertionError("the server ignored SIGTERM while Redis was frozen") from None
        finally:
            cluster.redis.resume()
            stream.close()
    finally:
        server.stop()
