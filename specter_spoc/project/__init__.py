"""The SPOC project layer: settings, apps, layout, components, plugins, diagnostics.

Load a project with :func:`load_project`; the runtime boots it. Nothing here
knows Flask except :func:`apply_middleware`, which takes the app it is given.
"""
from __future__ import annotations

from .apps import ENTRY_POINT_GROUP, AppConfig, AppInfo
from .checks import find_duplicate_events, find_duplicate_routes
from .components import (
    ComponentInfo, Components, component, controller, handler, model, service, view, worker,
)
from .config import MODES, Settings
from .diagnostics import CODES, Diagnostic, DiagnosticError
from .importer import ImportFailure, Importer
from .layout import Hook, Layout, default_layout
from .loader import load_project
from .masking import mask_settings, mask_value
from .plugins import PluginHooks, apply_middleware, merge_plugin_uris
from .project import Project

__all__ = [
    "AppConfig", "AppInfo", "CODES", "ComponentInfo", "Components", "Diagnostic", "DiagnosticError",
    "ENTRY_POINT_GROUP", "Hook", "ImportFailure", "Importer", "Layout", "MODES", "PluginHooks", "Project",
    "Settings", "apply_middleware", "component", "controller", "default_layout", "find_duplicate_events",
    "find_duplicate_routes", "handler", "load_project", "mask_settings", "mask_value", "merge_plugin_uris",
    "model", "service", "view", "worker",
]
