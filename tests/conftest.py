"""Shared fixtures. gevent is monkey-patched by the specter_spoc pytest plugin
(``spoc_gevent_patch = true`` in pyproject.toml) before this file is imported."""
from __future__ import annotations

import logging

import pytest


@pytest.fixture
def caplog_errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog capturing ERROR and up from specter_spoc."""
    caplog.set_level(logging.WARNING, logger="specter_spoc")
    return caplog
