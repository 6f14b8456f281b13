"""Which runtime's bus and registry is "the" bus and registry right now.

SPECTER keeps one process-wide ``bus`` and ``registry``.  Two Flask apps in one
process (every test suite with an app factory) then see each other's events and
entries.  Here every :class:`Scope` owns its own pair, and the module-level
names :data:`specter_spoc.bus` / :data:`specter_spoc.registry` resolve, on each
use, to the scope whose code is running:

1. the scope set in this greenlet's context (owners set it in every greenlet
   they spawn, because gevent greenlets do *not* inherit contextvars);
2. else, when a Flask app context is active, the runtime attached to that app;
3. else the lazily created *default* scope, so plain scripts keep working.

The lifecycle layer knows nothing of Flask: a scope carries an optional
``enter`` callable (the runtime passes ``app.app_context``) that owners enter
around every greenlet they run.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, ContextManager, Iterator, Optional, TypeVar

from .bus import EventBus
from .registry import Registry

R = TypeVar("R")

_current: ContextVar[Optional["Scope"]] = ContextVar("specter_spoc.scope", default=None)

#: Key under which a runtime stores itself in ``app.extensions``.
EXTENSION_KEY = "specter_spoc"


class Scope:
    """One runtime's wiring: an :class:`EventBus`, a :class:`Registry` and how
    to enter the runtime's context (for example a Flask app context).

    Example::

        scope = Scope("worker-a")
        with scope.activate():
            bus.emit("ping")          # goes to scope.bus
    """

    __slots__ = ("name", "bus", "registry", "enter", "owner")

    def __init__(
        self,
        name: str,
        *,
        enter: Optional[Callable[[], ContextManager[Any]]] = None,
        owner: Any = None,
    ) -> None:
        self.name = name
        self.bus = EventBus()
        self.registry = Registry()
        self.enter = enter
        #: the object that owns this scope (a Runtime), for introspection only
        self.owner = owner

    @contextmanager
    def activate(self) -> Iterator["Scope"]:
        """Make this scope current in the running greenlet (and enter its
        context hook, e.g. the Flask app context) for the ``with`` block."""
        if _current.get() is self:
            yield self
            return
        token = _current.set(self)
        try:
            if self.enter is None:
                yield self
            else:
                with self.enter():
                    yield self
        finally:
            _current.reset(token)

    def wrap(self, fn: Callable[..., R]) -> Callable[..., R]:
        """Return ``fn`` bound to run inside this scope, in whatever greenlet
        calls it. Owners wrap every greenlet body with this."""
        def scoped(*args: Any, **kwargs: Any) -> R:
            with self.activate():
                return fn(*args, **kwargs)
        scoped.__name__ = getattr(fn, "__name__", "scoped")
        scoped.__qualname__ = getattr(fn, "__qualname__", scoped.__name__)
        return scoped

    def __repr__(self) -> str:
        return f"<Scope {self.name!r}>"


class _DefaultScopeHolder:
    """Holds the fallback scope for code running outside any runtime.

    This is the one piece of process-level state, created lazily on first use
    and never shared with a runtime: a runtime always has its own scope.
    """

    scope: Optional[Scope] = None


def default_scope() -> Scope:
    """The scope used outside any runtime (scripts, SPECTER-style code)."""
    scope = _DefaultScopeHolder.scope
    if scope is None:
        scope = _DefaultScopeHolder.scope = Scope("default")
    return scope


def reset_default_scope() -> None:
    """Forget the default scope (its bus listeners and registry entries).

    The pytest plugin calls this between tests so one test's module-level
    ``bus.on(...)`` cannot leak into the next.
    """
    _DefaultScopeHolder.scope = None


def _flask_scope() -> Optional[Scope]:
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_app_context():
        return None
    runtime = flask.current_app.extensions.get(EXTENSION_KEY)
    return getattr(runtime, "scope", None)


def current_scope() -> Scope:
    """The scope whose code is running (see the module docstring for the rule)."""
    scope = _current.get()
    if scope is not None:
        return scope
    return _flask_scope() or default_scope()


def peek_scope() -> Optional[Scope]:
    """The scope set in this greenlet's context, without any fallback."""
    return _current.get()
