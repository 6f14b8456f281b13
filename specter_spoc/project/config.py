"""Project configuration: settings module, spoc.toml, .env and the mode.

Found the way SPOC finds them:

- **settings**: ``settings.py`` (or ``config.py`` / ``configuration.py``, or
  a package of that name) in ``config/``, then ``conf/``, then the project
  root. It is imported under its natural name (``config.settings``) with the
  project root on ``sys.path``, so ``from config import settings`` elsewhere
  gives the same module.
- **spoc.toml**: ``config/spoc.toml``, ``conf/spoc.toml`` or ``spoc.toml``
  (the first found): ``[spoc] mode, debug, strict``, ``[spoc.apps]
  production/staging/development/test``, ``[spoc.plugins] <group> = [uris]``.
  Every value is type-checked; a mistake is diagnostic SPC012 naming the
  file, the key and what was expected.
- **.env**: ``config/.env``, ``conf/.env`` and ``.env`` (all that exist;
  earlier files win), parsed by python-dotenv. Variables already set in the
  environment are never overridden.
- **.env directory** (SPOC 0.3.9's layout): when ``config/.env`` (or
  ``conf/.env``, ``.env``) is a folder, its ``<mode>.toml`` (else
  ``default.toml``) ``[env]`` table gives the environment for that mode
  (:func:`read_env_dir`); the values are used like ``.env`` values.
- **mode**: ``SPOC_MODE`` (environment, including .env), else spoc.toml's
  ``mode``, else ``"development"``.

Example::

    toml, problems = read_spoc_toml(Path("blog_platform/config/spoc.toml"))
    apps = apps_for_mode(toml.apps, "staging")   # production + staging lists
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .diagnostics import Diagnostic, diagnostic
from .masking import mask_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MODES = ("development", "staging", "production", "test")
"""The modes a project can run in (``--mode`` / ``SPOC_MODE``); each picks its
``[spoc.apps]`` list and config section."""
#: which ``[spoc.apps]`` lists each mode loads, in order (the cascade)
#: (SPOC's order: the mode's own list first, then the modes above it)
MODE_APPS: Dict[str, Tuple[str, ...]] = {
    "production": ("production",),
    "staging": ("staging", "production"),
    "development": ("development", "staging", "production"),
    "test": ("test", "development", "staging", "production"),
}
CONFIG_DIRS = ("config", "conf", ".")
SETTINGS_NAMES = ("settings", "config", "configuration")
_SPOC_KEYS = {"mode", "debug", "strict", "apps", "plugins"}


def _rel(path: Path, base: Optional[Path]) -> str:
    if base is not None:
        try:
            return str(path.relative_to(base))
        except ValueError:
            pass
    return str(path)


# ------------------------------------------------------------------ settings
def find_settings(base_dir: Path) -> Optional[Tuple[Path, str]]:
    """``(file, module name)`` of the project's settings module, or ``None``."""
    for folder in CONFIG_DIRS:
        directory = base_dir if folder == "." else base_dir / folder
        if not directory.is_dir():
            continue
        prefix = "" if folder == "." else folder + "."
        for name in SETTINGS_NAMES:
            module_file = directory / f"{name}.py"
            package_file = directory / name / "__init__.py"
            if module_file.is_file():
                return module_file, prefix + name
            if folder == "." and name in CONFIG_DIRS:
                continue  # config/ was searched as the settings folder: its __init__.py is not the settings
            if package_file.is_file():
                return package_file, prefix + name
    return None


def base_dir_of_settings(module: ModuleType) -> Optional[Path]:
    """The project root for a settings module: its ``BASE_DIR`` if set, else
    the folder above ``config/``/``conf/``, else the module's folder."""
    base = getattr(module, "BASE_DIR", None)
    if isinstance(base, (str, Path)) and Path(base).is_dir():
        return Path(base).resolve()
    filename = getattr(module, "__file__", None)
    if not filename:
        return None
    path = Path(filename).resolve()
    folder = path.parent.parent if path.name == "__init__.py" else path.parent
    return folder.parent if folder.name in ("config", "conf") else folder


class Settings:
    """Read-only attribute view of the settings module.

    ``settings.DEBUG`` reads the module; assignment raises. ``as_dict()``
    gives the UPPERCASE names (the settings convention); ``repr`` and
    :meth:`masked` hide secret-looking values (see :mod:`.masking`).

    Example::

        project.settings.INSTALLED_APPS
        project.settings.get("CACHE_TTL", 60)
    """

    __slots__ = ("_module", "_overrides")
    _module: Optional[ModuleType]
    _overrides: Dict[str, Any]

    def __init__(self, module: Optional[ModuleType], overrides: Optional[Mapping[str, Any]] = None) -> None:
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_overrides", dict(overrides or {}))

    @property
    def module(self) -> Optional[ModuleType]:
        return self._module

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        if name.startswith("_") or self._module is None or not hasattr(self._module, name):
            raise AttributeError(
                f"settings have no {name!r}"
                + (f" (settings module: {self._module.__name__})" if self._module is not None else "")
                + f"; define {name} in the settings module or use settings.get({name!r}, default)."
            )
        return getattr(self._module, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"settings are read-only: change {name} in the settings module, not at runtime.")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"settings are read-only: cannot delete {name}.")

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._overrides or (
            self._module is not None and not name.startswith("_") and hasattr(self._module, name)))

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in self else default

    def as_dict(self) -> Dict[str, Any]:
        """UPPERCASE settings (unmasked: do not log this)."""
        out: Dict[str, Any] = {}
        if self._module is not None:
            out.update((k, v) for k, v in vars(self._module).items() if k.isupper() and not k.startswith("_"))
        out.update(self._overrides)
        return out

    def masked(self) -> Dict[str, Any]:
        """UPPERCASE settings with secret-looking values masked."""
        return mask_settings(self.as_dict())

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __dir__(self) -> List[str]:
        names = set(self._overrides)
        if self._module is not None:
            names.update(k for k in vars(self._module) if not k.startswith("_"))
        return sorted(names | {"get", "as_dict", "masked", "module"})

    def __repr__(self) -> str:
        name = self._module.__name__ if self._module is not None else None
        return f"<Settings {name} {self.masked()!r}>"


# ---------------------------------------------------------------- spoc.toml
@dataclasses.dataclass
class SpocToml:
    """The validated ``[spoc]`` table of spoc.toml (defaults when absent)."""

    path: Optional[Path] = None
    mode: Optional[str] = None
    debug: Optional[bool] = None
    strict: Optional[bool] = None
    apps: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
    plugins: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


def find_spoc_toml(base_dir: Path) -> Optional[Path]:
    for folder in CONFIG_DIRS:
        candidate = (base_dir if folder == "." else base_dir / folder) / "spoc.toml"
        if candidate.is_file():
            return candidate
    return None


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _uri_list_problem(value: Any) -> Optional[str]:
    if not isinstance(value, list):
        return f"must be an array of strings, got {_type_name(value)} {value!r}"
    bad = [v for v in value if not isinstance(v, str) or not v.strip()]
    if bad:
        return f"must contain only non-empty strings, got {bad[0]!r}"
    return None


def parse_spoc_toml(text: str, path: Optional[Path] = None, base_dir: Optional[Path] = None
                    ) -> Tuple[SpocToml, List[Diagnostic]]:
    """Validate spoc.toml text. Never raises: problems come back as SPC012."""
    where = _rel(path, base_dir) if path else "spoc.toml"
    result = SpocToml(path=path)
    problems: List[Diagnostic] = []

    def bad(key: str, message: str, hint: str, level: Optional[str] = None) -> None:
        problems.append(diagnostic("SPC012", f"{where}: {message}", hint, level=level, file=where, key=key))

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        bad("", f"not valid TOML: {exc}.", "fix the syntax at the reported line (strings need quotes, "
            "tables look like [spoc.apps]).")
        return result, problems
    except Exception as exc:  # e.g. characters TOML rejects outright
        bad("", f"not valid TOML: {type(exc).__name__}: {exc}.", "fix the file's syntax.")
        return result, problems
    spoc = data.get("spoc", {})
    if not isinstance(spoc, dict):
        bad("spoc", f"'spoc' must be a table ([spoc]), got {_type_name(spoc)}.", "write the settings under a [spoc] table.")
        return result, problems
    for key in spoc:
        if key not in _SPOC_KEYS:
            result.extra[key] = spoc[key]
            bad(f"spoc.{key}", f"unknown key 'spoc.{key}'.",
                f"known keys: {', '.join(sorted(_SPOC_KEYS))}; remove or rename it.", level="warning")
    mode = spoc.get("mode")
    if mode is not None:
        if not isinstance(mode, str):
            bad("spoc.mode", f"'spoc.mode' must be a string, got {_type_name(mode)} {mode!r}.",
                f'write mode = "development" (one of {", ".join(MODES)}).')
        elif mode not in MODES:
            bad("spoc.mode", f"'spoc.mode' is {mode!r}, which is not a known mode.",
                f"use one of {', '.join(MODES)}.")
        else:
            result.mode = mode
    for flag in ("debug", "strict"):
        value = spoc.get(flag)
        if value is None:
            continue
        if not isinstance(value, bool):
            bad(f"spoc.{flag}", f"'spoc.{flag}' must be a boolean, got {_type_name(value)} {value!r}.",
                f"write {flag} = true or {flag} = false (no quotes).")
        else:
            setattr(result, flag, value)
    apps = spoc.get("apps", {})
    if not isinstance(apps, dict):
        bad("spoc.apps", f"'spoc.apps' must be a table, got {_type_name(apps)} {apps!r}.",
            "write [spoc.apps] with production = [...], staging = [...], development = [...].")
    else:
        for key, value in apps.items():
            if key not in MODES:
                bad(f"spoc.apps.{key}", f"'spoc.apps.{key}' is not a known mode.",
                    f"use one of {', '.join(MODES)}.")
                continue
            problem = _uri_list_problem(value)
            if problem:
                bad(f"spoc.apps.{key}", f"'spoc.apps.{key}' {problem}.",
                    f'write {key} = ["app_name", ...].')
            else:
                result.apps[key] = [v.strip() for v in value]
    plugins = spoc.get("plugins", {})
    if not isinstance(plugins, dict):
        bad("spoc.plugins", f"'spoc.plugins' must be a table, got {_type_name(plugins)} {plugins!r}.",
            'write [spoc.plugins] with groups such as middleware = ["pkg.mod.obj"].')
    else:
        for group, value in plugins.items():
            problem = _uri_list_problem(value)
            if problem:
                bad(f"spoc.plugins.{group}", f"'spoc.plugins.{group}' {problem}.",
                    f'write {group} = ["pkg.module.object", ...].')
            else:
                result.plugins[group] = [v.strip() for v in value]
    return result, problems


def read_spoc_toml(path: Optional[Path], base_dir: Optional[Path] = None) -> Tuple[SpocToml, List[Diagnostic]]:
    """Read and validate spoc.toml at ``path`` (``None``: defaults)."""
    if path is None:
        return SpocToml(), []
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        where = _rel(path, base_dir)
        return SpocToml(path=path), [diagnostic(
            "SPC012", f"{where}: cannot be read: {exc}.", "make it a readable UTF-8 text file.", file=where)]
    return parse_spoc_toml(text, path, base_dir)


def apps_for_mode(apps: Mapping[str, Sequence[str]], mode: str) -> List[str]:
    """The ``[spoc.apps]`` entries a mode loads, in cascade order, deduplicated."""
    out: Dict[str, None] = {}
    for key in MODE_APPS.get(mode, (mode,)):
        for name in apps.get(key, ()):
            out.setdefault(name, None)
    return list(out)


# ---------------------------------------------------------------------- .env
def find_dotenv_files(base_dir: Path) -> List[Path]:
    found = []
    for folder in CONFIG_DIRS:
        candidate = (base_dir if folder == "." else base_dir / folder) / ".env"
        if candidate.is_file():
            found.append(candidate)
    return found


def dotenv_sources(paths: Sequence[Path]) -> Dict[str, Path]:
    """Which .env file each name comes from (the first file defining it)."""
    from dotenv import dotenv_values

    sources: Dict[str, Path] = {}
    for path in paths:
        for key, value in dotenv_values(path, interpolate=False).items():
            if value is not None:
                sources.setdefault(key, path)
    return sources


def find_env_dir(base_dir: Path) -> Optional[Path]:
    """The first ``.env`` *folder* (SPOC's per-mode TOML files): ``config/.env``,
    ``conf/.env``, then ``.env``; ``None`` when every ``.env`` is a file or absent."""
    for folder in CONFIG_DIRS:
        candidate = (base_dir if folder == "." else base_dir / folder) / ".env"
        if candidate.is_dir():
            return candidate
    return None


def read_env_dir(env_dir: Optional[Path], mode: str, base_dir: Optional[Path] = None
                 ) -> Tuple[Dict[str, str], Optional[Path], List[Diagnostic]]:
    """``(values, file, problems)`` from ``<env_dir>/<mode>.toml``'s ``[env]``
    table, else ``default.toml``'s. Strings, numbers and booleans become
    strings (``true``/``false``), as environment variables are; other values
    and invalid TOML are SPC013 naming the file and key."""
    if env_dir is None:
        return {}, None, []
    path = env_dir / f"{mode}.toml"
    if not path.is_file():
        path = env_dir / "default.toml"
        if not path.is_file():
            return {}, None, []
    where = _rel(path, base_dir)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, path, [diagnostic("SPC013", f"{where}: cannot be read as TOML: {exc}.",
                                     "fix the file: an [env] table of NAME = \"value\" lines.", file=where)]
    table = data.get("env", {})
    if not isinstance(table, dict):
        return {}, path, [diagnostic("SPC013", f"{where}: 'env' must be a table ([env]), got {_type_name(table)}.",
                                     "write the variables under an [env] table.", file=where, key="env")]
    values: Dict[str, str] = {}
    problems: List[Diagnostic] = []
    for key, value in table.items():
        if isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            values[key] = str(value)
        else:
            problems.append(diagnostic(
                "SPC013", f"{where}: env.{key} must be a string, number or boolean, got {_type_name(value)}.",
                f'write {key} = "value".', file=where, key=f"env.{key}"))
    return values, path, problems


def read_dotenv(paths: Sequence[Path]) -> Dict[str, str]:
    """Variables from the .env files; the first file defining a name wins.
    Names without a value (``FOO`` alone) are ignored."""
    from dotenv import dotenv_values

    values: Dict[str, str] = {}
    for path in paths:
        for key, value in dotenv_values(path, interpolate=True).items():
            if value is not None and key not in values:
                values[key] = value
    return values


# ---------------------------------------------------------------------- mode
def resolve_mode(explicit: Optional[str], environ: Mapping[str, str], toml: SpocToml,
                 mode_source: Optional[str] = None) -> Tuple[str, List[Diagnostic]]:
    """The project's mode: argument, else SPOC_MODE, else spoc.toml, else development.

    ``mode_source`` says where ``SPOC_MODE`` came from (a .env file, or the
    process environment when ``None``); a bad value names it."""
    if explicit is not None:
        if explicit not in MODES:
            return "development", [diagnostic(
                "SPC013", f"mode {explicit!r} is not a known mode.", f"pass one of {', '.join(MODES)}.", key="mode")]
        return explicit, []
    value = environ.get("SPOC_MODE")
    if value is not None and value.strip():
        value = value.strip()
        if value not in MODES:
            where = mode_source or "the process environment"
            return "development", [diagnostic(
                "SPC013", f"SPOC_MODE is {value!r} (set in {where}), which is not a known mode.",
                f"set SPOC_MODE to one of {', '.join(MODES)} in {where}.", key="SPOC_MODE",
                file=mode_source)]
        return value, []
    return toml.mode or "development", []


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool_env(name: str, value: str) -> Tuple[Optional[bool], List[Diagnostic]]:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True, []
    if lowered in _FALSE:
        return False, []
    return None, [diagnostic(
        "SPC013", f"environment variable {name} is {value!r}, which is not a boolean.",
        f"set {name} to true or false (also 1/0, yes/no, on/off).", key=name)]
