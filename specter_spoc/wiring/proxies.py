"""The module-level ``bus`` and ``registry`` names, resolved per use.

``from specter_spoc import bus`` gives an object that forwards every call to
``current_scope().bus``: code written for SPECTER's process singletons keeps
working, but two runtimes in one process never share events or entries.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Type, TypeVar, Union, overload

from ..typing import CleanupOwner
from .bus import EventBus, Listener
from .registry import Registry
from .scope import _DIRECTORY, _current, _outside, current_scope

T = TypeVar("T")


class BusProxy:
    """Forwards to the current scope's :class:`EventBus`."""

    __slots__ = ()

    def on(self, event: str, callback: Listener) -> Callable[[], None]:
        return current_scope().bus.on(event, callback)

    def off(self, event: str, callback: Listener) -> None:
        current_scope().bus.off(event, callback)

    def once(self, event: str, callback: Listener) -> Callable[[], None]:
        return current_scope().bus.once(event, callback)

    def emit(self, event: str, data: object = None) -> None:
        # The hot path of ported SPECTER code, so one frame: current_scope()
        # is inlined (a request, a service greenlet and a one-runtime process
        # resolve without a call), an event nobody listens to returns at once,
        # and the listener loop runs here; taps and errors go through the bus.
        bus = (_current.get() or _DIRECTORY.fallback or _outside()).bus
        listeners = bus._listeners.get(event)
        if bus._taps:
            bus.emit(event, data)
            return
        if listeners:
            for callback in listeners:
                try:
                    callback(data)
                except Exception:
                    bus._listener_failed(callback, event)

    def clear(self, event: Optional[str] = None) -> None:
        current_scope().bus.clear(event)

    def has_listeners(self, event: str) -> bool:
        return current_scope().bus.has_listeners(event)

    def listener_count(self, event: Optional[str] = None) -> int:
        return current_scope().bus.listener_count(event)

    @property
    def target(self) -> EventBus:
        """The concrete bus this proxy resolves to right now."""
        return current_scope().bus

    def __repr__(self) -> str:
        return f"<bus proxy -> {current_scope()!r}>"


class RegistryProxy:
    """Forwards to the current scope's :class:`Registry`."""

    __slots__ = ()

    def provide(self, key: str, value: T, owner: Optional[CleanupOwner] = None, replace: bool = False) -> T:
        return current_scope().registry.provide(key, value, owner=owner, replace=replace)

    def unregister(self, key: str) -> bool:
        return current_scope().registry.unregister(key)

    @overload
    def resolve(self, key: Type[T]) -> Optional[T]: ...
    @overload
    def resolve(self, key: str) -> Any: ...

    def resolve(self, key: Union[str, Type[Any]]) -> Any:
        return current_scope().registry.resolve(key)

    @overload
    def require(self, key: Type[T]) -> T: ...
    @overload
    def require(self, key: str) -> Any: ...

    def require(self, key: Union[str, Type[Any]]) -> Any:
        return current_scope().registry.require(key)

    def has(self, key: str) -> bool:
        return current_scope().registry.has(key)

    def list(self) -> List[str]:
        return current_scope().registry.list()

    def wait_for(self, key: str, timeout: Optional[float] = None) -> Any:
        return current_scope().registry.wait_for(key, timeout=timeout)

    def clear(self) -> None:
        current_scope().registry.clear()

    @property
    def target(self) -> Registry:
        """The concrete registry this proxy resolves to right now."""
        return current_scope().registry

    def __contains__(self, key: object) -> bool:
        return key in current_scope().registry

    def __repr__(self) -> str:
        return f"<registry proxy -> {current_scope()!r}>"


bus: BusProxy = BusProxy()
"""The current app's :class:`~specter_spoc.EventBus`, resolved on every use
through :func:`~specter_spoc.wiring.scope.current_scope`: module-level code can
import it once and still reach the right app's bus when several apps share a
process (or the process-wide default scope when no app is booted)."""

registry: RegistryProxy = RegistryProxy()
"""The current app's :class:`~specter_spoc.Registry`, resolved per use like
:data:`bus`; ``registry.provide(key, value, owner=service)`` registers a
collaborator that is removed again when ``service`` stops."""
