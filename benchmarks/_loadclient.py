"""The load client shared by the fan-out benchmarks: many SSE subscribers, one publisher.

Counting is cheap on purpose (blank-line separators in the raw bytes), so that the client
is not what is measured; a few sampled subscribers also read each event's publish time
for latency. The client runs on uvloop where it is installed (the ``bench`` extra), and
each scenario reports the CPU share the client itself used (``client_cpu``, of one core):
near 1.0, the client is the bottleneck and the peers are not told apart by their servers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from _report import CpuShare

try:
    import uvloop
except ImportError:  # the plain asyncio loop: heavier, so more of the figures is the client
    uvloop = None

T = TypeVar("T")

#: The event loop the client runs on, for the table's caption.
LOOP = "uvloop" if uvloop is not None else "asyncio"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a scenario on uvloop where installed, else on asyncio's default loop."""
    if uvloop is not None:
        return uvloop.run(coroutine)
    return asyncio.run(coroutine)

_T_RE = re.compile(rb'"t":\s*([0-9]+\.[0-9]+)')


class Subscriber(asyncio.Protocol):
    """Counts ``\\n\\n`` separators; samples latencies if ``sample`` is set."""

    def __init__(self, sample: bool, latencies: list[float]):
        self.sample = sample
        self.latencies = latencies
        self.count = 0
        self.last_byte = b""
        self.headers_seen = asyncio.get_running_loop().create_future()
        self.status = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.headers_seen.done():
            head, sep, data = data.partition(b"\r\n\r\n")
            self.status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
            self.headers_seen.set_result(self.status)
            if not sep:
                return
        n = data.count(b"\n\n")
        if self.last_byte == b"\n" and data[:1] == b"\n":
            n += 1
        self.count += n
        if data:
            self.last_byte = data[-1:]
        if self.sample:
            now = time.time()
            self.latencies.extend(now - float(t) for t in _T_RE.findall(data))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.headers_seen.done():
            self.headers_seen.set_result(0)


@dataclass
class Target:
    """A server under test: where to subscribe and how to publish a batch."""

    name: str
    port: int
    sub_path: str
    pub_path: str
    pub_headers: dict[str, str] = field(default_factory=dict)
    #: Turns a list of event payloads into request bodies (one per request).
    bodies: Callable[[list[dict[str, object]]], list[bytes]] = lambda items: [json.dumps(items).encode()]
    #: Ports subscribers are spread over (several servers sharing one backend); default: port.
    sub_ports: list[int] = field(default_factory=list)


class Publisher:
    """One keep-alive HTTP/1.1 connection that POSTs and waits for each reply."""

    def __init__(self, target: Target):
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.target.port)

    async def publish(self, items: list[dict[str, object]]) -> None:
        for body in self.target.bodies(items):
            try:
                await self._post(body)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed the keep-alive connection (nginx does every 1,000
                # requests): open a new one and send again.
                self.close()
                await self.open()
                await self._post(body)

    async def _post(self, body: bytes) -> None:
        assert self.reader is not None and self.writer is not None
        extra = "".join(f"{k}: {v}\r\n" for k, v in self.target.pub_headers.items())
        self.writer.write(
            f"POST {self.target.pub_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?i)content-length:\s*(\d+)", head)
        if length:
            await self.reader.readexactly(int(length.group(1)))
        elif re.search(rb"(?i)transfer-encoding:\s*chunked", head):
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if status >= 300:
            raise RuntimeError(f"{self.target.name}: publish answered {status}")
        if re.search(rb"(?i)connection:\s*close", head):
            self.close()
            await self.open()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def open_subscribers(target: Target, n: int, samples: int) -> tuple[list[Subscriber], list[float]]:
    """Open ``n`` streams (in waves, to stay inside the listen backlog) and wait for headers."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    subs: list[Subscriber] = []
    request = f"GET {target.sub_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
    for start in range(0, n, 100):
        wave = []
        for i in range(start, min(n, start + 100)):
            ports = target.sub_ports or [target.port]
            _, protocol = await loop.create_connection(
                lambda i=i: Subscriber(i < samples, latencies), "127.0.0.1", ports[i % len(ports)]
            )
            protocol.transport.write(request)  # type: ignore[union-attr]
            wave.append(protocol)
        statuses = await asyncio.gather(*(p.headers_seen for p in wave))
        if any(s != 200 for s in statuses):
            raise RuntimeError(f"{target.name}: stream refused: {sorted(set(statuses))}")
        subs += wave
    await asyncio.sleep(0.5)  # let connection-time events (retry:, "connected") arrive
    return subs, latencies


def payload(i: int) -> dict[str, object]:
    return {"t": time.time(), "i": i, "values": {"loss": 0.25, "acc": 0.875}}


async def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def blast(target: Target, subscribers: int, events: int, batch: int, samples: int = 20) -> dict[str, float]:
    """Publish ``events`` in ``batch``-sized requests as fast as replies allow."""
    subs, latencies = await open_subscribers(target, subscribers, samples)
    base = [s.count for s in subs]
    publisher = Publisher(target)
    await publisher.open()
    start = time.perf_counter()
    with CpuShare() as cpu:
        for i in range(0, events, batch):
            await publisher.publish([payload(i + k) for k in range(batch)])
        expected = subscribers * events
        done = await wait_for(lambda: sum(s.count for s in subs) - sum(base) >= expected, 120)
    elapsed = time.perf_counter() - start
    delivered = sum(s.count for s in subs) - sum(base)
    publisher.close()
    for s in subs:
        s.transport.close()  # type: ignore[union-attr]
    return {
        "delivered_per_s": delivered / elapsed,
        "complete": float(done),
        "delivered_fraction": delivered / max(1, expected),
        "client_cpu": cpu.share,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def steady(target: Target, subscribers: int, rate: int, batch: int, duration: float, samples: int = 20) -> dict[str, float]:
    """Offer ``rate`` events/s as ``batch``-sized requests, each waiting for its reply."""
    subs, latencies = await open_subscribers(target, subscribers, samples)
    base = sum(s.count for s in subs)
    publisher = Publisher(target)
    await publisher.open()
    interval = batch / rate
    sent = 0
    start = time.perf_counter()
    next_at = start
    with CpuShare() as cpu:
        while time.perf_counter() - start < duration:
            await publisher.publish([payload(sent + k) for k in range(batch)])
            sent += batch
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        elapsed = time.perf_counter() - start
        await wait_for(lambda: sum(s.count for s in subs) - base >= sent * subscribers, 10)
    delivered = sum(s.count for s in subs) - base
    publisher.close()
    for s in subs:
        s.transport.close()  # type: ignore[union-attr]
    return {
        "sustained_events_per_s": sent / elapsed,
        "delivered_fraction": delivered / max(1, sent * subscribers),
        "client_cpu": cpu.share,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }
