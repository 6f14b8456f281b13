"""SPOC's ``spoc.utils`` and ``spoc.inject_apps`` helpers."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Union

from .components import get_info


def inject_apps(base_dir: Union[str, Path], apps_dir_name: str = "apps", *, position: int = 0) -> Path:
    """Create ``<base_dir>/apps`` if needed and put it on ``sys.path`` (SPOC's
    helper; :class:`~specter_spoc.spoc.Framework` and the project loader do this
    themselves, and undo it on ``close()``)."""
    apps = Path(base_dir) / apps_dir_name
    apps.mkdir(parents=True, exist_ok=True)
    if str(apps) not in sys.path:
        sys.path.insert(position, str(apps))
    return apps


__all__ = ["get_info", "inject_apps"]
