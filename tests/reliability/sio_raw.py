"""The raw Socket.IO client of the reliability tests, under the names they
use. It lives in :mod:`benchmarks._sio_protocol` so the benchmarks' client
pools and these tests share one implementation of the protocol.

Example::

    with RawSocketIO("http://127.0.0.1:8000") as sio:
        ack = sio.emit("posts:list", {"limit": 5})
        sio.wait_event("post_published")
"""
from __future__ import annotations

from benchmarks._sio_protocol import Closed, RawClient as RawSocketIO

__all__ = ["Closed", "RawSocketIO"]
