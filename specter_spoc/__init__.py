"""specter_spoc: a lifecycle runtime for Flask + gevent + Flask-SocketIO.

SPOC-style modular apps on SPECTER-style primitives. Code written for
SPECTER 0.1.2 runs after changing ``from specter import ...`` to
``from specter_spoc import ...``. The public API is exactly ``__all__``
(a test pins it).
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, List

if TYPE_CHECKING:  # the same names, spelled out for type checkers (a test checks both agree)
    from .contracts.operation import Operation
    from .contracts.operation import OperationError
    from .contracts.outcome import Outcome
    from .contracts.schema import Field
    from .contracts.schema import Schema
    from .contracts.schema import SchemaError
    from .lifecycle.offload import OffloadError
    from .lifecycle.offload import offload
    from .lifecycle.process import ManagedProcess
    from .lifecycle.process import start_process
    from .lifecycle.queue import QueueService
    from .lifecycle.service import Service
    from .lifecycle.watcher import Watcher
    from .lifecycle.watcher import WatcherError
    from .runtime import BootError
    from .runtime import Runtime
    from .runtime import ServiceManager
    from .app import boot
    from .app import create_app
    from .app import serve
    from .project.loader import load_project
    from .state.cache import Cache
    from .state.cache import create_cache
    from .state.model import Model
    from .state.model import create_model
    from .state.store import Store
    from .state.store import create_store
    from .web.controller import Controller
    from .web.handler import Handler
    from .web.http import HTTPError
    from .web.http import expect_json
    from .web.http import json_endpoint
    from .web.http import require_fields
    from .web.ingress import SocketIngress
    from .web.router import Router
    from .web.router import route
    from .wiring import signals
    from .wiring.bus import EventBus
    from .wiring.proxies import bus
    from .wiring.proxies import registry
    from .wiring.registry import Registry
    from .wiring.registry import Registry as SPECTERRegistry
    from .wiring.scope import Scope
    from .wiring.scope import current_scope

#: public name -> module that defines it (the same names as ``__all__``). Imported on first use, so that ``import specter_spoc`` has no side
#: effects (the CLI monkey-patches gevent before Flask is imported).
_EXPORTS = {
    "Operation": ".contracts.operation",
    "OperationError": ".contracts.operation",
    "Outcome": ".contracts.outcome",
    "Field": ".contracts.schema",
    "Schema": ".contracts.schema",
    "SchemaError": ".contracts.schema",
    "OffloadError": ".lifecycle.offload",
    "offload": ".lifecycle.offload",
    "ManagedProcess": ".lifecycle.process",
    "start_process": ".lifecycle.process",
    "QueueService": ".lifecycle.queue",
    "Service": ".lifecycle.service",
    "Watcher": ".lifecycle.watcher",
    "WatcherError": ".lifecycle.watcher",
    "BootError": ".runtime",
    "Runtime": ".runtime",
    "ServiceManager": ".runtime",
    "boot": ".app",
    "create_app": ".app",
    "serve": ".app",
    "load_project": ".project.loader",
    "Cache": ".state.cache",
    "create_cache": ".state.cache",
    "Model": ".state.model",
    "create_model": ".state.model",
    "Store": ".state.store",
    "create_store": ".state.store",
    "Controller": ".web.controller",
    "Handler": ".web.handler",
    "HTTPError": ".web.http",
    "expect_json": ".web.http",
    "json_endpoint": ".web.http",
    "require_fields": ".web.http",
    "SocketIngress": ".web.ingress",
    "Router": ".web.router",
    "route": ".web.router",
    "signals": ".wiring.signals",
    "EventBus": ".wiring.bus",
    "bus": ".wiring.proxies",
    "registry": ".wiring.proxies",
    "Registry": ".wiring.registry",
    "SPECTERRegistry": ".wiring.registry",
    "Scope": ".wiring.scope",
    "current_scope": ".wiring.scope",
}
_ALIASES = {"SPECTERRegistry": "Registry"}

SPECTER_COMPAT = "0.1.2"
"""The SPECTER release whose documented behaviour this package keeps (the
compatibility tests pin against it)."""


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version("specter-spoc")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "0.0.0+unknown"


__version__ = _version()
"""The installed distribution's version (``0.0.0+unknown`` in a source
checkout that was never installed), read from the package metadata so it
has one source: setup.cfg."""

#: the public API, literal for type checkers; a test checks it equals _EXPORTS
__all__ = [
    "BootError", "Cache", "Controller", "EventBus", "Field", "HTTPError", "Handler",
    "ManagedProcess", "Model", "OffloadError", "Operation", "OperationError", "Outcome",
    "QueueService", "Registry", "Router", "Runtime", "SPECTERRegistry", "Schema", "SchemaError",
    "Scope", "Service", "ServiceManager", "SocketIngress", "Store", "Watcher", "WatcherError",
    "boot", "bus", "create_app", "create_cache", "create_model", "create_store", "current_scope",
    "expect_json", "json_endpoint", "load_project", "offload", "registry", "require_fields",
    "route", "serve", "signals", "start_process", "SPECTER_COMPAT", "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'specter_spoc' has no attribute {name!r}")
    imported = import_module(module, __name__)
    value = imported if module.endswith("." + name) else getattr(imported, _ALIASES.get(name, name))
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))
