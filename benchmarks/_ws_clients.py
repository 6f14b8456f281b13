"""A pool of lightweight Socket.IO websocket clients, driven over stdin/stdout.

Why not python-socketio's Client: each of those runs three background loops
and a queue per connection; for hundreds of connections the client side
would dominate what a fan-out benchmark measures. These clients speak just
enough of the Engine.IO 4 / Socket.IO 5 protocol over one websocket each
(open, namespace connect, ping/pong, events) with one reader greenlet.

Run by the socket benchmarks in its own process (gevent-patched)::

    python -m benchmarks._ws_clients --url http://127.0.0.1:8000 --count 200

It connects ``--count`` clients, prints one JSON line, then answers one JSON
line per command read from stdin:

- ``emit SEQ``: POST ``/emit/SEQ``; wait until every open client received
  ``news`` with that seq; report the server's emit time ``t0`` and the
  first/last receipt (``time.monotonic()``, system-wide on Linux);
- ``close K``: close K connections from the client side;
- ``wait_closed SECONDS``: wait until the server closed every connection;
- ``status``: open connections and shutdown events received;
- ``quit`` (or end of input): close everything and exit.

The process exits by itself after ``--max-seconds`` whatever happens.
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import gevent  # noqa: E402
import websocket  # noqa: E402
from gevent.event import Event  # noqa: E402
from gevent.fileobject import FileObjectPosix  # noqa: E402
from gevent.pool import Pool  # noqa: E402


class _Tally:
    """Receipt times per seq, and an event set when every open client has one."""

    def __init__(self) -> None:
        self.receipts: Dict[int, List[float]] = {}
        self.waiting: Optional[int] = None
        self.expected = 0
        self.done = Event()
        self.shutdown_events = 0
        self.open = 0
        self.all_closed = Event()

    def received(self, seq: int) -> None:
        times = self.receipts.setdefault(seq, [])
        times.append(time.monotonic())
        if seq == self.waiting and len(times) >= self.expected:
            self.done.set()

    def closed(self) -> None:
        self.open -= 1
        if self.waiting is not None and self.receipts_for(self.waiting) >= self.open:
            self.done.set()
        if self.open <= 0:
            self.all_closed.set()

    def receipts_for(self, seq: int) -> int:
        return len(self.receipts.get(seq, ()))


class _Client:
    def __init__(self, ws_url: str, tally: _Tally) -> None:
        self.ws_url = ws_url
        self.tally = tally
        self.ws: Optional[websocket.WebSocket] = None
        self.reader: Optional[gevent.Greenlet] = None
        self.closing = False

    def connect(self, timeout: float) -> None:
        ws = websocket.create_connection(self.ws_url, timeout=timeout, enable_multithread=False)
        try:
            opened = ws.recv()
            if not opened.startswith("0"):
                raise RuntimeError(f"expected an Engine.IO open packet, got {opened[:80]!r}")
            ws.send("40")
            while True:  # the server may ping before acknowledging the namespace
                packet = ws.recv()
                if packet == "2":
                    ws.send("3")
                    continue
                if packet.startswith("40"):
                    break
                raise RuntimeError(f"namespace connect refused: {packet[:120]!r}")
        except BaseException:
            ws.shutdown()
            raise
        ws.settimeout(None)
        self.ws = ws
        self.tally.open += 1
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        ws = self.ws
        if ws is None:
            return
        try:
            while True:
                opcode, data = ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                packet = data.decode("utf-8", "replace")
                if packet == "2":
                    ws.send("3")
                elif packet.startswith("42"):
                    event, *args = json.loads(packet[2:])
                    if event == "news":
                        self.tally.received(int(args[0]["seq"]))
                    elif event == "server_shutdown":
                        self.tally.shutdown_events += 1
                elif packet.startswith("41") or packet == "1":
                    break  # namespace disconnect / engine close from the server
        except Exception:
            pass  # connection reset by a stopping server: counted as closed below
        finally:
            ws.shutdown()  # the closing handshake, if any, happened above
            self.tally.closed()

    def begin_close(self) -> None:
        """Leave the namespace and send a websocket close frame; the reader
        greenlet sees the server's answer and finishes."""
        if self.ws is not None and not self.closing:
            self.closing = True
            try:
                self.ws.send("41")
                self.ws.send_close()
            except Exception:
                pass

    def finish(self) -> None:
        """After ``begin_close`` (and some waiting): drop whatever is left."""
        if self.reader is not None and not self.reader.dead:
            self.reader.kill(block=True, timeout=1)
        if self.ws is not None:
            self.ws.shutdown()


def _close_all(clients: List["_Client"], timeout: float) -> None:
    for client in clients:
        client.begin_close()
    gevent.joinall([c.reader for c in clients if c.reader is not None], timeout=timeout)
    for client in clients:
        client.finish()


def _post_emit(base: urlsplit, seq: int) -> Dict[str, Any]:
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


def _emit(base: Any, tally: _Tally, seq: int, timeout: float) -> Dict[str, Any]:
    tally.waiting, tally.expected = seq, tally.open
    tally.done.clear()
    answer = _post_emit(base, seq)
    tally.done.wait(timeout)
    times = tally.receipts.pop(seq, [])
    tally.waiting = None
    t0 = float(answer["t0"])
    return {"seq": seq, "received": len(times), "expected": tally.expected,
            "first": (min(times) - t0) if times else None, "last": (max(times) - t0) if times else None}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Socket.IO websocket client pool (benchmarks)")
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT of the server")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=25, help="connects in flight at once")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="exit after this long regardless")
    args = parser.parse_args(argv)
    base = urlsplit(args.url)
    if base.hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address")
    ws_url = f"ws://{base.hostname}:{base.port}/socket.io/?EIO=4&transport=websocket"
    deadline = gevent.spawn_later(args.max_seconds, os._exit, 3)
    out = sys.stdout

    def say(obj: Dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    tally = _Tally()
    clients = [_Client(ws_url, tally) for _ in range(args.count)]
    failures: List[str] = []

    def connect(client: _Client) -> None:
        try:
            client.connect(timeout=10)
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")

    started = time.monotonic()
    Pool(args.concurrency).map(connect, clients)
    say({"connected": tally.open, "failed": len(failures), "errors": failures[:3],
         "seconds": time.monotonic() - started})
    stdin = FileObjectPosix(sys.stdin.fileno(), "r", close=False)
    try:
        for line in stdin:
            cmd, *rest = line.split() or [""]
            if cmd == "emit":
                say(_emit(base, tally, int(rest[0]), timeout=10))
            elif cmd == "close":
                victims = [c for c in clients if c.ws is not None and not c.closing][: int(rest[0])]
                _close_all(victims, timeout=5)
                say({"open": tally.open})
            elif cmd == "wait_closed":
                tally.all_closed.wait(float(rest[0]))
                say({"open": tally.open, "shutdown_events": tally.shutdown_events})
            elif cmd == "status":
                say({"open": tally.open, "shutdown_events": tally.shutdown_events})
            elif cmd == "quit":
                break
            else:
                say({"error": f"unknown command {line.strip()!r}"})
    finally:
        _close_all(clients, timeout=5)
        deadline.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
