"""SPOC's component API (``spoc.components``) on the project layer's registry.

:class:`Components` *is* :class:`specter_spoc.project.Components` (one
registry, one set of rules: case-insensitive, singular/plural tolerant type
names, ``"type"`` in every metadata, an unknown type is a ``KeyError``) plus
SPOC's extra methods (``is_component``, ``get_info``, ``builder``,
``case_style``). Registering also sets SPOC's ``__spoc__`` record
(:class:`Internal`: ``config`` and ``metadata``), so code that reads it keeps
working, and the project mark the loader collects, so a project finds the
object under its type whichever API registered it.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Dict, List, Literal, Mapping, Optional

from ..project.components import Components as _ProjectComponents
from ..project.components import mark, marks_of

CaseMode = Literal["snake", "camel", "pascal", "kebab"]


@dataclasses.dataclass(frozen=True)
class Internal:
    """SPOC's ``__spoc__`` record: the ``config`` and ``metadata`` given at
    registration, and the app and object name it was found under."""

    config: Dict[str, Any]
    metadata: Dict[str, Any]
    app_name: str = ""
    obj_name: str = ""


@dataclasses.dataclass(frozen=True)
class Component:
    """What :meth:`Components.builder` returns: one component, described."""

    type: str
    uri: str
    app: str
    name: str
    object: Any
    internal: Internal


def _words(text: str) -> List[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text))
    return [w for w in re.split(r"[\s_\-]+", spaced) if w]


def case_style(text: str, mode: CaseMode = "snake") -> str:
    """``text`` in snake_case, camelCase, PascalCase or kebab-case."""
    words = _words(text)
    if mode == "snake":
        return "_".join(w.lower() for w in words)
    if mode == "kebab":
        return "-".join(w.lower() for w in words)
    if mode == "pascal":
        return "".join(w[:1].upper() + w[1:].lower() for w in words)
    if mode == "camel":
        pascal = "".join(w[:1].upper() + w[1:].lower() for w in words)
        return pascal[:1].lower() + pascal[1:]
    raise ValueError(f"case_style(mode=...) must be 'snake', 'camel', 'pascal' or 'kebab', got {mode!r}.")


def _set_internal(obj: Any, config: Optional[Mapping[str, Any]], metadata: Mapping[str, Any]) -> None:
    name = getattr(obj, "__name__", "") or ""
    app = (getattr(obj, "__module__", "") or "").split(".")[0] if name else ""
    try:
        setattr(obj, "__spoc__", Internal(dict(config or {}), dict(metadata), app, name))
    except (AttributeError, TypeError) as exc:
        raise TypeError(f"cannot register {obj!r} as a component: it does not accept attributes ({exc}).") from exc


def component(obj: Any = None, *, config: Optional[Dict[str, Any]] = None,
              metadata: Optional[Dict[str, Any]] = None) -> Any:
    """SPOC's ``@component`` / ``@component(config=..., metadata=...)``.

    With a ``"type"`` in ``metadata`` the object is also marked for the
    project loader, which registers it under that type (``"models"`` or
    ``"model"``) when it loads the app module defining it.
    """
    meta = dict(metadata or {})

    def decorator(target: Any) -> Any:
        if target is None:
            raise ValueError("cannot register None as a component.")
        _set_internal(target, config, meta)
        kind = meta.get("type")
        if isinstance(kind, str) and kind and hasattr(target, "__name__"):
            mark(target, kind, {k: v for k, v in meta.items() if k != "type"})
        return target

    return decorator(obj) if obj is not None else decorator


def is_spoc(obj: Any) -> bool:
    """True when ``obj`` carries a component record (either API's)."""
    return isinstance(getattr(obj, "__spoc__", None), Internal) or bool(marks_of(obj))


def is_component(obj: Any, metadata: Mapping[str, Any]) -> bool:
    """True when ``obj``'s SPOC metadata equals ``metadata``."""
    info = getattr(obj, "__spoc__", None)
    return isinstance(info, Internal) and info.metadata == dict(metadata)


class Components(_ProjectComponents):
    """SPOC's ``Components``: the project registry plus SPOC's methods.

    Example::

        components = Components("model")
        @components.register("model", config={"table": "users"})
        class User: ...
        components.get_info(User).config        # {'table': 'users'}
        components.models                        # {'users.User': User}
    """

    def register(self, type: str, obj: Any = None, *, config: Optional[Dict[str, Any]] = None,
                 **meta: Any) -> Any:
        """Decorator (or direct call with ``obj``) marking a component of ``type``.

        ``config`` is SPOC's per-component configuration (``get_info(obj).config``);
        other keywords become metadata. An undeclared type raises a ``KeyError``.
        """
        canonical = self.require_type(type)
        base = super().register(canonical, **meta)

        def decorator(target: Any) -> Any:
            if target is None:
                raise ValueError(f"cannot register None as a {canonical!r} component.")
            base(target)
            _set_internal(target, config, self._meta_for(canonical, meta))
            return target

        return decorator(obj) if obj is not None else decorator

    def is_spoc(self, obj: Any) -> bool:
        return is_spoc(obj)

    def is_component(self, type: str, obj: Any) -> bool:
        """True when ``obj`` was registered as a component of ``type`` (by any
        spelling of it); an undeclared type raises a ``KeyError``."""
        canonical = self.require_type(type)
        info = getattr(obj, "__spoc__", None)
        if isinstance(info, Internal) and self.resolve_type(str(info.metadata.get("type", ""))) == canonical:
            return True
        return any(self.resolve_type(m.type) == canonical for m in marks_of(obj))

    def get_info(self, obj: Any) -> Optional[Internal]:
        """SPOC's ``__spoc__`` record of ``obj`` (``None`` if it has none)."""
        info = getattr(obj, "__spoc__", None)
        return info if isinstance(info, Internal) else None

    def builder(self, obj: Any) -> Component:
        """A :class:`Component` describing a registered object; an
        ``AttributeError`` when ``obj`` is not a component."""
        info = self.get_info(obj)
        if info is None:
            raise AttributeError(f"{obj!r} is not a component: register it with components.register(type) first.")
        app = (getattr(obj, "__module__", "") or "").split(".")[0]
        name = getattr(obj, "__name__", "") or info.obj_name
        return Component(type=str(info.metadata.get("type", "")), uri=f"{app}_{case_style(name, 'snake')}",
                         app=app, name=name, object=obj, internal=info)

    @staticmethod
    def case_style(text: str, mode: CaseMode = "snake") -> str:
        return case_style(text, mode)


def get_info(obj: Any) -> Internal:
    """SPOC's ``spoc.get_info``: the ``__spoc__`` record of ``obj``, or an empty
    record (no config, no metadata) for an object that is not a component."""
    info = getattr(obj, "__spoc__", None)
    return info if isinstance(info, Internal) else Internal({}, {})


__all__ = ["Component", "Components", "Internal", "case_style", "component", "get_info", "is_component",
           "is_spoc"]
