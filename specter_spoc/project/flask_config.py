"""The Flask config a project's app gets: defaults, settings.py, .env, environment.

One function, :func:`flask_config`, used by the app factory, ``check`` and
``check --boot``, so the three agree on every value. Precedence, highest
first:

=============  ==========================================================
environment    the process environment when the project was loaded
.env           ``config/.env`` (dotenv) and SPOC's ``.env/<mode>.toml`` ``[env]``
settings.py    UPPER-case names of the settings module
defaults       what the caller passes (the app factory's secure defaults)
=============  ==========================================================

In the two environment layers, a variable reaches the config when it is

- ``SPOC_<NAME>``: sets ``NAME``; the value is parsed as JSON where it
  parses (``SPOC_DEBUG=true`` is ``True``, ``SPOC_PORT=8080`` is ``8080``,
  ``SPOC_ORIGINS='["https://a"]'`` a list) and kept as a string otherwise,
  like Flask's ``from_prefixed_env``; ``SPOC_DB__HOST`` sets
  ``config["DB"]["HOST"]``;
- one of the plain names :data:`PLAIN_NAMES` (``SECRET_KEY``, ``REDIS_URL``,
  ``DATABASE_URL``), kept as a string.

Within one layer the prefixed spelling wins over the plain one. Empty values
count as unset (``SECRET_KEY=`` in ``.env.example`` never blanks a key set
in settings.py). ``SPOC_MODE`` and ``SPOC_STRICT`` configure the loader, not
the app, and are left out; so are the settings that shape the project
(``INSTALLED_APPS``, ``PLUGINS``, ``BASE_DIR``, ``SPOC_*`` names), which only
settings.py sets.

``project.settings`` overlays these environment values on the settings
module (:func:`environment_overrides`), so ``project.settings.SECRET_KEY``
and every reader of the settings, the app factory included, see the same
value as ``app.config``.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from .config import Settings

if TYPE_CHECKING:  # project.py calls into this module: no runtime import back
    from .project import Project

#: environment variables that reach the config under their own name
PLAIN_NAMES = ("SECRET_KEY", "REDIS_URL", "DATABASE_URL")
#: prefix of the environment variables that reach the config (prefix removed)
PREFIX = "SPOC_"
#: ``SPOC_`` variables the loader reads itself
LOADER_VARIABLES = frozenset({"SPOC_MODE", "SPOC_STRICT"})
#: layer names, lowest precedence first
LAYERS = ("defaults", "settings.py", ".env", "environment")
#: settings that shape the project itself: only settings.py sets them
STRUCTURE_SETTINGS = frozenset({"INSTALLED_APPS", "PLUGINS", "BASE_DIR"})


def _is_structure(key: str) -> bool:
    return key in STRUCTURE_SETTINGS or key.startswith(PREFIX)


def _parse(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def config_from_environ(environ: Mapping[str, str]) -> Dict[str, Any]:
    """The config keys one environment layer gives (see the module docstring)."""
    plain: Dict[str, Any] = {}
    prefixed: Dict[str, Any] = {}
    for key, value in environ.items():
        if not isinstance(value, str) or value == "":
            continue
        if key in PLAIN_NAMES:
            plain[key] = value
        elif key.startswith(PREFIX) and key not in LOADER_VARIABLES and len(key) > len(PREFIX):
            prefixed[key[len(PREFIX):]] = _parse(value)
    out = dict(plain)
    for name, value in sorted(prefixed.items()):
        parts = name.split("__")
        target = out
        for part in parts[:-1]:
            nested = target.get(part)
            if not isinstance(nested, dict):
                nested = target[part] = {}
            target = nested
        target[parts[-1]] = value
    return out


def _merge(into: Dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict) and "__" not in key:
            merged = dict(into[key])
            _merge(merged, value)
            into[key] = merged
        else:
            into[key] = value


def config_layers(project: Project, defaults: Optional[Mapping[str, Any]] = None
                  ) -> List[Tuple[str, Dict[str, Any]]]:
    """``[(layer name, {key: value})]``, lowest precedence first."""
    module = project.settings.module
    settings = {k: v for k, v in Settings(module).as_dict().items() if k.isupper()}
    from_files = set(project.env_file_keys)
    environment = {k: v for k, v in project.environ_snapshot().items() if k not in from_files}

    def app_keys(layer: Dict[str, Any]) -> Dict[str, Any]:
        return {k: v for k, v in layer.items() if not _is_structure(k)}

    return [
        ("defaults", dict(defaults or {})),
        ("settings.py", settings),
        (".env", app_keys(config_from_environ(dict(project.environment)))),
        ("environment", app_keys(config_from_environ(environment))),
    ]


def environment_overrides(project: Project) -> Dict[str, Any]:
    """The merged value of every key an environment layer sets: what
    ``project.settings`` overlays on the settings module, so code reading
    settings (the app factory included) sees the environment's values."""
    sources = config_sources(project)
    merged = flask_config(project)
    return {k: v for k, v in merged.items() if sources.get(k) in (".env", "environment")}


def flask_config(project: Project, defaults: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The merged config the project's Flask app should get (``app.config.update(...)``)."""
    merged: Dict[str, Any] = {}
    for _, layer in config_layers(project, defaults):
        _merge(merged, layer)
    return merged


def config_sources(project: Project, defaults: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
    """Which layer each top-level key of :func:`flask_config` comes from."""
    sources: Dict[str, str] = {}
    for name, layer in config_layers(project, defaults):
        for key in layer:
            sources[key] = name
    return sources


__all__ = ["LAYERS", "PLAIN_NAMES", "PREFIX", "STRUCTURE_SETTINGS", "config_from_environ", "config_layers",
           "config_sources", "environment_overrides", "flask_config"]
