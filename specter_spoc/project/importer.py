"""Importer: resolve dotted URIs (``"pkg.mod.attr"``) to Python objects.

Plugins, settings and entry points name objects by URI. An :class:`Importer`
imports the longest importable module prefix of the URI, then walks the rest
as attributes, so ``"pkg.mod"`` gives the module and ``"pkg.mod.Class.attr"``
the attribute. ``"pkg.mod:attr"`` (entry-point style) is accepted too.

Results are cached *per importer* (each project owns one), never in a
process-global table, so two projects loaded one after the other in a test
suite do not see each other's objects.

A failure raises :class:`ImportFailure` (an ``ImportError``), which names the
URI *and* the import that actually failed (a missing third-party package
inside the plugin is a different fix from a typo in the URI); a malformed URI
is :class:`InvalidURI` (also a ``ValueError``) and a missing attribute
:class:`MissingAttribute` (an ``AttributeError``), the exception types SPOC
raises. :data:`LOAD_FAILURES` catches all of them.

Example::

    importer = Importer()
    json_dumps = importer.load_from_uri("json.dumps")
    assert importer.load_from_uri("json.dumps") is json_dumps   # cached
"""
from __future__ import annotations

import importlib
import sys
import traceback
from types import ModuleType
from typing import Any, Dict, List, Optional


class ImportFailure(ImportError):
    """A URI could not be resolved.

    ``uri`` is what was asked for, ``failed_import`` the module (or
    ``module.attribute``) whose import/lookup failed, ``cause`` the original
    exception (also chained as ``__cause__``).
    """

    def __init__(self, uri: str, failed_import: str, reason: str, cause: Optional[BaseException] = None,
                 location: Optional[str] = None) -> None:
        self.uri = uri
        self.failed_import = failed_import
        self.reason = reason
        self.cause = cause
        self.location = location
        where = f" (at {location})" if location else ""
        super().__init__(f"cannot load {uri!r}: {reason}{where}", name=failed_import)


class InvalidURI(ImportFailure, ValueError):
    """The URI itself is malformed (empty, not dotted identifiers). Also a
    ``ValueError``, which is what SPOC raises for a bad URI."""


class MissingAttribute(AttributeError):
    """The module imported but lacks the attribute the URI names. An
    ``AttributeError`` as SPOC raises; it carries the same fields as
    :class:`ImportFailure` (``uri``, ``failed_import``, ``reason``,
    ``cause``, ``location``). Python cannot make one class both an
    ``ImportError`` and an ``AttributeError``, so code that handles every
    load failure catches :data:`LOAD_FAILURES`."""

    def __init__(self, uri: str, failed_import: str, reason: str, cause: Optional[BaseException] = None) -> None:
        self.uri = uri
        self.failed_import = failed_import
        self.reason = reason
        self.cause = cause
        self.location: Optional[str] = None
        super().__init__(f"cannot load {uri!r}: {reason}")


#: every exception :meth:`Importer.load_from_uri` raises for a URI it cannot load
LOAD_FAILURES = (ImportFailure, MissingAttribute)


def _origin(exc: BaseException) -> Optional[str]:
    """``file:line`` of the innermost frame outside importlib, for messages."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename]
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    if not frames:
        return None
    return f"{frames[-1].filename}:{frames[-1].lineno}"


def import_module_checked(name: str, uri: Optional[str] = None) -> Optional[ModuleType]:
    """Import module ``name``; ``None`` if that module itself does not exist.

    Any other failure (a missing dependency *inside* the module, a syntax
    error, an exception at import time) raises :class:`ImportFailure` that
    names the failing import.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            return None
        failing = _failing_module(name)
        raise ImportFailure(
            uri or name, missing or failing,
            f"importing module {failing!r} failed: {type(exc).__name__}: {exc}",
            exc, _origin(exc),
        ) from exc
    except Exception as exc:
        failing = _failing_module(name)
        raise ImportFailure(
            uri or name, failing, f"importing module {failing!r} failed: {type(exc).__name__}: {exc}",
            exc, _origin(exc),
        ) from exc


def _failing_module(name: str) -> str:
    """The first package/module on the way to ``name`` that did not get imported
    (Python removes a module from ``sys.modules`` when its import fails)."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix not in sys.modules:
            return prefix
    return name


class Importer:
    """Loads objects by URI, caching what it loaded (per instance).

    Example::

        importer = Importer()
        auth = importer.load_from_uri("myapp.middleware.auth")
    """

    def __init__(self) -> None:
        self._cache: Dict[str, Any] = {}

    def load_from_uri(self, uri: str) -> Any:
        """The object ``uri`` names: an attribute, or a module when it names one."""
        if not isinstance(uri, str) or not uri.strip():
            raise InvalidURI(str(uri), str(uri), "a URI must be a non-empty dotted path such as 'pkg.mod.attr'")
        if uri in self._cache:
            return self._cache[uri]
        obj = self._resolve(uri.strip())
        self._cache[uri] = obj
        return obj

    def is_cached(self, uri: str) -> bool:
        return uri in self._cache

    def clear(self) -> None:
        """Forget everything loaded (the modules stay in ``sys.modules``)."""
        self._cache.clear()

    def _resolve(self, uri: str) -> Any:
        if ":" in uri:
            module_name, _, attr_path = uri.partition(":")
            module = import_module_checked(module_name, uri)
            if module is None:
                raise ImportFailure(uri, module_name, f"no module named {module_name!r}")
            return self._walk(uri, module, module_name, attr_path.split(".") if attr_path else [])
        parts = uri.split(".")
        if any(not p.isidentifier() for p in parts):
            raise InvalidURI(uri, uri, "a URI must be dotted Python identifiers such as 'pkg.mod.attr'")
        for i in range(len(parts), 0, -1):
            module_name = ".".join(parts[:i])
            module = import_module_checked(module_name, uri)
            if module is not None:
                return self._walk(uri, module, module_name, parts[i:])
        raise ImportFailure(uri, parts[0], f"no module named {parts[0]!r} (is it installed / on sys.path?)")

    @staticmethod
    def _walk(uri: str, obj: Any, path: str, attrs: List[str]) -> Any:
        for attr in attrs:
            try:
                obj = getattr(obj, attr)
            except AttributeError as exc:
                kind = "module" if isinstance(obj, ModuleType) else type(obj).__name__
                raise MissingAttribute(uri, f"{path}.{attr}", f"{kind} {path!r} has no attribute {attr!r}",
                                       exc) from exc
            path = f"{path}.{attr}"
        return obj
