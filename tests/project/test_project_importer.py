"""Importer: URIs to objects, per-instance cache, failures that name the import."""
from __future__ import annotations

import json
import os.path
import sys

import pytest

from specter_spoc.project import ImportFailure, Importer
from specter_spoc.project.importer import LOAD_FAILURES


@pytest.fixture
def pkg(write):
    root = write({"imppkg_x": {
        "__init__.py": "LOADS = []\n",
        "mod.py": "import imppkg_x\nimppkg_x.LOADS.append(1)\nclass Thing:\n    attr = 'value'\n",
        "needs_dep.py": "import missing_dependency_xyz\n",
        "raises.py": "raise ValueError('at import time')\n",
        "syntax.py": "def x(:\n",
    }})
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m.split(".")[0] == "imppkg_x"]:
        del sys.modules[name]


def test_attribute_module_and_nested_attribute():
    importer = Importer()
    assert importer.load_from_uri("json.dumps") is json.dumps
    assert importer.load_from_uri("os.path") is os.path
    assert importer.load_from_uri("json.JSONDecoder.decode") is json.JSONDecoder.decode
    assert importer.load_from_uri("json:dumps") is json.dumps


def test_cache_is_per_importer(pkg):
    first, second = Importer(), Importer()
    thing = first.load_from_uri("imppkg_x.mod.Thing")
    assert first.is_cached("imppkg_x.mod.Thing") and not second.is_cached("imppkg_x.mod.Thing")
    del sys.modules["imppkg_x.mod"]
    assert first.load_from_uri("imppkg_x.mod.Thing") is thing        # from the cache: no re-import
    assert sys.modules["imppkg_x"].LOADS == [1]
    other = second.load_from_uri("imppkg_x.mod.Thing")               # fresh importer imports again
    assert other is not thing and sys.modules["imppkg_x"].LOADS == [1, 1]
    first.clear()
    assert not first.is_cached("imppkg_x.mod.Thing")


@pytest.mark.parametrize("uri, failed, fragment", [
    ("no_such_pkg_xyz.mod.attr", "no_such_pkg_xyz", "no module named 'no_such_pkg_xyz'"),
    ("imppkg_x.mod.Missing", "imppkg_x.mod.Missing", "module 'imppkg_x.mod' has no attribute 'Missing'"),
    ("imppkg_x.mod.Thing.nope", "imppkg_x.mod.Thing.nope", "type 'imppkg_x.mod.Thing' has no attribute 'nope'"),
    ("imppkg_x.needs_dep.x", "missing_dependency_xyz", "importing module 'imppkg_x.needs_dep' failed"),
    ("imppkg_x.raises", "imppkg_x.raises", "ValueError: at import time"),
    ("imppkg_x.syntax.f", "imppkg_x.syntax", "SyntaxError"),
    ("not a uri", "not a uri", "dotted Python identifiers"),
    ("", "", "non-empty"),
])
def test_failures_name_the_uri_and_the_failing_import(pkg, uri, failed, fragment):
    with pytest.raises(LOAD_FAILURES) as info:
        Importer().load_from_uri(uri)
    exc = info.value
    assert exc.uri == uri and exc.failed_import == failed
    assert fragment in str(exc) and repr(uri) in str(exc)


@pytest.mark.parametrize("uri, spoc_type", [
    ("imppkg_x.mod.Missing", AttributeError), ("imppkg_x.mod.Thing.nope", AttributeError),
    ("not a uri", ValueError), ("", ValueError), ("no_such_pkg_xyz.mod.attr", ImportError),
])
def test_failures_are_also_the_exception_types_spoc_raises(pkg, uri, spoc_type):
    with pytest.raises(spoc_type, match="cannot load"):
        Importer().load_from_uri(uri)


def test_failure_location_points_at_the_broken_file(pkg):
    with pytest.raises(ImportFailure) as info:
        Importer().load_from_uri("imppkg_x.raises")
    assert info.value.location.endswith("raises.py:1")
    assert isinstance(info.value.cause, ValueError) and info.value.__cause__ is info.value.cause


def test_failures_are_not_cached(pkg):
    importer = Importer()
    with pytest.raises(LOAD_FAILURES):
        importer.load_from_uri("imppkg_x.late.VALUE")
    (pkg / "imppkg_x" / "late.py").write_text("VALUE = 5\n")
    import importlib
    importlib.invalidate_caches()
    assert importer.load_from_uri("imppkg_x.late.VALUE") == 5
