"""specter_spoc: a lifecycle runtime for Flask + gevent + Flask-SocketIO."""
from __future__ import annotations

from .lifecycle.service import Service
from .wiring import signals
from .wiring.bus import EventBus
from .wiring.proxies import bus, registry
from .wiring.registry import Registry
from .wiring.scope import Scope, current_scope

#: SPECTER's name for the registry class
SPECTERRegistry = Registry

__version__ = "0.1.0"
