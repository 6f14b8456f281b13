"""Inbound Socket.IO events: the server-side CPU one event costs through a
:class:`~specter_spoc.Handler` on a booted app, against the same event on
bare Flask-SocketIO (``@socketio.on``), with a small and a 200 KB payload.

    python -m benchmarks.bench_events [--repeats 7] [--quick]

Method. One process, gevent-patched, two apps side by side (a fresh Flask +
Flask-SocketIO each): *bare* registers ``@socketio.on("bench")``; *ours* is
booted with ``boot(app, socketio, handlers=[BenchHandler()])`` whose
``events = {"bench": "on_bench"}``. Each gets Flask-SocketIO's test client
(a real connected session, handlers run synchronously). The Socket.IO EVENT
packet is encoded **once**; each sample feeds it ``EVENTS`` times to the
server's packet entry point (``server._handle_eio_message``), which decodes
the JSON, finds the handler, pushes the app and request contexts and calls
it — everything the server does for an inbound event after the websocket
frame is read (the frame reading is the same code in both). CPU time
(``time.process_time``, gc off); the handlers count their calls and the
count is checked. Ours and bare alternate every round (order reversed every
other round); medians; spread = min-max of the per-round ratios.

Payloads: ``{"text": "hello", "n": 1}`` and a list of small records
serialising to about 200 KB (JSON decoding dominates there, so any
re-encoding shows).

Goal (issue 16 #6): ours <= 1.05x bare at both sizes.
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import json
import logging
from typing import Any, Dict, List, Optional, Tuple

from benchmarks._harness import cpu_timed, interleaved_samples, paired_row, scenario_main

EVENTS = {"small": 20_000, "200 KB": 150}
QUICK_EVENTS = {"small": 1_000, "200 KB": 10}
GOAL = "issue 16 #6: inbound event CPU <= 1.05x bare Flask-SocketIO"
BARE = "bare Flask-SocketIO @socketio.on"


def _payloads() -> Dict[str, Any]:
    record = {"id": 0, "name": "item-000000", "tags": ["a", "b", "c"], "price": 12.5, "active": True}
    size = len(json.dumps(record, separators=(",", ":"))) + 1  # as python-socketio encodes it, with its ","
    big = [dict(record, id=i, name=f"item-{i:06d}") for i in range(200 * 1024 // size + 1)]
    return {"small": {"text": "hello", "n": 1}, "200 KB": big}


class _Side:
    """One app (ours or bare) with a connected test client and the encoded
    EVENT packet per payload."""

    def __init__(self, variant: str, payloads: Dict[str, Any]) -> None:
        from flask import Flask
        from flask_socketio import SocketIO
        from socketio import packet

        self.calls = 0
        self.runtime: Any = None
        app = Flask(f"bench_events_{variant}")
        # room for the 200 KB payload in both apps alike
        socketio = SocketIO(app, async_mode="gevent", max_http_buffer_size=4 * 1024 * 1024)
        if variant == "bare":
            @socketio.on("bench")
            def on_bench(data: Any) -> None:
                self.calls += 1
        else:
            from specter_spoc import Handler, boot

            side = self

            class BenchHandler(Handler):
                name = "bench_events"
                events = {"bench": "on_bench"}

                def on_bench(self, data: Any) -> None:
                    side.calls += 1

            self.runtime = boot(app, socketio, handlers=[BenchHandler()])
        self.client = socketio.test_client(app)
        if not self.client.is_connected():
            raise RuntimeError(f"{variant}: the Socket.IO test client did not connect")
        self.server = socketio.server
        self.sid = self.client.eio_sid
        self.encoded: Dict[str, Any] = {}
        for name, payload in payloads.items():
            encoded = packet.Packet(packet.EVENT, data=["bench", payload]).encode()
            if isinstance(encoded, list):
                raise RuntimeError("the benchmark payload must not be binary")
            self.encoded[name] = encoded

    def loop(self, name: str, count: int) -> None:
        handle, sid, encoded = self.server._handle_eio_message, self.sid, self.encoded[name]
        before = self.calls
        for _ in range(count):
            handle(sid, encoded)
        if self.calls - before != count:
            raise RuntimeError(f"{count} events sent, the handler ran {self.calls - before} times "
                               f"(errors: {self.client.get_received()[-1:]})")

    def close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            if self.runtime is not None:
                self.runtime.shutdown()


def run(repeats: int = 7, quick: bool = False, events: Optional[Dict[str, int]] = None) -> List[Dict[str, Any]]:
    logging.getLogger("specter_spoc").setLevel(logging.WARNING)
    counts = events or (QUICK_EVENTS if quick else EVENTS)
    repeats = max(repeats, 1 if quick else 5)
    payloads = _payloads()
    sides = {"ours": _Side("ours", payloads), "bare": _Side("bare", payloads)}
    rows: List[Dict[str, Any]] = []
    try:
        for name, count in counts.items():
            fns = {v: (lambda side=side, name=name, count=count: side.loop(name, count)) for v, side in sides.items()}
            for fn in fns.values():
                fn()  # warm up
            samples = interleaved_samples(fns, repeats, timer=cpu_timed)
            size = len(sides["bare"].encoded[name])
            rows.append(paired_row(f"inbound socket event, {name} payload, Handler on a booted app",
                                   samples["ours"], BARE, samples["bare"], "us/event", scale=1e6 / count,
                                   goal=GOAL, goal_max=1.05,
                                   note=f"{size:,} bytes per packet, {count:,} events per sample, CPU time"))
    finally:
        for side in sides.values():
            side.close()
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    return scenario_main(run, __doc__, repeats=7, argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
