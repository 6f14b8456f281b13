"""Per-connection admission of inbound Socket.IO events, before a greenlet is spawned.

Why it exists: python-socketio (``async_handlers=True``, the default) spawns
one greenlet per inbound event as soon as the frame is parsed, and nothing
bounds how many one connection may have waiting. A single client writing
thousands of small frames therefore queues thousands of greenlets (each with
its own Flask request context) ahead of every other client's work: other
clients' HTTP requests wait for the whole backlog and the worker's memory
grows with it. Limits applied inside the event handler come too late, because
the greenlet already exists by then.

:class:`EventGuard` sits where python-socketio turns a parsed packet into a
task (its ``_handle_event`` step) and decides there, per Engine.IO
connection, in this order:

1. **size**: the packet Engine.IO received (text length, plus binary
   attachments) larger than the ingress's ``max_payload_bytes`` is answered
   with an error ack, status 413. The size is the one of the raw packet,
   measured once when it arrives: nothing is re-encoded to measure it.
2. **text**: a string anywhere in the payload holding a lone UTF-16
   surrogate (``"\\ud800"`` is valid JSON but not text: UTF-8, SQLite and
   hashing cannot take it) gets status 400 naming the argument path
   (``args[0].title``); an O(1) check per string for ASCII text.
3. **in-flight bound** (``max_in_flight``): a connection with that many events
   still running gets status 429 for the next ones until some finish.
4. **rate limit** (``rate_limit`` events per second, token bucket holding at
   most ``rate_burst``): over the rate, status 429.

An event over a limit never reaches a greenlet, a handler or a Flask
context. With ``on_excess="refuse"`` (the default) the event is answered with
an error acknowledgement ``{"ok": False, "status": 429, ...}`` when the
client asked for one, and the first refusal of a streak also sends the
ingress's ``error_event`` and logs one WARNING. With ``on_excess="disconnect"``
the first 429 closes the connection instead. After each 429 the reading
greenlet yields to the hub, so a flooding connection cannot hold the CPU while
its frames are being refused.

Contract with python-socketio (tested in tests/web/test_ingress.py against the
installed version): ``Server._handle_eio_message(eio_sid, data)``,
``Server._handle_event(eio_sid, namespace, id, data)``,
``Server._handle_event_internal(server, sid, eio_sid, data, namespace, id)``,
``Server._handle_eio_disconnect(eio_sid, reason)``, ``Server._send_packet``
and ``Server.packet_class``. The guard overrides them on the one server
instance only (never the class), keeping the originals.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Optional, Protocol

from ..contracts._coerce import find_lone_surrogate, holds_lone_surrogate

logger: logging.Logger = logging.getLogger("specter_spoc.socket")

__all__ = ["EventGuard", "EventLimits", "ON_EXCESS_CHOICES"]

#: what happens to an event over the in-flight bound or the rate limit
ON_EXCESS_CHOICES = ("refuse", "disconnect")


class EventLimits(Protocol):
    """What the guard reads on each event (a SocketIngress has these
    attributes; changing them takes effect at the next event)."""

    max_payload_bytes: Optional[int]
    max_in_flight: Optional[int]
    rate_limit: Optional[float]
    rate_burst: Optional[int]
    on_excess: str
    error_event: str
    name: str


class _Connection:
    """Admission state of one Engine.IO connection."""

    __slots__ = ("in_flight", "tokens", "stamp", "size", "escapes", "refusing", "refused")

    def __init__(self) -> None:
        self.in_flight = 0
        self.tokens: Optional[float] = None  # filled on first use of the rate limit
        self.stamp = 0.0
        self.size = 0  # bytes of the packet being parsed (text + binary attachments)
        #: the packet may decode to a lone surrogate: a text frame is UTF-8, so
        #: only a \\ud8xx-\\udfxx escape can produce one (binary: always look)
        self.escapes = True
        self.refusing = False  # inside a streak of 429s (notify and log once per streak)
        self.refused = 0


class EventGuard:
    """Admission control installed on one python-socketio ``Server``.

    Example::

        guard = EventGuard.install(socketio.server, ingress)
        guard.in_flight()      # events running now, all connections
        guard.refused          # events refused since install (413 + 429)
    """

    def __init__(self, server: Any, limits: EventLimits) -> None:
        self.server = server
        self.limits = limits
        self.refused: int = 0
        self._connections: Dict[str, _Connection] = {}
        self._message: Callable[..., Any] = server._handle_eio_message
        self._event: Callable[..., Any] = server._handle_event
        self._internal: Callable[..., Any] = server._handle_event_internal
        self._disconnect: Callable[..., Any] = server._handle_eio_disconnect
        from socketio import packet

        self._ack_type = packet.ACK

    # -------------------------------------------------------------- install
    @classmethod
    def install(cls, server: Any, limits: EventLimits) -> "EventGuard":
        """The guard of ``server``, installed on first call; a later call
        (another ingress attached to the same server) only re-points it."""
        existing = getattr(server, "_spoc_event_guard", None)
        if isinstance(existing, EventGuard):
            existing.limits = limits
            return existing
        guard = cls(server, limits)
        server._handle_eio_message = guard._on_message
        server._handle_event = guard._on_event
        server._handle_event_internal = guard._run
        server._handle_eio_disconnect = guard._on_disconnect
        handlers = getattr(getattr(server, "eio", None), "handlers", None)
        if isinstance(handlers, dict):
            # Engine.IO keeps the bound methods it was given at construction
            for name, original, replacement in (("message", guard._message, guard._on_message),
                                                ("disconnect", guard._disconnect, guard._on_disconnect)):
                if handlers.get(name) == original:
                    handlers[name] = replacement
        server._spoc_event_guard = guard
        return guard

    def in_flight(self) -> int:
        """Events admitted and not finished yet, over all connections."""
        return sum(conn.in_flight for conn in self._connections.values())

    def connections(self) -> int:
        return len(self._connections)

    # ------------------------------------------------------------ the hooks
    def _on_message(self, eio_sid: str, data: Any) -> Any:
        """Every Engine.IO message: remember its size, then let python-socketio
        parse it (which may call :meth:`_on_event`)."""
        conn = self._connections.get(eio_sid)
        if conn is None:
            conn = self._connections[eio_sid] = _Connection()
        if isinstance(data, str):
            # a text packet starts a message (binary attachments follow it);
            # isascii() is O(1), so only non-ASCII text pays for an encode
            conn.size = len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
            conn.escapes = data.find("\\ud") >= 0 or data.find("\\uD") >= 0  # two memchr-speed scans
        elif isinstance(data, (bytes, bytearray, memoryview)):
            conn.size += len(data)
            conn.escapes = True
        return self._message(eio_sid, data)

    def _on_event(self, eio_sid: str, namespace: Optional[str], id: Optional[int], data: List[Any]) -> Any:
        conn = self._connections.get(eio_sid)
        manager = self.server.manager
        sid = manager.sid_from_eio_sid(eio_sid, namespace or "/")
        if conn is None or sid is None or not manager.is_connected(sid, namespace or "/"):
            return self._event(eio_sid, namespace, id, data)  # python-socketio logs and drops it
        limits = self.limits
        ceiling = limits.max_payload_bytes
        if ceiling is not None and conn.size > ceiling:
            self._refuse(conn, eio_sid, sid, namespace or "/", id, data, 413,
                         f"Payload of {conn.size} bytes is larger than the {ceiling}-byte limit; "
                         "send smaller events")
            return None
        if conn.escapes and holds_lone_surrogate(data):
            where = find_lone_surrogate(data[1:], "args") or "the event name"
            self._refuse(conn, eio_sid, sid, namespace or "/", id, data, 400,
                         f"{where} holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; "
                         "send UTF-8 text", {"errors": {where: "holds a lone UTF-16 surrogate"}})
            return None
        bound = limits.max_in_flight
        if bound is not None and conn.in_flight >= bound:
            return self._excess(conn, eio_sid, sid, namespace or "/", id, data,
                                f"Too many events in flight on this connection (limit {bound}); "
                                "wait for acknowledgements before sending more")
        rate = limits.rate_limit
        if rate is not None and not self._take_token(conn, rate, limits.rate_burst):
            return self._excess(conn, eio_sid, sid, namespace or "/", id, data,
                                f"Too many events: this connection may send {rate:g} per second; "
                                "slow down")
        conn.refusing = False
        conn.in_flight += 1
        return self._event(eio_sid, namespace, id, data)

    def _run(self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Optional[int]) -> Any:
        """The event's task (in its own greenlet with async handlers): the
        original handler, then the connection's slot is given back."""
        try:
            return self._internal(server, sid, eio_sid, data, namespace, id)
        finally:
            conn = self._connections.get(eio_sid)
            if conn is not None and conn.in_flight > 0:
                conn.in_flight -= 1

    def _on_disconnect(self, eio_sid: str, *args: Any) -> Any:
        self._connections.pop(eio_sid, None)
        return self._disconnect(eio_sid, *args)

    # ------------------------------------------------------------- refusing
    @staticmethod
    def _take_token(conn: _Connection, rate: float, burst: Optional[int]) -> bool:
        capacity = float(burst if burst is not None else max(1.0, rate))
        now = time.monotonic()
        if conn.tokens is None:
            conn.tokens = capacity
        else:
            conn.tokens = min(capacity, conn.tokens + (now - conn.stamp) * rate)
        conn.stamp = now
        if conn.tokens < 1.0:
            return False
        conn.tokens -= 1.0
        return True

    def _excess(self, conn: _Connection, eio_sid: str, sid: str, namespace: str, id: Optional[int],
                data: List[Any], message: str) -> None:
        if self.limits.on_excess == "disconnect":
            self.refused += 1
            logger.warning("SocketIngress %r: closing connection %s: %s", self.limits.name, sid, message)
            self.server.eio.disconnect(eio_sid)
            return None
        self._refuse(conn, eio_sid, sid, namespace, id, data, 429, message)
        # let every other greenlet run before this connection's next frame is read
        self.server.sleep(0)
        return None

    def _refuse(self, conn: _Connection, eio_sid: str, sid: str, namespace: str, id: Optional[int],
                data: List[Any], status: int, message: str, extra: Optional[Dict[str, Any]] = None) -> None:
        self.refused += 1
        conn.refused += 1
        event = data[0] if data and isinstance(data[0], str) else ""
        body = {"ok": False, "event": event, "error": message, "status": status, **(extra or {})}
        server = self.server
        if id is not None:
            server._send_packet(eio_sid, server.packet_class(self._ack_type, namespace=namespace, id=id,
                                                             data=[body]))
        if status == 429:
            if conn.refusing:
                return  # one notice per streak: a flood is not echoed back event by event
            conn.refusing = True
            logger.warning("SocketIngress %r: connection %s exceeded its event limits (%s); refusing "
                           "its events with status 429 until it slows down", self.limits.name, sid, message)
        server.emit(self.limits.error_event, body, to=sid, namespace=namespace)
