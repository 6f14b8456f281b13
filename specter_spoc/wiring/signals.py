"""Lifecycle signals as blinker signals, the way Flask exposes its own.

Connect with ``sender=`` to filter::

    from specter_spoc import signals
    @signals.service_crashed.connect
    def page_someone(service, error, **extra): ...

Each signal is sent with the service or runtime as the sender.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sent after a Service's on_start succeeded (sender: the service)
service_started = _signals.signal("service-started")
#: sent after a Service stopped and released everything it owned
service_stopped = _signals.signal("service-stopped")
#: sent when a greenlet owned by a Service died of an uncaught exception
#: (sender: the service; kwargs: error, label, action)
service_crashed = _signals.signal("service-crashed")
#: sent when a Runtime finished booting (sender: the runtime)
runtime_booted = _signals.signal("runtime-booted")
#: sent when a Runtime begins shutting down (sender: the runtime)
runtime_shutting_down = _signals.signal("runtime-shutting-down")
