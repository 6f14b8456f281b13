"""Just enough Engine.IO 4 / Socket.IO 5 over one raw websocket, for the
benchmark client pools and the reliability tests.

Why not python-socketio's Client: each of those runs three background loops
and a queue per connection, so for hundreds of connections the client side
would dominate what a fan-out benchmark measures; and the wire tests need to
send what a well-behaved client never would (garbage frames, oversized
payloads, foreign Origin headers). :class:`RawClient` is one websocket and
one reader greenlet: open, namespace connect, ping/pong, events, acks, close.

Callers must be gevent-patched (``gevent.monkey.patch_all()`` first): the
reader greenlet blocks in websocket reads, and websocket-client's send lock
must be a gevent lock. Example::

    with RawClient("http://127.0.0.1:8000") as sio:
        answer = sio.emit("posts:list", {"limit": 5})
        sio.wait_event("post_published")

The second half of this module runs a pool of such clients in a process of
its own, driven by one-word commands over stdin with JSON-line answers on
stdout (see :func:`run_pool`; used by ``_ws_clients`` and ``_soak_clients``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import gevent
import websocket
from gevent import monkey
from gevent.event import AsyncResult, Event
from gevent.fileobject import FileObjectPosix
from gevent.pool import Pool

EventHandler = Callable[[str, List[Any]], None]
Command = Callable[[List[str]], Dict[str, Any]]

ENGINE_PATH = "/socket.io/?EIO=4&transport=websocket"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# our acknowledgement ids start high, so acks the server sends for ids inside
# fuzzed frames ("421[...]") never answer one of our own emits
_FIRST_ACK_ID = 1_000_000


class Closed(ConnectionError):
    """The server closed the connection (engine close, namespace disconnect,
    or the socket ended), so the emit or wait cannot be answered."""


class RawClient:
    """One Socket.IO connection over a raw websocket, connected on construction.

    A reader greenlet answers pings, resolves acknowledgements and hands each
    event to ``on_event(name, args)`` -- or, without ``on_event``, keeps them
    in :attr:`events` for :meth:`wait_event`. It ends when the server closes
    the connection, and :meth:`close` ends it deterministically (it is killed
    if the server does not answer the close in time), so nothing outlives the
    client.

    ``origin`` sends that Origin header (None: none at all, like a non-browser
    client); ``timeout`` bounds the handshake and is the default wait for
    :meth:`emit` and :meth:`wait_event`; ``namespace=False`` stops after the
    Engine.IO open. ``on_close()`` runs in the reader greenlet when it ends.

    Example::

        client = RawClient("http://127.0.0.1:8000", on_event=lambda name, args: print(name))
        client.emit("posts:list", {"limit": 1})
        client.close()
    """

    def __init__(self, base_url: str, *, origin: Optional[str] = None, timeout: float = 5.0,
                 namespace: bool = True, on_event: Optional[EventHandler] = None,
                 on_close: Optional[Callable[[], None]] = None) -> None:
        if not (monkey.is_module_patched("socket") and monkey.is_module_patched("threading")):
            raise RuntimeError("RawClient needs a gevent-patched process: call gevent.monkey.patch_all() "
                               "before importing anything else")
        self.timeout = timeout
        self.events: List[Tuple[str, List[Any]]] = []
        self.closing = False  # we began the close
        self.closed = False  # the connection is over
        self.closed_by_server = False
        self.error: Optional[str] = None  # what ended the connection, when not our close
        self._on_event = on_event
        self._on_close = on_close
        self._acks: Dict[int, AsyncResult] = {}
        self._next_id = _FIRST_ACK_ID
        self._arrived = Event()
        options: Dict[str, Any] = {"origin": origin} if origin is not None else {"suppress_origin": True}
        ws_url = base_url.replace("http://", "ws://", 1).rstrip("/") + ENGINE_PATH
        self.ws = websocket.create_connection(ws_url, timeout=timeout, enable_multithread=True, **options)
        try:
            self._handshake(namespace)
        except BaseException:
            self.ws.shutdown()
            raise
        self.ws.settimeout(None)  # from now on the reader greenlet waits as long as it takes
        self.reader = gevent.spawn(self._read)

    # ------------------------------------------------------------- reading
    def _recv_packet(self) -> str:
        """The next text packet; pings are answered here, closes raise Closed."""
        while True:
            try:
                opcode, data = self.ws.recv_data()
            except websocket.WebSocketTimeoutException:
                raise
            except (websocket.WebSocketException, OSError) as exc:
                raise Closed(f"connection ended: {type(exc).__name__}: {exc}") from exc
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise Closed("websocket close frame")
            packet = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
            if packet == "2":  # Engine.IO 4: the server pings, the client answers
                self.ws.send("3")
                continue
            if packet == "1" or packet.startswith("41"):
                raise Closed(f"server closed: {packet[:80]!r}")
            return packet

    def _handshake(self, namespace: bool) -> None:
        opened = self._recv_packet()
        if not opened.startswith("0"):
            raise RuntimeError(f"expected an Engine.IO open packet, got {opened[:120]!r}")
        if not namespace:
            return
        self.ws.send("40")
        while True:
            packet = self._recv_packet()
            if packet.startswith("40"):
                return
            if packet.startswith("44"):
                raise ConnectionRefusedError(f"namespace connect refused: {packet[:200]}")
            raise RuntimeError(f"expected the namespace connect answer, got {packet[:120]!r}")

    def _read(self) -> None:
        reason = "reader stopped"
        try:
            while True:
                self._dispatch(self._recv_packet())
        except Exception as exc:  # the server or the network ended it; a callback failure ends it too
            reason = f"{type(exc).__name__}: {exc}"
            orderly = isinstance(exc, Closed) and exc.__cause__ is None  # a close packet or frame
            if not orderly and not self.closing:
                self.error = reason
        finally:
            self.closed = True
            self.closed_by_server = not self.closing
            self.ws.shutdown()  # the closing handshake, if any, happened above
            for waiter in self._acks.values():
                waiter.set_exception(Closed(reason))
            self._arrived.set()
            if self._on_close is not None:
                self._on_close()

    def _dispatch(self, packet: str) -> None:
        if packet.startswith("42"):  # EVENT, maybe with an ack id the server wants answered (ignored)
            body = packet[2:]
            event, *args = json.loads(body[body.index("["):] if "[" in body else body)
            if self._on_event is not None:
                self._on_event(event, args)
            else:
                self.events.append((event, args))
                self._arrived.set()
        elif packet.startswith("43"):  # ACK: 43<id>[args...]
            body = packet[2:]
            digits = len(body) - len(body.lstrip("0123456789"))
            waiter = self._acks.get(int(body[:digits] or -1))
            if waiter is not None:
                waiter.set(json.loads(body[digits:]))

    # ------------------------------------------------------------- sending
    def send_raw(self, frame: Any) -> None:
        """Send one websocket frame as is (str: text frame, bytes: binary)."""
        try:
            if isinstance(frame, (bytes, bytearray)):
                self.ws.send_binary(bytes(frame))
            else:
                self.ws.send(frame)
        except (websocket.WebSocketException, OSError) as exc:
            self.closed = True
            raise Closed(f"send failed: {type(exc).__name__}: {exc}") from exc

    def emit(self, event: str, *args: Any, ack: bool = True, timeout: Optional[float] = None) -> Any:
        """Send an event; with ``ack`` wait for and return the acknowledgement
        (its single argument, or the list when there are several). Raises
        Closed when the connection ends first, TimeoutError when it stalls."""
        if not ack:
            self.send_raw("42" + json.dumps([event, *args]))
            return None
        if self.closed:
            raise Closed(f"cannot emit {event!r}: the connection is closed ({self.error or 'by us'})")
        self._next_id += 1
        ack_id = self._next_id
        waiter = self._acks[ack_id] = AsyncResult()
        limit = self.timeout if timeout is None else timeout
        try:
            self.send_raw(f"42{ack_id}" + json.dumps([event, *args]))
            waiter.wait(limit)
            if not waiter.ready():
                raise TimeoutError(f"no acknowledgement for {event!r} within {limit}s")
            answer = waiter.get()
        finally:
            self._acks.pop(ack_id, None)
        return answer[0] if len(answer) == 1 else answer

    def wait_event(self, name: str, timeout: Optional[float] = None, *, count: int = 1) -> List[List[Any]]:
        """Wait until ``count`` events called ``name`` arrived (only without
        ``on_event``); the argument lists of all of them."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            self._arrived.clear()
            found = [args for event, args in self.events if event == name]
            if len(found) >= count:
                return found
            if self.closed:
                raise Closed(f"connection closed after {len(found)} of {count} {name!r} events")
            if not self._arrived.wait(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"{len(found)} of {count} {name!r} events within {limit}s; "
                                   f"got {[e for e, _ in self.events]}")

    # ------------------------------------------------------------- closing
    def begin_close(self) -> None:
        """Leave the namespace and send a websocket close frame; the reader
        sees the server's answer and ends. Apart from :meth:`close` so a pool
        can start closing every client before waiting for any."""
        if self.closing:
            return
        self.closing = True
        try:
            self.ws.send("41")
            self.ws.send_close()
        except Exception:
            pass  # already gone: the reader ends (or has ended) by itself

    def close(self, timeout: float = 1.0) -> None:
        """Close, wait up to ``timeout`` for the server's answer, then kill the
        reader if it is still there and drop the socket."""
        self.begin_close()
        self.reader.join(timeout)
        if not self.reader.dead:
            self.reader.kill(block=True, timeout=1)
        self.closed = True
        self.ws.shutdown()

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def close_all(clients: Sequence[RawClient], timeout: float) -> None:
    """Close many clients at once: every close begins before any is waited for."""
    for client in clients:
        client.begin_close()
    gevent.joinall([c.reader for c in clients], timeout=timeout)
    for client in clients:
        client.close(timeout=0)


# ----------------------------------------------------------------- client pools
def pool_arguments(argv: Optional[List[str]], *, description: str, count: int, concurrency: int,
                   max_seconds: float) -> argparse.Namespace:
    """The options every client pool takes (``--url`` must be loopback)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT of the server")
    parser.add_argument("--count", type=int, default=count)
    parser.add_argument("--concurrency", type=int, default=concurrency, help="connects in flight at once")
    parser.add_argument("--max-seconds", type=float, default=max_seconds, help="exit after this long regardless")
    args = parser.parse_args(argv)
    if urlsplit(args.url).hostname not in LOOPBACK:
        parser.error("--url must be a loopback address")
    return args


def _say(obj: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def run_pool(args: argparse.Namespace, connect: Callable[[], RawClient], commands: Mapping[str, Command]) -> int:
    """Connect ``args.count`` clients with ``connect()`` (``args.concurrency``
    at once), print one JSON line, then answer one JSON line per stdin command
    (``name word...``, dispatched to ``commands``) until ``quit`` or end of
    input; close every client at the end. The process exits by itself after
    ``args.max_seconds`` whatever happens, so a stuck driver leaves no orphan.
    """
    deadline = gevent.spawn_later(args.max_seconds, os._exit, 3)
    clients: List[RawClient] = []
    failures: List[str] = []

    def one(_: int) -> None:
        try:
            clients.append(connect())
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")

    try:
        started = time.monotonic()
        Pool(args.concurrency).map(one, range(args.count))
        _say({"connected": sum(not c.closed for c in clients), "failed": len(failures), "errors": failures[:3],
              "seconds": time.monotonic() - started})
        for line in FileObjectPosix(sys.stdin.fileno(), "r", close=False):
            name, *words = line.split() or [""]
            if name == "quit":
                break
            command = commands.get(name)
            _say(command(words) if command else {"error": f"unknown command {line.strip()!r}"})
    finally:
        close_all(clients, timeout=5)
        deadline.kill()
    return 0
