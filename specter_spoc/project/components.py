"""Components: named, typed, tagged objects that apps contribute.

An app marks classes and functions as components (``@model``,
``@service``, ``components.register("view")``...). When a project loads an
app it collects every marked object *defined* in the app's modules and
registers it as ``"<app>.<Name>"`` under its type, so other apps reach it by
name instead of importing across app boundaries::

    UserService = project.get_component("services", "users.UserService")

Type names are case-insensitive (as in SPOC) and accept singular and plural
spellings (SPOC's seed registers under ``"model"`` and reads
``components.models``): ``"Service"``, ``"service"``, ``"services"`` are the
same type. Every registration's metadata carries its ``"type"``.

Two ways to mark, both free of process-global state (the mark lives on the
object itself):

- the ready-made decorators :func:`model`, :func:`view`, :func:`service`,
  :func:`worker`, :func:`handler`, :func:`controller` and :func:`component`;
- your own :class:`Components` instance, as in SPOC's seed::

      components = Components()
      components.add_type("model")
      def model(cls):
          return components.register("model")(cls)
"""
from __future__ import annotations

import dataclasses
from types import MappingProxyType, FunctionType
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, TypeVar

T = TypeVar("T")

#: attribute holding the marks on a registered object (in its own ``__dict__``)
MARK_ATTR = "__spoc_component__"


@dataclasses.dataclass(frozen=True)
class ComponentMark:
    """What a decorator records on an object: its type and metadata."""

    type: str
    meta: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class ComponentInfo:
    """One registered component: ``name`` is ``"<app>.<Name>"``."""

    name: str
    type: str
    obj: Any
    app: Optional[str]
    module: Optional[str]
    meta: Mapping[str, Any]


def marks_of(obj: Any) -> Tuple[ComponentMark, ...]:
    """The marks set on ``obj`` itself (not inherited from a base class).

    Only classes and functions can carry marks; anything else (notably
    werkzeug's context proxies such as ``flask.request``, whose attribute
    access raises outside a request) is skipped without being touched.
    """
    if not isinstance(obj, (type, FunctionType)):
        return ()
    try:
        own = vars(obj)
    except TypeError:
        return ()
    marks = own.get(MARK_ATTR, ())
    return tuple(m for m in marks if isinstance(m, ComponentMark)) if isinstance(marks, tuple) else ()


def mark(obj: T, type: str, meta: Optional[Mapping[str, Any]] = None) -> T:
    """Mark ``obj`` as a component of ``type`` with ``meta``; returns ``obj``."""
    if not isinstance(type, str) or not type:
        raise TypeError(f"component type must be a non-empty string such as 'services', got {type!r}.")
    if not hasattr(obj, "__name__"):
        raise TypeError(
            f"only classes and functions can be components (they need a __name__), got {obj!r}; "
            "register the class or a factory function instead."
        )
    record = ComponentMark(type, MappingProxyType(dict(meta or {})))
    try:
        setattr(obj, MARK_ATTR, marks_of(obj) + (record,))
    except (AttributeError, TypeError) as exc:
        raise TypeError(f"cannot mark {obj!r} as a component: it does not accept attributes ({exc}).") from exc
    return obj


class UnknownComponentType(KeyError, ValueError):
    """A component type that was never added. A ``KeyError`` as SPOC raises,
    and a ``ValueError`` for code written against earlier releases."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def _variants(name: str) -> Tuple[str, ...]:
    name = name.lower()
    out = [name, name + "s", name + "es"]
    if name.endswith("ies"):
        out.append(name[:-3] + "y")
    if name.endswith("y"):
        out.append(name[:-1] + "ies")
    if name.endswith("es"):
        out.append(name[:-2])
    if name.endswith("s"):
        out.append(name[:-1])
    return tuple(out)


def _top_package(module: Optional[str]) -> Optional[str]:
    return module.split(".", 1)[0] if module else None


class Components:
    """A registry of components grouped by type.

    ``Components(*types)`` creates the types; :meth:`add_type` adds more (with
    default metadata merged into each registration); :meth:`register` is a
    decorator. ``components.<type>`` is a read-only ``{name: object}``
    mapping; :meth:`get_component` and :meth:`get_metadata` look one up.

    Example::

        components = Components("model", "service")
        @components.register("service", singleton=True)
        class UserService: ...
        components.services["users.UserService"]          # the class
        components.get_metadata("service", "users.UserService")["singleton"]
    """

    def __init__(self, *types: str, app_of: Optional[Callable[[Optional[str]], Optional[str]]] = None) -> None:
        self._types: Dict[str, Dict[str, ComponentInfo]] = {}
        self._default_meta: Dict[str, Dict[str, Any]] = {}
        self._app_of = app_of or _top_package
        #: (already registered, rejected newcomer) pairs: same type and name
        self.duplicates: List[Tuple[ComponentInfo, ComponentInfo]] = []
        for name in types:
            self.add_type(name)

    # ------------------------------------------------------------- types
    def resolve_type(self, name: object) -> Optional[str]:
        """The registered type ``name`` refers to (singular/plural tolerant);
        None for an unknown type or a name that is not a string."""
        if not isinstance(name, str):
            return None
        for candidate in _variants(name):
            if candidate in self._types:
                return candidate
        return None

    def add_type(self, name: str, default_meta: Optional[Mapping[str, Any]] = None) -> str:
        """Add a component type (no-op if it, or its singular/plural, exists).

        ``default_meta`` is merged under each registration's own metadata.
        Returns the type's canonical name.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"component type must be an identifier such as 'services', got {name!r}.")
        name = name.lower()
        if default_meta is not None and not isinstance(default_meta, Mapping):
            raise TypeError(f"add_type({name!r}, default_meta=...) must be a dict, got {default_meta!r}.")
        existing = self.resolve_type(name)
        if existing is None:
            self._types[name] = {}
            self._default_meta[name] = dict(default_meta or {})
            return name
        if default_meta:
            self._default_meta[existing].update(default_meta)
        return existing

    @property
    def types(self) -> Tuple[str, ...]:
        return tuple(self._types)

    # ------------------------------------------------------- registration
    def require_type(self, type: str) -> str:
        """The canonical name of ``type``; :class:`UnknownComponentType` (a
        ``KeyError``) naming the known types when it was never added."""
        canonical = self.resolve_type(type)
        if canonical is None:
            raise UnknownComponentType(
                f"Component type {type!r} not declared; known types: {list(self._types)}. "
                f"Call components.add_type({type!r}) first."
            )
        return canonical

    def register(self, type: str, obj: Any = None, **meta: Any) -> Any:
        """Decorator: mark the object and register it as ``"<app>.<Name>"``.

        The app is the top-level package the object is defined in (inside a
        project: the app whose module defines it). ``register(type, obj)``
        registers ``obj`` at once and returns it, as SPOC allows.
        """
        canonical = self.require_type(type)

        def decorator(target: T) -> T:
            if target is None:
                raise ValueError(f"cannot register None as a {canonical!r} component.")
            merged = {**self._default_meta[canonical], **meta}
            mark(target, canonical, merged)
            module = getattr(target, "__module__", None)
            self.add(canonical, target, app=self._app_of(module), module=module, meta=merged)
            return target

        return decorator(obj) if obj is not None else decorator

    def _meta_for(self, canonical: str, meta: Mapping[str, Any]) -> Dict[str, Any]:
        return {**self._default_meta[canonical], **meta, "type": canonical}

    def add(self, type: str, obj: Any, *, app: Optional[str], module: Optional[str] = None,
            meta: Optional[Mapping[str, Any]] = None, name: Optional[str] = None) -> Optional[ComponentInfo]:
        """Register ``obj`` directly; returns its record, or ``None`` when the
        name is already taken by another object (recorded in :attr:`duplicates`)."""
        canonical = self.add_type(type)
        short = name or getattr(obj, "__name__", None)
        if not short:
            raise TypeError(f"component {obj!r} has no __name__; pass name=...")
        full = f"{app}.{short}" if app else short
        info = ComponentInfo(full, canonical, obj, app, module, MappingProxyType(self._meta_for(canonical, meta or {})))
        table = self._types[canonical]
        current = table.get(full)
        if current is not None:
            if current.obj is obj:
                return current
            self.duplicates.append((current, info))
            return None
        table[full] = info
        return info

    def remove_app(self, app: str) -> None:
        """Forget every component registered for ``app``."""
        for table in self._types.values():
            for key in [k for k, info in table.items() if info.app == app]:
                del table[key]

    # ------------------------------------------------------------ lookup
    def info(self, type: str, name: str) -> Optional[ComponentInfo]:
        canonical = self.resolve_type(type)
        return None if canonical is None else self._types[canonical].get(name)

    def get_component(self, type: str, name: str) -> Any:
        """The object registered as ``name`` under ``type``, or ``None``."""
        info = self.info(type, name)
        return None if info is None else info.obj

    get = get_component

    def get_metadata(self, type: str, name: str) -> Optional[Dict[str, Any]]:
        """A copy of the component's metadata, or ``None`` when absent."""
        info = self.info(type, name)
        return None if info is None else dict(info.meta)

    def of_type(self, type: str) -> Mapping[str, Any]:
        """Read-only ``{name: object}`` for ``type`` (empty if unknown)."""
        canonical = self.resolve_type(type)
        if canonical is None:
            return MappingProxyType({})
        return MappingProxyType({name: info.obj for name, info in self._types[canonical].items()})

    def __getattr__(self, name: str) -> Mapping[str, Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        canonical = self.resolve_type(name)
        if canonical is None:
            raise AttributeError(
                f"no component type {name!r}; known types: {list(self._types)}."
            )
        return self.of_type(canonical)

    def __iter__(self) -> Iterator[ComponentInfo]:
        for table in self._types.values():
            yield from table.values()

    def __len__(self) -> int:
        return sum(len(t) for t in self._types.values())

    def __contains__(self, name: object) -> bool:
        return any(name in table for table in self._types.values())

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={len(v)}" for t, v in self._types.items())
        return f"<Components {counts}>"


def component(type: str, obj: Any = None, **meta: Any) -> Any:
    """Mark a class or function as a component of ``type``.

    Usable as ``@component("services")``, ``@component("services", cache=True)``
    or ``component("services", obj)``. A project registers it when it loads
    the app module defining it.
    """
    if obj is not None:
        return mark(obj, type, meta)

    def decorator(target: T) -> T:
        return mark(target, type, meta)

    return decorator


def _kind(type: str) -> Callable[..., Any]:
    def decorator(obj: Any = None, **meta: Any) -> Any:
        if obj is None:
            return lambda target: mark(target, type, meta)
        return mark(obj, type, meta)

    decorator.__name__ = type[:-1]
    decorator.__qualname__ = decorator.__name__
    decorator.__doc__ = (f"Mark a class or function as a ``{type}`` component: ``@{type[:-1]}`` or "
                         f"``@{type[:-1]}(**meta)``.")
    return decorator


model: Callable[..., Any] = _kind("models")
"""Mark a class or function as a ``models`` component: ``@model`` or ``@model(**meta)``."""
view: Callable[..., Any] = _kind("views")
"""Mark a class or function as a ``views`` component: ``@view`` or ``@view(**meta)``."""
service: Callable[..., Any] = _kind("services")
"""Mark a class or function as a ``services`` component: ``@service`` or ``@service(**meta)``."""
worker: Callable[..., Any] = _kind("workers")
"""Mark a class or function as a ``workers`` component: ``@worker`` or ``@worker(**meta)``."""
handler: Callable[..., Any] = _kind("handlers")
"""Mark a class or function as a ``handlers`` component: ``@handler`` or ``@handler(**meta)``."""
controller: Callable[..., Any] = _kind("controllers")
"""Mark a class or function as a ``controllers`` component: ``@controller`` or ``@controller(**meta)``."""
