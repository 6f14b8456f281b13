"""Conformance suite: each documented SPECTER 0.1.2 behaviour, written once,
run against ``specter`` and ``specter_spoc`` (see conformance_harness.py)."""
from __future__ import annotations

from typing import Iterator, List

import pytest

from conformance_harness import Impl, _NoAtexit, reset_globals


@pytest.fixture(params=["specter", "specter_spoc"])
def impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Impl]:
    it = Impl(request.param)
    if it.name == "specter":
        monkeypatch.setattr("specter.core.manager.atexit", _NoAtexit)
    reset_globals(it.mod)
    try:
        yield it
    finally:
        it.close()
        reset_globals(it.mod)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ours_xfail(reason): strict xfail on the specter_spoc parameter only (a known gap being fixed)")
    # SPECTER's QueueService builds JoinableQueue(maxsize=0), which gevent deprecates
    config.addinivalue_line("filterwarnings", r"ignore:Queue\(0\) now equivalent:DeprecationWarning")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    for item in items:
        mark = item.get_closest_marker("ours_xfail")
        callspec = getattr(item, "callspec", None)
        if mark is None or callspec is None or callspec.params.get("impl") != "specter_spoc":
            continue
        item.add_marker(pytest.mark.xfail(reason=mark.args[0], strict=True))

