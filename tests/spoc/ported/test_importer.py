"""Importer, after SPOC 0.3.9's tests/test_importer.py (rewritten to use real
modules in a temporary package instead of mocks)."""
from __future__ import annotations

import os
import sys

import pytest

from conftest import REAL_SPOC, target

importer_mod = target("core.importer")
exceptions = target("core.exceptions")
Importer = importer_mod.Importer

RECORDING = """
from {pkg}.log import EVENTS

def initialize():
    EVENTS.append(("init", __name__))

def teardown():
    EVENTS.append(("down", __name__))
"""


def _write(pkg: str, name: str, text: str) -> None:
    with open(os.path.join(sys.path[0], pkg, name), "w") as fh:
        fh.write(text)


@pytest.fixture
def importer():
    imp = Importer()
    yield imp
    imp.clear_all()
    if REAL_SPOC:  # its Importer is a process-wide singleton whose clear() keeps the dependency graph
        imp._dependency_graph = type(imp._dependency_graph)()


def test_load_caches_the_module(importer):
    module = importer.load("json")
    assert module is sys.modules["json"] and importer.has("json") and importer.get("json") is module


def test_startup_in_dependency_order_and_shutdown_in_reverse(importer, package):
    pkg = package({"log.py": "EVENTS = []\n"})
    for name in "abc":
        _write(pkg, f"{name}.py", RECORDING.format(pkg=pkg))
    importer.register(f"{pkg}.c", dependencies=[f"{pkg}.b"])
    importer.register(f"{pkg}.b", dependencies=[f"{pkg}.a"])
    events = sys.modules[f"{pkg}.log"].EVENTS
    importer.startup()
    assert events == [("init", f"{pkg}.a"), ("init", f"{pkg}.b"), ("init", f"{pkg}.c")]
    del events[:]
    importer.shutdown()
    assert events == [("down", f"{pkg}.c"), ("down", f"{pkg}.b"), ("down", f"{pkg}.a")]


def test_missing_module(importer):
    with pytest.raises(exceptions.AppNotFoundError):
        importer.load("no_such_module_xyz")


def test_missing_module_in_loose_mode_is_none(package):
    loose = Importer(mode="loose")
    if REAL_SPOC and loose.mode != "loose":
        pytest.skip("SPOC 0.3.9's Importer is a process-wide singleton: its first mode sticks")
    assert loose.load("no_such_module_xyz") is None


def test_uncached_module(importer):
    with pytest.raises(exceptions.ModuleNotCachedError):
        importer.get("never.loaded")


def test_clear_forgets_and_tears_down(importer, package):
    pkg = package({"log.py": "EVENTS = []\n"})
    _write(pkg, "m.py", RECORDING.format(pkg=pkg))
    importer.register(f"{pkg}.m")
    importer.startup()
    importer.clear(f"{pkg}.m")
    assert not importer.has(f"{pkg}.m")
    assert sys.modules[f"{pkg}.log"].EVENTS == [("init", f"{pkg}.m"), ("down", f"{pkg}.m")]


@pytest.mark.parametrize("uri, error", [
    ("nodots", ValueError),
    ("no_such_pkg_xyz.module.attr", "AppNotFoundError"),
    ("os.no_such_attribute", AttributeError),
])
def test_load_from_uri_errors(importer, uri, error):
    expected = getattr(exceptions, error) if isinstance(error, str) else error
    with pytest.raises(expected):
        importer.load_from_uri(uri)


def test_load_from_uri(importer, package):
    pkg = package({"greet.py": "def hello(name):\n    return f'hi {name}'\n\nclass Greeter:\n    pass\n"})
    assert importer.load_from_uri("os.path.join") is os.path.join
    assert importer.load_from_uri("builtins.ValueError") is ValueError
    assert importer.load_from_uri(f"{pkg}.greet.hello")("ann") == "hi ann"
    assert importer.load_from_uri(f"{pkg}.greet.Greeter").__name__ == "Greeter"


def test_cycle_is_reported_at_startup(importer, package):
    pkg = package({"x.py": "", "y.py": ""})
    importer.register(f"{pkg}.x", dependencies=[f"{pkg}.y"])
    importer.register(f"{pkg}.y", dependencies=[f"{pkg}.x"])
    with pytest.raises(exceptions.CircularDependencyError):
        importer.startup()


def test_failing_initialize_is_a_spoc_error(importer, package):
    pkg = package({"bad.py": "def initialize():\n    raise RuntimeError('no database')\n"})
    importer.register(f"{pkg}.bad")
    with pytest.raises(exceptions.SpocError, match="no database"):
        importer.startup()


def test_simple_regex():
    pattern = Importer.simple_regex("test.module.*")
    assert pattern.match("test.module.any") and pattern.match("test.module.sub")
    assert not pattern.match("test-module") and not pattern.match("testxmodule")
    views = Importer.simple_regex("test.*.views")
    assert views.match("test.app.views") and not views.match("test.views.controller")


@pytest.mark.differs_from_spoc("hooks receive a set of the module's components, not the module")
def test_pattern_hooks_receive_the_module(importer, package):
    pkg = package({"models.py": "VALUE = 1\n"})
    seen = []
    importer.register_hook(f"{pkg}.*", on_startup=seen.append, on_shutdown=seen.append)
    importer.register(f"{pkg}.models")
    importer.startup()
    importer.shutdown()
    assert seen == [sys.modules[f"{pkg}.models"]] * 2
