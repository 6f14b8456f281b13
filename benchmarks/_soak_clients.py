"""Socket.IO websocket clients for the soak run, driven over stdin/stdout.

Like :mod:`benchmarks._ws_clients` (one raw websocket per client, one
reader greenlet each, Engine.IO 4 / Socket.IO 5 spoken by hand), but the
clients follow the blog example's own broadcast: every ``post_published``
whose title is ``"soak <seq>"`` is recorded per client with its receipt
time (``time.monotonic()``, system-wide on Linux, so comparable with the
driver's send times)::

    python -m benchmarks._soak_clients --url http://127.0.0.1:8000 --count 500

It connects ``--count`` clients, prints one JSON line, then answers one JSON
line per command read from stdin:

- ``status``: open connections and events received so far;
- ``report``: per client, the sequence numbers in arrival order and their
  receipt times; whether the server closed it;
- ``quit`` (or end of input): close everything and exit.

The process exits by itself after ``--max-seconds`` whatever happens.
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import gevent  # noqa: E402
import websocket  # noqa: E402
from gevent.fileobject import FileObjectPosix  # noqa: E402
from gevent.pool import Pool  # noqa: E402

TITLE_PREFIX = "soak "


class _Client:
    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.ws: Optional[websocket.WebSocket] = None
        self.reader: Optional[gevent.Greenlet] = None
        self.seqs: List[int] = []
        self.times: List[float] = []
        self.closed_by_server = False
        self.closing = False
        self.error: Optional[str] = None

    def connect(self, timeout: float) -> None:
        ws = websocket.create_connection(self.ws_url, timeout=timeout, enable_multithread=False,
                                         suppress_origin=True)
        try:
            opened = ws.recv()
            if not opened.startswith("0"):
                raise RuntimeError(f"expected an Engine.IO open packet, got {opened[:80]!r}")
            ws.send("40")
            while True:
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
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        try:
            while True:
                opcode, data = ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                packet = data.decode("utf-8", "replace")
                if packet == "2":
                    ws.send("3")
                elif packet.startswith("42"):
                    now = time.monotonic()
                    event, *args = json.loads(packet[2:])
                    if event == "post_published" and args and isinstance(args[0], dict):
                        title = str(args[0].get("title", ""))
                        if title.startswith(TITLE_PREFIX):
                            self.seqs.append(int(title[len(TITLE_PREFIX):]))
                            self.times.append(now)
                elif packet.startswith("41") or packet == "1":
                    break
        except Exception as exc:
            if not self.closing:
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if not self.closing:
                self.closed_by_server = True
            ws.shutdown()

    @property
    def open(self) -> bool:
        return self.reader is not None and not self.reader.dead

    def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            try:
                self.ws.send("41")
                self.ws.send_close()
            except Exception:
                pass


def _close_all(clients: List[_Client], timeout: float) -> None:
    for client in clients:
        client.close()
    gevent.joinall([c.reader for c in clients if c.reader is not None], timeout=timeout)
    for client in clients:
        if client.reader is not None and not client.reader.dead:
            client.reader.kill(block=True, timeout=1)
        if client.ws is not None:
            client.ws.shutdown()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Socket.IO websocket clients for the soak run")
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT of the server")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50, help="connects in flight at once")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="exit after this long regardless")
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

    clients = [_Client(ws_url) for _ in range(args.count)]
    failures: List[str] = []

    def connect(client: _Client) -> None:
        try:
            client.connect(timeout=15)
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")

    started = time.monotonic()
    Pool(args.concurrency).map(connect, clients)
    say({"connected": sum(c.open for c in clients), "failed": len(failures), "errors": failures[:3],
         "seconds": time.monotonic() - started})
    stdin = FileObjectPosix(sys.stdin.fileno(), "r", close=False)
    try:
        for line in stdin:
            cmd = (line.split() or [""])[0]
            if cmd == "status":
                say({"open": sum(c.open for c in clients), "received": sum(len(c.seqs) for c in clients)})
            elif cmd == "report":
                live = [c for c in clients if c.ws is not None]
                say({"clients": [{"seqs": c.seqs, "times": c.times, "closed_by_server": c.closed_by_server,
                                  "error": c.error} for c in live]})
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
