"""Diagnostics: every problem the project layer finds, with a stable code.

Like Django's system checks and simple_module's ``SM0xx`` codes, each kind of
problem has a code that never changes meaning, so CI scripts, docs and bug
reports can refer to it. A :class:`Diagnostic` says what is wrong, where
(app, file, key) and what to do about it (``hint``).

Strict mode (the default in production) turns any ``error`` into a
:class:`DiagnosticError` that lists *every* error at once; lenient mode
(development, test) logs them, skips the broken app and boots the rest.

Example::

    from specter_spoc.project import load_project, DiagnosticError

    try:
        project = load_project("blog_platform", mode="production")
    except DiagnosticError as exc:
        for diag in exc.diagnostics:
            print(diag.code, diag.message)
"""
from __future__ import annotations

from ..runtime import BootError

import dataclasses
from typing import Dict, Iterable, List, Optional, Tuple

ERROR = "error"
WARNING = "warning"
INFO = "info"
LEVELS = (ERROR, WARNING, INFO)

CODES: Dict[str, Tuple[str, str]] = {
    "SPC001": ("unknown app", ERROR),
    "SPC002": ("app not importable", ERROR),
    "SPC003": ("module kind missing (strict mode)", ERROR),
    "SPC004": ("duplicate component name", ERROR),
    "SPC005": ("app dependency cycle", ERROR),
    "SPC006": ("invalid layout (cycle or unknown kind)", ERROR),
    "SPC007": ("plugin URI not importable", ERROR),
    "SPC008": ("framework code imports an app", ERROR),
    "SPC009": ("duplicate route rule across controllers", ERROR),
    "SPC010": ("duplicate socket event across controllers (both run)", WARNING),
    "SPC011": ("production mode without SECRET_KEY", ERROR),
    "SPC012": ("invalid spoc.toml", ERROR),
    "SPC013": ("invalid settings or environment value", ERROR),
    "SPC014": ("settings module not found or not importable", ERROR),
    "SPC015": ("app depends on an app that is not installed", ERROR),
    "SPC016": ("invalid app metadata", ERROR),
    "SPC017": ("layout hook failed", ERROR),
    "SPC018": ("plugin does not follow its group's contract", ERROR),
    "SPC019": ("app skipped because a dependency was skipped", WARNING),
    "SPC020": ("Service subclass in an app module that is not registered (never booted)", WARNING),
}
"""Diagnostic code -> (short title, default level). Codes are stable, never
renumbered: tests and users grep logs for them."""

#: codes that describe the project's configuration as a whole: nothing can be
#: booted around them, so they are raised in lenient mode too.
FATAL_CODES = frozenset({"SPC012", "SPC013", "SPC014"})


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One problem found while loading or checking a project.

    ``code`` is stable (see :data:`CODES`); ``level`` is ``"error"``,
    ``"warning"`` or ``"info"``; ``message`` says what is wrong and ``hint``
    what to do. ``app``, ``file`` and ``key`` locate it when known.

    Example::

        Diagnostic("SPC001", "error", "app 'shop' is not installed ...",
                   "create apps/shop/__init__.py or fix INSTALLED_APPS",
                   app="shop", key="INSTALLED_APPS")
    """

    code: str
    level: str
    message: str
    hint: str = ""
    app: Optional[str] = None
    file: Optional[str] = None
    key: Optional[str] = None

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown diagnostic code {self.code!r}; known codes: {', '.join(CODES)}.")
        if self.level not in LEVELS:
            raise ValueError(f"diagnostic level must be one of {LEVELS}, got {self.level!r}.")

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    @property
    def title(self) -> str:
        """The code's short title from :data:`CODES`."""
        return CODES[self.code][0]

    def format(self) -> str:
        """Two lines at most: ``CODE level [where]: message`` then the hint."""
        where = ", ".join(
            f"{label} {value}" for label, value in (("app", self.app), ("file", self.file), ("key", self.key))
            if value
        )
        head = f"{self.code} {self.level}" + (f" [{where}]" if where else "") + f": {self.message}"
        return head + (f"\n  hint: {self.hint}" if self.hint else "")

    def as_dict(self) -> Dict[str, Optional[str]]:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return self.format()


def diagnostic(code: str, message: str, hint: str = "", *, level: Optional[str] = None,
               app: Optional[str] = None, file: Optional[str] = None, key: Optional[str] = None) -> Diagnostic:
    """Build a :class:`Diagnostic` with the code's default level."""
    return Diagnostic(code, level or CODES[code][1], message, hint, app=app, file=file, key=key)


class DiagnosticError(BootError):
    """Raised when a project cannot boot: lists every error diagnostic.

    Strict mode raises it for any error; lenient mode only for problems with
    the configuration as a whole (:data:`FATAL_CODES`: bad spoc.toml, bad
    settings values, settings not found).

    Example::

        except DiagnosticError as exc:
            print(exc)                 # one block per error, with hints
            codes = exc.codes          # ["SPC001", ...]
    """

    def __init__(self, diagnostics: Iterable[Diagnostic], summary: str = "") -> None:
        self.diagnostics: List[Diagnostic] = list(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error] or self.diagnostics
        self.summary: str = summary or (
            f"project has {len(errors)} error{'s' if len(errors) != 1 else ''}"
        )
        body = "\n".join(d.format() for d in errors)
        super().__init__(f"{self.summary}:\n{body}" if body else self.summary)

    @property
    def errors(self) -> List[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def codes(self) -> List[str]:
        return [d.code for d in self.errors]
