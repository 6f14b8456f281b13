"""Socket.IO websocket clients for the soak run, driven over stdin/stdout.

Like :mod:`benchmarks._ws_clients` (:class:`benchmarks._sio_protocol.RawClient`:
one raw websocket and one reader greenlet per client), but the clients
follow the blog example's own broadcast: every ``post_published`` whose
title is ``"soak <seq>"`` is recorded per client with its receipt time
(``time.monotonic()``, system-wide on Linux, so comparable with the driver's
send times)::

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

import sys  # noqa: E402
import time  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

from benchmarks._sio_protocol import RawClient, pool_arguments, run_pool  # noqa: E402

TITLE_PREFIX = "soak "


class _Member:
    """One client and the soak broadcasts it received, in arrival order."""

    def __init__(self, url: str) -> None:
        self.seqs: List[int] = []
        self.times: List[float] = []
        self.client = RawClient(url, timeout=15, on_event=self._on_event)

    def _on_event(self, event: str, args: List[Any]) -> None:
        now = time.monotonic()
        if event == "post_published" and args and isinstance(args[0], dict):
            title = str(args[0].get("title", ""))
            if title.startswith(TITLE_PREFIX):
                self.seqs.append(int(title[len(TITLE_PREFIX):]))
                self.times.append(now)

    def report(self) -> Dict[str, Any]:
        return {"seqs": self.seqs, "times": self.times, "closed_by_server": self.client.closed_by_server,
                "error": self.client.error}


def main(argv: Optional[List[str]] = None) -> int:
    args = pool_arguments(argv, description="Socket.IO websocket clients for the soak run",
                          count=500, concurrency=50, max_seconds=900.0)
    members: List[_Member] = []

    def connect() -> RawClient:
        members.append(_Member(args.url))
        return members[-1].client

    def status(words: List[str]) -> Dict[str, Any]:
        return {"open": sum(not m.client.closed for m in members), "received": sum(len(m.seqs) for m in members)}

    def report(words: List[str]) -> Dict[str, Any]:
        return {"clients": [m.report() for m in members]}

    return run_pool(args, connect, {"status": status, "report": report})


if __name__ == "__main__":
    sys.exit(main())
