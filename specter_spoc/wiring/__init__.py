"""Per-runtime wiring: the bus, the registry, scopes and lifecycle signals."""
from .bus import EventBus
from .proxies import BusProxy, RegistryProxy, bus, registry
from .registry import Registry
from .scope import Scope, current_scope, default_scope

__all__ = ["EventBus", "Registry", "Scope", "BusProxy", "RegistryProxy", "bus", "registry",
           "current_scope", "default_scope"]
