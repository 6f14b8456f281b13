"""Lifecycle signals as blinker signals, the way Flask exposes its own.

Connect with ``sender=`` to filter::

    from specter_spoc import signals
    @signals.service_crashed.connect
    def page_someone(service, error, **extra): ...

Each signal is sent with the service or runtime as the sender.
"""
from __future__ import annotations

from blinker import NamedSignal, Namespace

_signals = Namespace()

service_started: NamedSignal = _signals.signal("service-started")
"""Sent after a Service's ``on_start`` succeeded (sender: the service)."""

service_stopped: NamedSignal = _signals.signal("service-stopped")
"""Sent after a Service stopped and released everything it owned (sender: the service)."""

service_crashed: NamedSignal = _signals.signal("service-crashed")
"""Sent when a greenlet owned by a Service died of an uncaught exception
(sender: the service; keyword arguments: ``error``, ``label``, ``action``)."""

runtime_booted: NamedSignal = _signals.signal("runtime-booted")
"""Sent when a Runtime finished booting (sender: the runtime)."""

runtime_shutting_down: NamedSignal = _signals.signal("runtime-shutting-down")
"""Sent when a Runtime begins shutting down (sender: the runtime), before
anything is stopped, so listeners can still use the services."""
