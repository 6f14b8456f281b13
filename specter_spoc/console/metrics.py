"""Prometheus metrics of a runtime (``pip install 'specter-spoc[metrics]'``).

``install_metrics(runtime)`` serves the text exposition format at
``/_spoc/metrics``. Metric names and labels (all prefixed ``spoc_``):

====================================  =========  ==========================  ========================================
name                                  type       labels                      meaning
====================================  =========  ==========================  ========================================
``spoc_services``                     gauge      state                       services by state (running, failed, ...)
``spoc_greenlets_owned``              gauge                                  live greenlets owned by services
``spoc_service_crashes_total``        counter    service                     crashed owned greenlets
``spoc_service_restarts_total``       counter    service                     supervised restarts scheduled
``spoc_queue_pending``                gauge      queue                       items waiting
``spoc_queue_in_flight``              gauge      queue                       items being handled
``spoc_queue_workers_alive``          gauge      queue                       live worker greenlets
``spoc_queue_processed_total``        counter    queue                       items handled successfully
``spoc_queue_dead_lettered_total``    counter    queue                       items given up on
``spoc_queue_retried_total``          counter    queue                       retries of failing items
``spoc_queue_rejected_total``         counter    queue                       enqueue() calls refused
``spoc_queue_handling_seconds``       histogram  queue                       handle_item() duration
``spoc_socketio_clients``             gauge      namespace                   connected Socket.IO clients
``spoc_socketio_events_total``        counter    namespace, direction        events received (in) / emitted (out)
``spoc_bus_emits_total``              counter    event                       bus emits
``spoc_boot_seconds``                 gauge                                  how long the last boot took
``spoc_shutdown_seconds``             histogram                              how long shutdowns took
``spoc_http_refused_draining_total``  counter                                requests answered 503 while draining
====================================  =========  ==========================  ========================================

**Several processes (gunicorn).** Set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory writable by the workers (before gunicorn starts, and
emptied at each start). Counters and histograms are then summed over the
processes; gauges carry a ``pid`` label (``liveall``): one series per live
worker, removed when the worker shuts down. Any worker answers a scrape for
all of them. Gauges of the other workers are at most
:data:`SAMPLE_INTERVAL` seconds old: in this mode each process refreshes its
figures on an owned timer; in single-process mode they are read at scrape
time and nothing runs in between.

Cost: a bus tap (one counter increment per emit), a wrapper around each
QueueService's ``handle_item`` (two clock reads per item) and one around
Socket.IO's dispatch and emit (one increment per event). Call
:func:`arm_boot_timing` before ``boot()`` (``console_settings_from_config``
does) so in-process queue workers are timed from their first item.
"""
from __future__ import annotations

import os
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from ..lifecycle.service import Service
from ..wiring import signals
from .collect import CONSOLE_NAMESPACE, owns, service_state, socket_clients, walk_services

if TYPE_CHECKING:
    import prometheus_client as prom

__all__ = ["MetricsService", "observe_shutdown", "multiprocess_dir", "metrics_response", "METRICS_NAMESPACE", "arm_boot_timing",
           "time_items"]

METRICS_NAMESPACE = "spoc"
#: seconds between samples of the gauges in multi-process mode
SAMPLE_INTERVAL = 5.0
_STATES = ("starting", "running", "stopping", "stopped", "failed")

#: boot/shutdown start times and boot durations per runtime (see arm_boot_timing)
_started_at: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()
_boot_seconds: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()
_shutdown_started: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()
#: the MetricsService of each runtime with metrics installed
_installed: "weakref.WeakKeyDictionary[Any, MetricsService]" = weakref.WeakKeyDictionary()


def multiprocess_dir() -> Optional[str]:
    """prometheus_client's multi-process directory, when configured."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def _require_client() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise ImportError("metrics need prometheus_client: pip install 'specter-spoc[metrics]' "
                          "(or set METRICS_ENABLED = False).") from None
    return prometheus_client


def _is_runtime(sender: Any) -> bool:
    return callable(getattr(sender, "tree", None)) and hasattr(sender, "draining") and hasattr(sender, "socketio")


def _on_booting(sender: Any, **_: Any) -> None:
    _started_at[sender] = time.monotonic()


def _on_started(sender: Any, **_: Any) -> None:
    """Without a ``runtime_booting`` signal, a boot is timed from the end of
    its first service start (a slight underestimate)."""
    root = _root(sender)
    if root is not sender and _is_runtime(root) and not getattr(root, "booted", True) and root not in _started_at:
        _started_at[root] = time.monotonic()


def _on_booted(sender: Any, **_: Any) -> None:
    start = _started_at.pop(sender, None)
    if start is not None:
        _boot_seconds[sender] = time.monotonic() - start
    metrics = _installed.get(sender)
    if metrics is not None and sender in _boot_seconds:
        metrics.boot_seconds.set(_boot_seconds[sender])


def _on_shutting_down(sender: Any, **_: Any) -> None:
    _shutdown_started[sender] = time.monotonic()


def observe_shutdown(runtime: Any, metrics: "MetricsService") -> None:
    """Record how long the runtime's shutdown took (a runtime cleanup: it
    runs at the very end of shutdown)."""
    start = _shutdown_started.pop(runtime, None)
    if start is not None:
        metrics.shutdown_seconds.observe(time.monotonic() - start)


def _root(service: Any) -> Any:
    while getattr(service, "owner", None) is not None:
        service = service.owner
    return service


def time_items(service: Any) -> None:
    """Time ``handle_item`` of a QueueService into the metrics of its runtime
    (looked up per item: metrics installed later are picked up). The wrapper
    is an instance attribute; an in-process worker reads ``handle_item``
    once, when it first runs, so it must be in place before that:
    :func:`arm_boot_timing` wraps each QueueService as it starts."""
    original = getattr(service, "handle_item", None)
    if not callable(original) or not callable(getattr(service, "stats", None)) \
            or getattr(original, "spoc_timed", False):
        return
    clock = time.perf_counter
    observers: Dict[int, Callable[[float], None]] = {}

    def handle_item(item: Any) -> Any:
        metrics = _installed.get(_root(service))
        if metrics is None:
            return original(item)
        observe = observers.get(id(metrics))
        if observe is None:  # labels() takes a lock: once per runtime
            observe = observers[id(metrics)] = metrics.handling.labels(service.name).observe
        start = clock()
        try:
            return original(item)
        finally:
            observe(clock() - start)

    handle_item.spoc_timed = True  # type: ignore[attr-defined]
    service.handle_item = handle_item


def _on_service_started_time_items(sender: Any, **_: Any) -> None:
    time_items(sender)


_armed = False


def arm_boot_timing() -> None:
    """Start timing boots, shutdowns and QueueService items (call before
    ``boot()``, as ``console_settings_from_config`` does; a boot that began
    earlier has no ``spoc_boot_seconds``, and its in-process queue workers
    time their items only from their next restart)."""
    global _armed
    if _armed:
        return
    _armed = True
    booting = getattr(signals, "runtime_booting", None)
    if booting is not None:
        booting.connect(_on_booting, weak=False)
    else:
        signals.service_started.connect(_on_started, weak=False)
    signals.service_started.connect(_on_service_started_time_items, weak=False)
    signals.runtime_booted.connect(_on_booted, weak=False)
    signals.runtime_shutting_down.connect(_on_shutting_down, weak=False)


class MetricsService(Service):
    """Owns one runtime's metrics: its registry, hooks and (multi-process) sampler."""

    priority = -1000

    def __init__(self, runtime: Any, *, name: str = "spoc-metrics", sample_interval: Optional[float] = None) -> None:
        super().__init__(name)
        client = _require_client()
        period = SAMPLE_INTERVAL if sample_interval is None else sample_interval
        if isinstance(period, bool) or not isinstance(period, (int, float)) or period <= 0:
            raise ValueError(f"install_metrics(sample_interval=...) must be seconds > 0, got {sample_interval!r}.")
        self.sample_interval: float = float(period)
        self.runtime = runtime
        self.multiprocess: bool = multiprocess_dir() is not None
        self.registry: prom.CollectorRegistry = client.CollectorRegistry(auto_describe=True)
        gauge_mode = {"multiprocess_mode": "liveall"} if self.multiprocess else {}
        reg = {"registry": self.registry, "namespace": METRICS_NAMESPACE}
        Gauge, Counter, Histogram = client.Gauge, client.Counter, client.Histogram
        self.services: prom.Gauge = Gauge("services", "Services by state", ["state"], **reg, **gauge_mode)
        self.greenlets: prom.Gauge = Gauge("greenlets_owned", "Live greenlets owned by services", **reg, **gauge_mode)
        self.crashes: prom.Counter = Counter("service_crashes", "Crashed greenlets owned by services", ["service"], **reg)
        self.restarts: prom.Counter = Counter("service_restarts", "Supervised restarts scheduled", ["service"], **reg)
        self.pending: prom.Gauge = Gauge("queue_pending", "QueueService items waiting", ["queue"], **reg, **gauge_mode)
        self.in_flight: prom.Gauge = Gauge("queue_in_flight", "QueueService items being handled", ["queue"],
                                           **reg, **gauge_mode)
        self.workers: prom.Gauge = Gauge("queue_workers_alive", "Live QueueService workers", ["queue"],
                                         **reg, **gauge_mode)
        self.counters: Dict[str, prom.Counter] = {
            key: Counter(f"queue_{key}", f"QueueService items {key.replace('_', ' ')}", ["queue"], **reg)
            for key in ("processed", "dead_lettered", "retried", "rejected")}
        self.handling: prom.Histogram = Histogram("queue_handling_seconds", "QueueService handle_item() duration",
                                                  ["queue"], **reg)
        self.clients: prom.Gauge = Gauge("socketio_clients", "Connected Socket.IO clients", ["namespace"],
                                         **reg, **gauge_mode)
        self.events: prom.Counter = Counter("socketio_events", "Socket.IO events received (in) and emitted (out)",
                                            ["namespace", "direction"], **reg)
        self.bus_emits: prom.Counter = Counter("bus_emits", "Bus emits by event name", ["event"], **reg)
        self.boot_seconds: prom.Gauge = Gauge("boot_seconds", "Duration of the last boot", **reg,
                                              **({"multiprocess_mode": "max"} if self.multiprocess else {}))
        self.shutdown_seconds: prom.Histogram = Histogram("shutdown_seconds", "Duration of shutdowns", **reg,
                                                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.refused: prom.Counter = Counter("http_refused_draining", "HTTP requests answered 503 while draining", **reg)
        self._last: Dict[str, Dict[str, int]] = {}
        self._emit_incs: Dict[str, Callable[[], None]] = {}

    # ------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        _installed[self.runtime] = self
        self.add_cleanup(lambda: _installed.pop(self.runtime, None))
        boot = _boot_seconds.get(self.runtime)
        if boot is not None:
            self.boot_seconds.set(boot)
        self.add_cleanup(self.runtime.bus.tap(self._on_emit))
        signals.service_crashed.connect(self._on_crash, weak=False)
        self.add_cleanup(lambda: signals.service_crashed.disconnect(self._on_crash))
        for service in walk_services(self.runtime):
            time_items(service)
        self._instrument_socketio()
        self._instrument_draining()
        if self.multiprocess:
            self.add_cleanup(self._mark_dead)
            self.interval(self.sample, self.sample_interval)

    def _mark_dead(self) -> None:
        from prometheus_client import multiprocess

        # prometheus_client leaves this function unannotated: name its signature here
        mark_process_dead: Callable[[int], None] = multiprocess.mark_process_dead
        mark_process_dead(os.getpid())

    # ----------------------------------------------------------------- hooks
    def _on_emit(self, event: str, data: Any) -> None:
        inc = self._emit_incs.get(event)
        if inc is None:  # labels() takes a lock and builds a key: once per event name
            inc = self._emit_incs[event] = self.bus_emits.labels(event).inc
        inc()

    def _on_crash(self, sender: Any, action: str = "", **_: Any) -> None:
        if owns(self.runtime, sender):
            self.crashes.labels(sender.name).inc()
            if action == "restart":
                self.restarts.labels(sender.name).inc()

    def _instrument_socketio(self) -> None:
        server = getattr(self.runtime.socketio, "server", None)
        trigger, emit = getattr(server, "_trigger_event", None), getattr(server, "emit", None)
        if server is None or not callable(trigger) or not callable(emit):
            return
        events_in: Callable[..., Any] = lambda ns: self.events.labels(ns or "/", "in").inc()  # noqa: E731

        def counted_trigger(event: str, namespace: str, *args: Any) -> Any:
            if event not in ("connect", "disconnect") and namespace != CONSOLE_NAMESPACE:
                events_in(namespace)
            return trigger(event, namespace, *args)

        def counted_emit(event: str, *args: Any, **kwargs: Any) -> Any:
            namespace = kwargs.get("namespace") or "/"
            if namespace != CONSOLE_NAMESPACE:
                self.events.labels(namespace, "out").inc()
            return emit(event, *args, **kwargs)

        server._trigger_event, server.emit = counted_trigger, counted_emit

        def restore() -> None:
            server.__dict__.pop("_trigger_event", None)
            server.__dict__.pop("emit", None)

        self.add_cleanup(restore)

    def _instrument_draining(self) -> None:
        tracker = getattr(self.runtime, "_connections", None)
        unavailable = getattr(tracker, "_unavailable", None)
        if tracker is None or not callable(unavailable):
            return

        def counted(start_response: Any) -> Any:
            self.refused.inc()
            return unavailable(start_response)

        tracker._unavailable = counted  # the tracker answers 503s itself, before Flask
        self.add_cleanup(lambda: tracker.__dict__.pop("_unavailable", None))

    # --------------------------------------------------------------- sample
    def sample(self) -> None:
        """Refresh the gauges and the counters read from QueueService.stats()."""
        by_state = dict.fromkeys(_STATES, 0)
        greenlets = 0
        for service in walk_services(self.runtime):
            health = service.health()
            by_state[service_state(service, health)] = by_state.get(service_state(service, health), 0) + 1
            greenlets += int(health.get("greenlets", 0) or 0)
            if callable(getattr(service, "stats", None)) and callable(getattr(service, "pending_count", None)):
                self._sample_queue(service, health)
        for state, count in by_state.items():
            self.services.labels(state).set(count)
        self.greenlets.set(greenlets)
        for namespace, info in socket_clients(self.runtime.socketio).items():
            self.clients.labels(namespace).set(info["clients"])

    def _sample_queue(self, service: Any, health: Dict[str, Any]) -> None:
        stats = health.get("stats") or service.stats()
        name = service.name
        self.pending.labels(name).set(stats["pending"])
        self.in_flight.labels(name).set(stats["in_flight"])
        self.workers.labels(name).set(health.get("workers_alive", 0) or 0)
        last = self._last.setdefault(name, {})
        for key, counter in self.counters.items():
            delta = int(stats.get(key, 0)) - last.get(key, 0)
            if delta > 0:
                counter.labels(name).inc(delta)
            last[key] = int(stats.get(key, 0))

    # --------------------------------------------------------------- expose
    def exposition(self) -> bytes:
        """The text format: this process sampled now (+ every process when multi-process)."""
        client = _require_client()
        self.sample()
        if not self.multiprocess:
            single: bytes = client.generate_latest(self.registry)
            return single
        from prometheus_client import multiprocess

        registry = client.CollectorRegistry()
        # prometheus_client leaves the constructor unannotated: name its signature here
        collect_all: Callable[[Any], object] = multiprocess.MultiProcessCollector
        collect_all(registry)  # registers itself in the registry
        merged: bytes = client.generate_latest(registry)
        return merged


def metrics_response(metrics: MetricsService) -> Any:
    from flask import Response
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                   "Cache-Control": "no-store"})
