"""SPOC's exception names, mapped onto this package's errors where they meet.

``SpocError`` is the root, as in SPOC. Where the project layer already has an
exception for the same failure, the SPOC name is a subclass of both, so
``except AppNotFoundError`` and ``except ImportFailure`` both work.
"""
from __future__ import annotations

from typing import List, Optional, Sequence


class SpocError(Exception):
    """Root of the SPOC-compatible errors."""


class ConfigurationError(SpocError):
    """Settings, spoc.toml or the environment files cannot be loaded."""


class AppNotFoundError(SpocError, ImportError):
    """A module of an installed app (``users.models``) cannot be imported."""

    def __init__(self, module: str, reason: Optional[str] = None) -> None:
        self.module = module
        detail = f": {reason}" if reason else ""
        super().__init__(f"module {module!r} cannot be imported{detail}. Create it, fix it, or load the "
                         "framework with mode='loose' to skip missing modules.")


class ModuleNotCachedError(SpocError, KeyError):
    """``Importer.get(name)`` for a module the importer never loaded."""

    def __init__(self, module: str) -> None:
        self.module = module
        super().__init__(f"module {module!r} is not loaded by this importer; call load({module!r}) first.")

    def __str__(self) -> str:
        return str(self.args[0])


class CircularDependencyError(SpocError):
    """Modules that depend on each other in a cycle (``cycle`` lists it)."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle: List[str] = list(cycle)
        super().__init__(f"circular dependency: {' -> '.join(self.cycle)}; remove one of these dependencies.")


class LifecycleError(SpocError):
    """A startup or shutdown step failed."""


__all__ = ["AppNotFoundError", "CircularDependencyError", "ConfigurationError", "LifecycleError",
           "ModuleNotCachedError", "SpocError"]
