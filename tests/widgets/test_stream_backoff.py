"""The browser's reconnect backoff (``js/src/stream.ts``, ``Connection.failed``): when a
server restart ends every stream at once, the retries must be spread from the first one.

The real module is bundled and run in Node: many ``Connection``s on a transport that fails
on demand, with ``setTimeout`` replaced by a recorder, so the test reads the delays the
code asks for rather than timing anything.
"""

from __future__ import annotations

from pathlib import Path

from node_support import run_module

CONNECTIONS = 2000

DRIVER = """
import(%(bundle)s).then((m) => {
  const timers = [];
  globalThis.setTimeout = (fn, ms) => { timers.push({ fn, ms }); return timers.length; };
  globalThis.clearTimeout = () => {};
  const sinks = [];
  m.getRegistry().transports.failing = (request, sink) => { sinks.push(sink); return { close() {} }; };
  for (let i = 0; i < %(connections)d; i++) {
    new m.Connection("/", "failing").subscribe({
      patterns: ["t"], tickets: () => [], onEvent() {}, onReset() {},
    });
  }
  const delays = [];
  for (let failure = 1; failure <= 3; failure++) {
    // Run what is scheduled (the first connect, or the previous retry): every connection
    // makes a transport, and the server is gone, so each one fails.
    timers.splice(0).forEach((t) => t.fn());
    sinks.splice(0).forEach((sink) => sink.error());
    delays.push(timers.map((t) => t.ms));
  }
  process.stdout.write(JSON.stringify(delays));
});
"""


def retry_delays(tmp_path: Path) -> list[list[float]]:
    return run_module(tmp_path, "stream.ts", DRIVER.replace("%(connections)d", str(CONNECTIONS)))  # type: ignore[no-any-return]


def test_reconnects_after_a_restart_are_spread_from_the_first_retry(tmp_path: Path) -> None:
    delays = retry_delays(tmp_path)
    assert [len(d) for d in delays] == [CONNECTIONS] * 3  # one retry per connection and failure
    for failure, found in enumerate(delays, start=1):
        cap = 1000 * 2 ** (failure - 1)
        assert min(found) >= 100 and max(found) <= cap  # a floor, and the doubling cap
        # Full jitter: the whole window is used, from the first retry on. Equal jitter
        # (half the cap plus a random half) left the first half empty, so every browser
        # came back within the same few hundred milliseconds.
        assert min(found) < 100 + 0.05 * cap and max(found) > 0.95 * cap, (failure, min(found), max(found))
        quarters = [sum(q * cap / 4 <= d < (q + 1) * cap / 4 for d in found) for q in range(4)]
        assert min(quarters) > CONNECTIONS / 8, quarters  # spread evenly, not bunched
