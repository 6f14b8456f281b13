"""SPOC-compatible front: a SPOC 0.3.9 project runs after replacing ``spoc`` with
``specter_spoc.spoc`` in its imports.

``from specter_spoc.spoc import Components, Framework, Schema, Hook`` and
``from specter_spoc.spoc.workers import ThreadWorker, ProcessWorker, Server``
behave as SPOC documents them, on this package's project loader and runtime:
the Framework boots a real :class:`~specter_spoc.Runtime`, ThreadWorkers are
owned greenlets and ProcessWorkers owned child processes.

Importing this package applies ``gevent.monkey.patch_all()`` in a script (a
SPOC script imports it first); see :mod:`specter_spoc.spoc._gevent` for when
it does not and what happens then.
"""
from __future__ import annotations

from ._gevent import ensure_patched

ensure_patched()

from .components import Component, Components, Internal, case_style, component, get_info, is_component, is_spoc  # noqa: E402
from .exceptions import (  # noqa: E402
    AppNotFoundError, CircularDependencyError, ConfigurationError, LifecycleError, ModuleNotCachedError, SpocError,
)
from .framework import Config, Framework, Hook, Schema  # noqa: E402
from .importer import DependencyGraph, Importer  # noqa: E402
from .config_loader import load_configuration, load_environment, load_spoc_toml  # noqa: E402
from .utils import inject_apps  # noqa: E402

__all__ = [
    "AppNotFoundError", "CircularDependencyError", "Component", "Components", "Config", "ConfigurationError",
    "DependencyGraph", "Framework", "Hook", "Importer", "Internal", "LifecycleError", "ModuleNotCachedError",
    "Schema", "SpocError", "case_style", "component", "get_info", "inject_apps", "is_component", "is_spoc",
    "load_configuration", "load_environment", "load_spoc_toml",
]
