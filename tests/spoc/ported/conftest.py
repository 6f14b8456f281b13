"""Which SPOC implementation the ported tests exercise.

``SPOC_TARGET`` names the package: ``specter_spoc.spoc`` (default) or
``spoc`` (the real SPOC 0.3.9, run from its own Python 3.13 venv, see
docs: "Migrating from SPOC"). Nothing here imports specter_spoc, so the same
files run against both. A test of behaviour where this package deliberately
differs from SPOC 0.3.9 is marked ``differs_from_spoc`` and skipped, with
the reason, on the real SPOC.
"""
from __future__ import annotations

import importlib
import os
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

TARGET = os.environ.get("SPOC_TARGET", "specter_spoc.spoc")
REAL_SPOC = TARGET == "spoc"


def target(module: str = "") -> Any:
    """The target package, or one of its SPOC module paths (``"core.importer"``)."""
    return importlib.import_module(f"{TARGET}.{module}" if module else TARGET)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "differs_from_spoc(reason): this package deliberately differs from SPOC")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if not REAL_SPOC:
        return
    for item in items:
        marker = item.get_closest_marker("differs_from_spoc")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"SPOC 0.3.9 differs: {marker.args[0]}"))


def write_files(root: Path, files: dict) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Callable[[dict], str]]:
    """Write a uniquely named package on sys.path: ``package({"mod.py": "..."})``
    returns its name; it is removed from sys.path and sys.modules afterwards."""
    names: list = []
    sys.path.insert(0, str(tmp_path))

    def make(files: dict) -> str:
        name = f"pkg_{uuid.uuid4().hex[:8]}"
        write_files(tmp_path / name, {"__init__.py": "", **files})
        importlib.invalidate_caches()
        names.append(name)
        return name

    yield make
    sys.path.remove(str(tmp_path))
    for mod in [m for m in sys.modules if m.split(".")[0] in names]:
        del sys.modules[mod]
