"""SPOC's configuration loaders (``spoc.core.config_loader``) on the project layer.

- :func:`load_configuration`: the settings module, found where the project
  loader finds it (``settings.py``/``config.py``/``configuration.py`` in
  ``config/``, ``conf/``, the root);
- :func:`load_spoc_toml`: spoc.toml as a dict, validated by the project
  layer's rules (a problem is a :class:`ConfigurationError` naming file and key);
- :func:`load_environment`: SPOC's ``.env/<mode>.toml`` ``[env]`` table
  (``default.toml`` as fallback), or a dotenv ``.env`` file's values.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Optional, Union

from ..project.config import (
    find_dotenv_files, find_env_dir, find_settings, find_spoc_toml, read_dotenv, read_env_dir, read_spoc_toml,
)
from .exceptions import ConfigurationError

PathLike = Union[str, Path]


def load_configuration(base_dir: PathLike) -> ModuleType:
    """Import the project's settings module from its file."""
    base = Path(base_dir)
    found = find_settings(base)
    if found is None:
        raise ConfigurationError(
            f"no settings module in {base}: looked for settings.py, config.py and configuration.py in "
            "config/, conf/ and the project root. Create config/settings.py.")
    path, name = found
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"no loader for {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ConfigurationError(f"settings {path} cannot be imported: {type(exc).__name__}: {exc}. "
                                 "Fix the error in that file.") from exc
    return module


def load_spoc_toml(base_dir: PathLike) -> Dict[str, Any]:
    """``{"spoc": {...}}`` from spoc.toml (defaults when there is none)."""
    base = Path(base_dir)
    path = find_spoc_toml(base)
    if path is None:
        return {"spoc": {"mode": "development", "debug": False, "apps": {}, "plugins": {}}}
    toml, problems = read_spoc_toml(path, base)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise ConfigurationError("; ".join(p.message + (f" Fix: {p.hint}" if p.hint else "") for p in errors))
    import tomllib

    return tomllib.loads(path.read_text(encoding="utf-8"))


def load_environment(base_dir: PathLike, mode: str, env_dir: Optional[PathLike] = None,
                     echo: bool = False) -> Dict[str, Any]:
    """The environment values for ``mode``: ``<env_dir>/<mode>.toml``'s
    ``[env]`` table (else ``default.toml``'s) when there is a ``.env`` folder,
    else the dotenv ``.env`` files' values; ``{}`` when neither exists."""
    base = Path(base_dir)
    folder = Path(env_dir) if env_dir is not None else find_env_dir(base)
    if folder is not None and folder.is_dir():
        values, path, problems = read_env_dir(folder, mode, base)
        if problems:
            raise ConfigurationError("; ".join(p.message for p in problems))
        if echo:
            print(f"[spoc] environment for {mode!r}: {path or 'none'}", flush=True)
        return dict(values)
    return dict(read_dotenv(find_dotenv_files(base)))


__all__ = ["load_configuration", "load_environment", "load_spoc_toml"]
