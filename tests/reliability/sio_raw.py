"""A minimal Socket.IO 5 / Engine.IO 4 client over one raw websocket, for
tests that need to send what a well-behaved client never would (garbage
frames, oversized payloads, foreign Origin headers) and to read exactly
what the server answered. One connection, no background greenlet: frames
are read on demand, with a timeout.

Example::

    with RawSocketIO("http://127.0.0.1:8000") as sio:
        ack = sio.emit("posts:list", {"limit": 5})
        sio.wait_event("post_published")
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional, Tuple

import websocket


class Closed(Exception):
    """The server closed the connection (engine close, namespace disconnect,
    or the socket ended)."""


class RawSocketIO:
    def __init__(self, base_url: str, *, origin: Optional[str] = None, timeout: float = 5.0,
                 namespace: bool = True) -> None:
        ws_url = base_url.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"
        options: Dict[str, Any] = {"timeout": timeout}
        if origin is not None:
            options["origin"] = origin
        else:
            options["suppress_origin"] = True
        self.timeout = timeout
        self.ws = websocket.create_connection(ws_url, **options)
        self.events: List[Tuple[str, List[Any]]] = []
        self._acks: Dict[int, Any] = {}
        # our acknowledgement ids start high, so acks for ids inside fuzzed frames ("421[...]") never
        # answer one of our own emits
        self._next_id = 1_000_000
        self.closed = False
        try:
            opened = self.ws.recv()
            if not str(opened).startswith("0"):
                raise RuntimeError(f"expected an Engine.IO open packet, got {opened!r:.120}")
            if namespace:
                self.ws.send("40")
                while True:
                    packet = self._recv_packet()
                    if packet.startswith("40"):
                        break
                    if packet.startswith("44"):
                        raise ConnectionRefusedError(f"namespace connect refused: {packet[:200]}")
        except BaseException:
            self.ws.shutdown()
            raise

    # ----------------------------------------------------------- reading
    def _recv_packet(self, timeout: Optional[float] = None) -> str:
        self.ws.settimeout(self.timeout if timeout is None else timeout)
        try:
            opcode, data = self.ws.recv_data()
        except websocket.WebSocketTimeoutException:
            raise
        except (websocket.WebSocketException, OSError) as exc:
            self.closed = True
            raise Closed(f"connection ended: {exc}") from exc
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.closed = True
            raise Closed("websocket close frame")
        packet = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        if packet == "2":  # server ping
            self.ws.send("3")
        elif packet == "1" or packet.startswith("41"):
            self.closed = True
            raise Closed(f"server closed: {packet!r}")
        return packet

    def _handle(self, packet: str) -> None:
        if packet.startswith("42"):
            body = packet[2:]
            body = body[body.index("["):] if "[" in body else body
            event, *args = json.loads(body)
            self.events.append((event, args))
        elif packet.startswith("43"):
            body = packet[2:]
            digits = len(body) - len(body.lstrip("0123456789"))
            self._acks[int(body[:digits])] = json.loads(body[digits:])

    def pump(self, seconds: float) -> None:
        """Read and store whatever arrives for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._handle(self._recv_packet(timeout=max(0.01, deadline - time.monotonic())))
            except websocket.WebSocketTimeoutException:
                return

    # ----------------------------------------------------------- sending
    def send_raw(self, frame: Any) -> None:
        """Send one websocket frame as is (str: text frame, bytes: binary)."""
        try:
            if isinstance(frame, (bytes, bytearray)):
                self.ws.send_binary(bytes(frame))
            else:
                self.ws.send(frame)
        except (websocket.WebSocketException, OSError) as exc:
            self.closed = True
            raise Closed(f"send failed: {exc}") from exc

    def emit(self, event: str, *args: Any, ack: bool = True, timeout: Optional[float] = None) -> Any:
        """Send an event; with ``ack`` wait for and return the acknowledgement
        (its single argument, or the list when there are several)."""
        if not ack:
            self.send_raw("42" + json.dumps([event, *args]))
            return None
        self._next_id += 1
        ack_id = self._next_id
        self.send_raw(f"42{ack_id}" + json.dumps([event, *args]))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while ack_id not in self._acks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no acknowledgement for {event!r} within {timeout or self.timeout}s")
            try:
                self._handle(self._recv_packet(timeout=remaining))
            except websocket.WebSocketTimeoutException:
                continue
        args_ = self._acks.pop(ack_id)
        return args_[0] if len(args_) == 1 else args_

    def wait_event(self, name: str, timeout: Optional[float] = None, *, count: int = 1) -> List[List[Any]]:
        """Wait until ``count`` events called ``name`` arrived; their argument lists."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            found = [args for event, args in self.events if event == name]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(found)} of {count} {name!r} events within {timeout or self.timeout}s; "
                                   f"got {[e for e, _ in self.events]}")
            try:
                self._handle(self._recv_packet(timeout=remaining))
            except websocket.WebSocketTimeoutException:
                continue

    def close(self) -> None:
        if not self.closed:
            try:
                self.ws.send("41")
                self.ws.send_close()
            except Exception:
                pass
        self.closed = True
        self.ws.shutdown()

    def __enter__(self) -> "RawSocketIO":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
