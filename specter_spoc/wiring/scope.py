"""Which runtime's bus and registry is "the" bus and registry right now.

SPECTER keeps one process-wide ``bus`` and ``registry``. Here every
:class:`Scope` owns its own pair, and the module-level names
:data:`specter_spoc.bus` / :data:`specter_spoc.registry` resolve, on each use:

1. to the scope set in this greenlet's context: every greenlet a service
   owns, every request the runtime serves and every Socket.IO event it
   dispatches runs with its runtime's scope set (gevent greenlets do *not*
   inherit contextvars, so owners set it themselves);
2. outside any of those ("plain code": a script, a module body, a test),
   with **exactly one runtime booted**, to that runtime: a process with one
   app behaves like SPECTER's process-wide singletons. Listeners subscribed
   and entries provided on the default scope before boot are carried into
   the runtime when it boots;
3. with **two or more runtimes booted** (a test suite with app factories),
   to the runtime whose Flask app context is active (a probe the runtime
   layer registers), else to the default scope: runtimes never see each
   other's events or entries;
4. with no runtime booted, to the lazily created *default* scope.

The wiring layer knows nothing of Flask: a scope carries an optional
``enter`` callable (the runtime passes ``app.app_context``) that owners enter
around every greenlet they run, and the runtime registers the app-context
probe with :func:`set_context_probe`.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, Callable, ContextManager, Iterator, List, Optional, TypeVar

from .bus import EventBus
from .registry import Registry

R = TypeVar("R")

_current: ContextVar[Optional["Scope"]] = ContextVar("specter_spoc.scope", default=None)


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
        owner: Optional[object] = None,
    ) -> None:
        self.name: str = name
        self.bus: EventBus = EventBus()
        self.registry: Registry = Registry()
        self.enter: Optional[Callable[[], ContextManager[Any]]] = enter
        #: the object that owns this scope (a Runtime), for introspection only
        self.owner: Optional[object] = owner

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


class _Directory:
    """The booted runtimes' scopes: the one piece of process-level state,
    needed because the module-level ``bus``/``registry`` names are
    process-level by nature (SPECTER compatibility). Runtimes add themselves
    at boot and remove themselves at shutdown."""

    __slots__ = ("default", "booted", "fallback", "probe")

    def __init__(self) -> None:
        self.default: Optional[Scope] = None
        self.booted: List[Scope] = []
        #: precomputed answer for plain code: the sole runtime's scope, the
        #: default scope, or None when it must be worked out (2+ runtimes)
        self.fallback: Optional[Scope] = None
        self.probe: Optional[Callable[[], Optional[Scope]]] = None

    def recompute(self) -> None:
        if len(self.booted) == 1:
            self.fallback = self.booted[0]
        elif not self.booted:
            self.fallback = self.default
        else:
            self.fallback = None


_DIRECTORY = _Directory()


def default_scope() -> Scope:
    """The scope used outside any runtime (scripts, SPECTER-style code)."""
    scope = _DIRECTORY.default
    if scope is None:
        scope = _DIRECTORY.default = Scope("default")
        _DIRECTORY.recompute()
    return scope


def reset_default_scope() -> None:
    """Forget the default scope (its bus listeners and registry entries).

    The pytest plugin calls this between tests so one test's module-level
    ``bus.on(...)`` cannot leak into the next.
    """
    _DIRECTORY.default = None
    _DIRECTORY.recompute()


def attach_scope(scope: Scope) -> None:
    """A runtime booted: plain code may now resolve to ``scope``. When it is
    the only booted runtime, what the default scope collected before boot
    (module-level subscriptions, provided entries) is carried into it."""
    if scope in _DIRECTORY.booted:
        return
    _DIRECTORY.booted.append(scope)
    default = _DIRECTORY.default
    if len(_DIRECTORY.booted) == 1 and default is not None:
        scope.bus.absorb(default.bus)
        scope.registry.absorb(default.registry)
    _DIRECTORY.recompute()


def detach_scope(scope: Scope) -> None:
    """A runtime shut down: plain code no longer resolves to ``scope``."""
    if scope in _DIRECTORY.booted:
        _DIRECTORY.booted.remove(scope)
        _DIRECTORY.recompute()


def booted_scopes() -> List[Scope]:
    """Scopes of the runtimes booted right now, in boot order."""
    return list(_DIRECTORY.booted)


def set_context_probe(probe: Optional[Callable[[], Optional[Scope]]]) -> None:
    """Register how to find the scope of the active framework context (the
    runtime layer passes a Flask app-context lookup). Used only when two or
    more runtimes are booted."""
    _DIRECTORY.probe = probe


def _outside() -> Scope:
    directory = _DIRECTORY
    if directory.fallback is not None:
        return directory.fallback
    if directory.booted and directory.probe is not None:
        found = directory.probe()
        if found is not None:
            return found
    return default_scope()


def current_scope() -> Scope:
    """The scope whose code is running (see the module docstring for the rule)."""
    return _current.get() or _DIRECTORY.fallback or _outside()


def peek_scope() -> Optional[Scope]:
    """The scope set in this greenlet's context, without any fallback."""
    return _current.get()


def set_current(scope: Scope) -> "Token[Optional[Scope]]":
    """Make ``scope`` current for the rest of this greenlet's work without
    entering its context hook (a request already runs in its app context);
    undo with :func:`reset_current`."""
    return _current.set(scope)


def reset_current(token: "Token[Optional[Scope]]") -> None:
    try:
        _current.reset(token)
    except ValueError:  # reset from another context: the greenlet is ending anyway
        pass
