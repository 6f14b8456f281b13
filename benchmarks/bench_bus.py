"""The module-level ``bus`` where ported code calls it: ``bus.emit`` inside a
Flask request, inside socket handlers, in a service greenlet and outside any
runtime, at 0 and 3 listeners, against SPECTER's ``bus.emit`` and a plain
loop calling the same listeners; and ``runtime.bus.emit`` against the loop.

    python -m benchmarks.bench_bus [--repeats 7] [--quick]

Method. One process, gevent-patched. Each sample is ``EMITS`` calls of
``emit("bench:N", None)`` timed *inside* the context being measured, in CPU
time (``time.process_time``: other processes on a shared machine do not
stretch it; the loop does no I/O), so the context's own set-up (the request, the socket packet)
is not in the figure:

- **Flask request**: a real request through the booted app's WSGI stack
  (Flask's test client); the view runs the loop and returns its time;
- **socket handler**: a real Socket.IO EVENT packet through Flask-SocketIO's
  test client, handled (a) by a :class:`~specter_spoc.Handler` event method
  and (b) by a plain ``@socketio.on`` function, answering its time as the ack;
- **service greenlet**: a greenlet spawned by a started Service;
- **outside any runtime**: plain code in the main greenlet, both before any
  runtime is booted and with one runtime booted in the process (SPECTER's
  composition-root pattern).

In every context the 3 listeners are subscribed through the proxy from that
same context (as ported code does) and the number of listeners the proxy
reaches there is checked before timing, so a "3 listener" figure never
measures an emit that reaches none. The baselines run in the same rounds:
``specter.bus.emit`` with the same 3 listeners (specter-runtime 0.1.2, the
dev extra) and a plain ``for fn in listeners: fn(data)`` loop. Candidates
alternate every round (order reversed every other round); medians of the
rounds; the spread is the min-max of the per-round ratios.

Goals (issue 16 #2, issue 13 "Performance on the drop-in path"): proxy emit
<= 1.0x SPECTER's emit at 0 and 3 listeners in every context; inside a
runtime context, and ``runtime.bus.emit``, <= 1.3x the plain loop.
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import logging
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import gevent
from gevent.event import AsyncResult

from benchmarks._harness import (ScenarioSkipped, have_specter, interleaved_samples, paired_row, scenario_main,
                                 self_timed)

EMITS = 100_000
QUICK_EMITS = 5_000
COUNTS = (0, 3)
SPECTER = "specter 0.1.2 bus.emit"
PLAIN = "plain loop, same listeners"
GOAL_SPECTER = "issue 16 #2 / issue 13: proxy emit <= 1.0x SPECTER's emit"
GOAL_PLAIN = "issue 13: proxy emit inside a runtime context <= 1.3x a plain loop"
GOAL_RUNTIME_BUS = "issue 16 #2: runtime.bus.emit <= 1.3x a plain loop"


def _listener(data: object) -> None:
    return None


def _listener_b(data: object) -> None:
    return None


def _listener_c(data: object) -> None:
    return None


LISTENERS = (_listener, _listener_b, _listener_c)


def _event(n: int) -> str:
    return f"bench:{n}"


def _emit_loop(emit: Callable[[str, object], Any], event: str, count: int) -> float:
    """CPU seconds for ``count`` calls of ``emit(event, None)``."""
    start = time.process_time()
    for _ in range(count):
        emit(event, None)
    return time.process_time() - start


def _plain_loop(listeners: Tuple[Callable[[object], Any], ...], count: int) -> float:
    """The floor: the same listener calls with nothing around them."""
    start = time.process_time()
    for _ in range(count):
        for fn in listeners:
            fn(None)
    return time.process_time() - start


def _subscribe_here(proxy: Any, where: str) -> None:
    """Subscribe the listeners through the proxy from the running context,
    unless this context's bus already has them; then check what an emit from
    here reaches (a wrong figure is worse than none)."""
    for n in COUNTS:
        event = _event(n)
        if proxy.listener_count(event) == 0:
            for fn in LISTENERS[:n]:
                proxy.on(event, fn)
        reached = proxy.listener_count(event)
        if reached != n:
            raise RuntimeError(f"bus proxy {where}: an emit of {event!r} reaches {reached} listeners, expected {n}")


# --------------------------------------------------------------- contexts
class _Contexts:
    """One booted runtime (Flask app + Socket.IO) with a view, a Handler, an
    ``@socketio.on`` function and a Service, each able to run the emit loop
    in its own context and report the seconds."""

    def __init__(self, count: int) -> None:
        from flask import Flask, jsonify, request
        from flask_socketio import SocketIO

        from specter_spoc import Handler, Service, boot, bus

        self.count = count
        app = Flask("bench_bus")
        app.config["TESTING"] = True
        socketio = SocketIO(app, async_mode="gevent")
        self.ready: Dict[str, bool] = {}

        def in_request_context() -> Any:
            n = int(request.args["n"])
            if "request" not in self.ready:
                _subscribe_here(bus, "in a Flask request")
                self.ready["request"] = True
            return jsonify(seconds=_emit_loop(bus.emit, _event(n), self.count))

        app.add_url_rule("/bench/emit", "bench_emit", in_request_context)

        @socketio.on("bench_plain")
        def plain_socket_handler(n: int) -> float:
            if "socketio_on" not in self.ready:
                _subscribe_here(bus, "in an @socketio.on handler")
                self.ready["socketio_on"] = True
            return _emit_loop(bus.emit, _event(int(n)), self.count)

        outer = self

        class BenchHandler(Handler):
            name = "bench_bus_handler"
            events = {"bench_handler": "on_bench"}

            def on_bench(self, n: int) -> float:
                if "handler" not in outer.ready:
                    _subscribe_here(bus, "in a Handler event method")
                    outer.ready["handler"] = True
                return _emit_loop(bus.emit, _event(int(n)), outer.count)

        class BenchService(Service):
            def run_loop(self, n: int) -> float:
                result: AsyncResult = AsyncResult()

                def body() -> None:
                    try:
                        if "service" not in outer.ready:
                            _subscribe_here(bus, "in a service greenlet")
                            outer.ready["service"] = True
                        result.set(_emit_loop(bus.emit, _event(n), outer.count))
                    except BaseException as exc:
                        result.set_exception(exc)

                self.spawn(body)
                return float(result.get(timeout=120))

        self.service = BenchService("bench_bus_service")
        self.runtime = boot(app, socketio, services=[self.service], handlers=[BenchHandler()],
                            install_signals=False)
        self.app = app
        self.http = app.test_client()
        self.sio = socketio.test_client(app)
        if not self.sio.is_connected():
            raise RuntimeError("the Socket.IO test client did not connect to the booted app")

    def request(self, n: int) -> float:
        response = self.http.get(f"/bench/emit?n={n}")
        if response.status_code != 200:
            raise RuntimeError(f"GET /bench/emit answered {response.status_code}: {response.data[:300]!r}")
        return float(response.get_json()["seconds"])

    def socket(self, event: str, n: int) -> float:
        ack = self.sio.emit(event, n, callback=True)
        if not isinstance(ack, (int, float)):
            raise RuntimeError(f"socket event {event!r} answered {ack!r} instead of its time")
        return float(ack)

    def close(self) -> None:
        try:
            self.sio.disconnect()
        finally:
            self.runtime.shutdown()


def _specter_bus() -> Any:
    if not have_specter():
        raise ScenarioSkipped("specter-runtime 0.1.2 is not installed: pip install -e '.[dev]'")
    from specter import bus as specter_bus

    for n in COUNTS:
        specter_bus.clear(_event(n))
        for fn in LISTENERS[:n]:
            specter_bus.on(_event(n), fn)
    return specter_bus


def _baselines(count: int) -> Dict[str, Callable[[], float]]:
    specter_bus = _specter_bus()
    fns: Dict[str, Callable[[], float]] = {}
    for n in COUNTS:
        fns[f"specter:{n}"] = self_timed(lambda n=n: _emit_loop(specter_bus.emit, _event(n), count))
        fns[f"plain:{n}"] = self_timed(lambda n=n: _plain_loop(LISTENERS[:n], count))
    return fns


def _rows_for(label: str, key: str, samples: Dict[str, List[float]], count: int, *,
              plain_goal: Optional[str]) -> List[Dict[str, Any]]:
    scale = 1e9 / count  # seconds per sample -> ns per emit
    rows = []
    for n in COUNTS:
        rows.append(paired_row(f"`bus.emit` proxy {label}, {n} listeners", samples[f"{key}:{n}"], SPECTER,
                               samples[f"specter:{n}"], "ns/emit", scale=scale, goal=GOAL_SPECTER, goal_max=1.0))
    rows.append(paired_row(f"`bus.emit` proxy {label}, 3 listeners", samples[f"{key}:3"], PLAIN,
                           samples["plain:3"], "ns/emit", scale=scale,
                           **({"goal": plain_goal, "goal_max": 1.3} if plain_goal else {})))
    return rows


def run(repeats: int = 7, quick: bool = False, emits: Optional[int] = None) -> List[Dict[str, Any]]:
    """Rows for every context at 0 and 3 listeners (see the module doc)."""
    from specter_spoc import bus

    logging.getLogger("specter_spoc").setLevel(logging.WARNING)
    count = emits or (QUICK_EMITS if quick else EMITS)
    repeats = max(repeats, 1 if quick else 5)

    # phase 1: no runtime in the process yet (a plain script)
    _subscribe_here(bus, "outside any runtime (none booted)")
    before: Dict[str, Callable[[], float]] = dict(_baselines(count))
    for n in COUNTS:
        before[f"outside:{n}"] = self_timed(lambda n=n: _emit_loop(bus.emit, _event(n), count))
    for fn in list(before.values()):
        fn()  # warm up
    early = interleaved_samples(before, repeats)
    for n in COUNTS:
        bus.clear(_event(n))

    # phase 2: one runtime booted, every context side by side
    contexts = _Contexts(count)
    try:
        _subscribe_here(bus, "outside any runtime context (one runtime booted)")
        candidates: Dict[str, Callable[[], float]] = dict(_baselines(count))
        runtime_bus = contexts.runtime.bus
        for n in COUNTS:
            candidates[f"request:{n}"] = self_timed(lambda n=n: contexts.request(n))
            candidates[f"handler:{n}"] = self_timed(lambda n=n: contexts.socket("bench_handler", n))
            candidates[f"socketio_on:{n}"] = self_timed(lambda n=n: contexts.socket("bench_plain", n))
            candidates[f"service:{n}"] = self_timed(lambda n=n: contexts.service.run_loop(n))
            candidates[f"booted:{n}"] = self_timed(lambda n=n: _emit_loop(bus.emit, _event(n), count))
        for fn in list(candidates.values()):
            fn()  # warm up, and subscribe in every context
        for n in COUNTS:  # listeners subscribed in the contexts that resolve to the runtime's bus
            if runtime_bus.listener_count(_event(n)) != n:
                raise RuntimeError(f"runtime.bus has {runtime_bus.listener_count(_event(n))} listeners of "
                                   f"{_event(n)!r} after subscribing in every context; expected {n}")
            candidates[f"runtime_bus:{n}"] = self_timed(
                lambda n=n: _emit_loop(runtime_bus.emit, _event(n), count))
        late = interleaved_samples(candidates, repeats)
    finally:
        contexts.close()
        for n in COUNTS:
            bus.clear(_event(n))

    rows: List[Dict[str, Any]] = []
    rows += _rows_for("inside a Flask request (view)", "request", late, count, plain_goal=GOAL_PLAIN)
    rows += _rows_for("in a socket handler (Handler event method)", "handler", late, count, plain_goal=GOAL_PLAIN)
    rows += _rows_for("in a socket handler (@socketio.on function)", "socketio_on", late, count,
                      plain_goal=GOAL_PLAIN)
    rows += _rows_for("in a service greenlet", "service", late, count, plain_goal=GOAL_PLAIN)
    rows += _rows_for("outside any runtime (none booted)", "outside", early, count, plain_goal=None)
    rows += _rows_for("outside any runtime context, one runtime booted", "booted", late, count, plain_goal=None)
    scale = 1e9 / count
    rows.append(paired_row("`runtime.bus.emit`, 3 listeners", late["runtime_bus:3"], PLAIN, late["plain:3"],
                           "ns/emit", scale=scale, goal=GOAL_RUNTIME_BUS, goal_max=1.3))
    rows.append(paired_row("`runtime.bus.emit`, 0 listeners", late["runtime_bus:0"], SPECTER, late["specter:0"],
                           "ns/emit", scale=scale))
    rows.append(paired_row("`runtime.bus.emit`, 3 listeners", late["runtime_bus:3"], SPECTER, late["specter:3"],
                           "ns/emit", scale=scale))
    rows.append(paired_row("specter 0.1.2 `bus.emit` itself, 3 listeners (reference)", late["specter:3"], PLAIN,
                           late["plain:3"], "ns/emit", scale=scale))
    for r in rows:
        r["note"] = "; ".join(filter(None, [str(r.get("note") or ""), f"{count:,} emits per sample"]))
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    return scenario_main(run, __doc__, repeats=7, argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
