from __future__ import annotations

from typing import Any, Callable

import pytest


@pytest.fixture
def make_app(spoc_app_factory: Callable[..., tuple]) -> Callable[..., tuple]:
    """The plugin's ``spoc_app_factory`` (apps booted, shut down after the test)."""
    return spoc_app_factory
