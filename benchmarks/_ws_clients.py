"""A pool of lightweight Socket.IO websocket clients, driven over stdin/stdout.

The clients are :class:`benchmarks._sio_protocol.RawClient` (one raw
websocket and one reader greenlet each), so the client side stays small
next to what a fan-out benchmark measures. Run by the socket benchmarks in
its own process (gevent-patched)::

    python -m benchmarks._ws_clients --url http://127.0.0.1:8000 --count 200

It connects ``--count`` clients, prints one JSON line, then answers one JSON
line per command read from stdin:

- ``emit SEQ``: POST ``/emit/SEQ``; wait until every open client received
  ``news`` with that seq; report the server's emit time ``t0`` and the
  first/last receipt (``time.monotonic()``, system-wide on Linux);
- ``arm SEQ`` / ``collect SEQ SECONDS``: for a broadcast driven by someone
  else (several pools share one server): ``arm`` starts waiting for ``news``
  with that seq; ``collect`` waits up to SECONDS until every open client got
  it and reports how many did and the first/last receipt (absolute
  ``time.monotonic()``);
- ``close K``: close K connections from the client side;
- ``wait_closed SECONDS``: wait until the server closed every connection;
- ``status``: open connections and shutdown events received;
- ``quit`` (or end of input): close everything and exit.

The process exits by itself after ``--max-seconds`` whatever happens.
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import http.client  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from gevent.event import Event  # noqa: E402

from benchmarks._sio_protocol import RawClient, close_all, pool_arguments, run_pool  # noqa: E402


class _Tally:
    """The pool's clients, receipt times per seq, and an event set when every
    open client has the awaited seq (or when every client is closed)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clients: List[RawClient] = []
        self.receipts: Dict[int, List[float]] = {}
        self.waiting: Optional[int] = None
        self.expected = 0
        self.done = Event()
        self.shutdown_events = 0
        self.all_closed = Event()

    @property
    def open(self) -> int:
        return sum(not c.closed for c in self.clients)

    def connect(self) -> RawClient:
        client = RawClient(self.url, timeout=10, on_event=self._on_event, on_close=self._on_close)
        self.clients.append(client)
        return client

    def _on_event(self, event: str, args: List[Any]) -> None:
        if event == "news":
            self._received(int(args[0]["seq"]))
        elif event == "server_shutdown":
            self.shutdown_events += 1

    def _received(self, seq: int) -> None:
        times = self.receipts.setdefault(seq, [])
        times.append(time.monotonic())
        if seq == self.waiting and len(times) >= self.expected:
            self.done.set()

    def _on_close(self) -> None:
        still_open = self.open
        if self.waiting is not None and len(self.receipts.get(self.waiting, ())) >= still_open:
            self.done.set()
        if still_open <= 0:
            self.all_closed.set()

    # ------------------------------------------------------------ commands
    def emit(self, words: List[str]) -> Dict[str, Any]:
        seq = int(words[0])
        self.waiting, self.expected = seq, self.open
        self.done.clear()
        answer = _post_emit(self.url, seq)
        self.done.wait(10)
        times = self.receipts.pop(seq, [])
        self.waiting = None
        t0 = float(answer["t0"])
        return {"seq": seq, "received": len(times), "expected": self.expected,
                "first": (min(times) - t0) if times else None, "last": (max(times) - t0) if times else None}

    def arm(self, words: List[str]) -> Dict[str, Any]:
        seq = int(words[0])
        self.waiting, self.expected = seq, self.open
        self.done.clear()
        if len(self.receipts.get(seq, ())) >= self.expected:
            self.done.set()
        return {"armed": seq, "expected": self.expected}

    def collect(self, words: List[str]) -> Dict[str, Any]:
        seq, limit = int(words[0]), float(words[1])
        if self.waiting != seq:
            raise RuntimeError(f"collect {seq} without arm {seq} first (armed: {self.waiting})")
        self.done.wait(limit)
        times = self.receipts.pop(seq, [])
        self.waiting = None
        return {"seq": seq, "received": len(times), "expected": self.expected,
                "first": min(times) if times else None, "last": max(times) if times else None}

    def close(self, words: List[str]) -> Dict[str, Any]:
        close_all([c for c in self.clients if not c.closed and not c.closing][: int(words[0])], timeout=5)
        return {"open": self.open}

    def wait_closed(self, words: List[str]) -> Dict[str, Any]:
        self.all_closed.wait(float(words[0]))
        return self.status(words)

    def status(self, words: List[str]) -> Dict[str, Any]:
        return {"open": self.open, "shutdown_events": self.shutdown_events}


def _post_emit(url: str, seq: int) -> Dict[str, Any]:
    base = urlsplit(url)
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
    try:
        conn.request("POST", f"/emit/{seq}", body=b"", headers={"Content-Length": "0"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST /emit/{seq} answered {response.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()


def main(argv: Optional[List[str]] = None) -> int:
    args = pool_arguments(argv, description="Socket.IO websocket client pool (benchmarks)",
                          count=200, concurrency=25, max_seconds=300.0)
    tally = _Tally(args.url)
    return run_pool(args, tally.connect, {"emit": tally.emit, "arm": tally.arm, "collect": tally.collect,
                                          "close": tally.close, "wait_closed": tally.wait_closed,
                                          "status": tally.status})


if __name__ == "__main__":
    sys.exit(main())
