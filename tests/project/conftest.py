"""Fixtures for the project layer (helpers live in spoc_fixtures.py)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import pytest

from spoc_fixtures import ProjectFactory, Tree, forget_fixture_modules, write_tree


@pytest.fixture
def projects(tmp_path: Path) -> Iterator[ProjectFactory]:
    """Load projects from trees; all are closed after the test."""
    factory = ProjectFactory(tmp_path)
    path_before = list(sys.path)
    env_before = _environ()
    yield factory
    factory.close()
    assert sys.path == path_before, "a project left sys.path modified"
    assert _environ() == env_before, "a project left environment variables behind"


def _environ() -> Dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(tree, name=None) -> Path`` under tmp_path."""
    counter = iter(range(1, 1000))

    def _write(tree: Tree, name: Optional[str] = None) -> Path:
        return write_tree(tmp_path / (name or f"tree{next(counter)}"), tree)

    return _write


@pytest.fixture(autouse=True)
def _no_spoc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide the mode themselves, whatever the developer's shell says,
    and start without modules another test left loaded."""
    for name in ("SPOC_MODE", "SPOC_STRICT", "SECRET_KEY", "SPECTER_SPOC_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    forget_fixture_modules()
