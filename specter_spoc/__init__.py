"""specter_spoc: a lifecycle runtime for Flask + gevent + Flask-SocketIO.

SPOC-style modular apps on SPECTER-style primitives. Code written for
SPECTER 0.1.2 runs after changing ``from specter import ...`` to
``from specter_spoc import ...``. The public API is exactly ``__all__``
(a test pins it).
"""
from __future__ import annotations

from .contracts.operation import Operation, OperationError
from .contracts.outcome import Outcome
from .contracts.schema import Field, Schema, SchemaError
from .lifecycle.offload import OffloadError, offload
from .lifecycle.process import ManagedProcess, start_process
from .lifecycle.queue import QueueService
from .lifecycle.service import Service
from .lifecycle.watcher import Watcher, WatcherError
from .runtime import BootError, Runtime, ServiceManager, boot
from .state.cache import Cache, create_cache
from .state.model import Model, create_model
from .state.store import Store, create_store
from .web.controller import Controller
from .web.handler import Handler
from .web.http import HTTPError, expect_json, json_endpoint, require_fields
from .web.ingress import SocketIngress
from .web.router import Router, route
from .wiring import signals
from .wiring.bus import EventBus
from .wiring.proxies import bus, registry
from .wiring.registry import Registry
from .wiring.scope import Scope, current_scope

#: SPECTER's name for the registry class
SPECTERRegistry = Registry

__version__ = "0.1.0"

__all__ = [
    # lifecycle
    "Service", "QueueService", "Watcher", "WatcherError", "ManagedProcess", "start_process",
    "offload", "OffloadError",
    # web
    "Controller", "Handler", "SocketIngress", "Router", "route",
    "HTTPError", "json_endpoint", "expect_json", "require_fields",
    # runtime
    "boot", "Runtime", "ServiceManager", "BootError",
    # state
    "Store", "create_store", "Model", "create_model", "Cache", "create_cache",
    # contracts
    "Schema", "Field", "SchemaError", "Outcome", "Operation", "OperationError",
    # wiring
    "EventBus", "bus", "Registry", "SPECTERRegistry", "registry", "Scope", "current_scope", "signals",
    "__version__",
]
