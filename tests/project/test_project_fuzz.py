"""Hypothesis: malformed spoc.toml and settings values always end in a
diagnostic (a loaded project with diagnostics, or DiagnosticError), never in
another exception type. Each test counts the cases it ran."""
from __future__ import annotations

import collections
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specter_spoc.project import DiagnosticError, load_project

from spoc_fixtures import SPOC_TOML, write_tree

VALID_TOML = '''
[spoc]
mode = "development"
debug = true
strict = false

[spoc.apps]
production = []
staging = ["users"]
development = ["blog"]

[spoc.plugins]
middleware = ["framework.db"]
hooks = []
'''

LIGHT = {
    "apps": {"users": {"__init__.py": "", "models.py": "from specter_spoc.project import model\n\n"
                                                         "@model\nclass User:\n    pass\n"},
             "blog": {"__init__.py": "DEPENDS_ON = ['users']\n"}},
    "framework": {"__init__.py": "", "db.py": "db = object()\n"},
    "config": {"settings.py": 'INSTALLED_APPS = ["users"]\n'},
}
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# names/URIs start with zz_ so a random identifier never imports a real module
_safe_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_names = st.one_of(_safe_text.map(lambda s: "zz_" + s), st.sampled_from(["users", "blog", "", "a-b", "1x"]))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _names)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_names, inner, max_size=3)), max_leaves=6)


def _load(counts: collections.Counter, override: dict) -> None:
    tree = {**LIGHT, "config": {**LIGHT["config"], **override}}
    with tempfile.TemporaryDirectory() as tmp:
        root = write_tree(Path(tmp) / "proj", tree)
        try:
            project = load_project(root)
        except DiagnosticError as exc:
            assert exc.diagnostics and all(d.code.startswith("SPC") for d in exc.diagnostics)
            counts["DiagnosticError"] += 1
            return
        try:
            assert all(d.code.startswith("SPC") for d in project.diagnostics)
            counts["loaded with diagnostics" if project.diagnostics else "loaded clean"] += 1
        finally:
            project.close()


def test_random_spoc_toml_always_ends_in_a_diagnostic():
    counts: collections.Counter = collections.Counter()

    @FAST
    @given(text=st.one_of(
        st.text(max_size=200),
        st.binary(max_size=120).map(lambda b: b.decode("latin-1")),
        st.builds(lambda a, b: a + b, st.sampled_from([VALID_TOML, SPOC_TOML]), st.text(max_size=40))))
    def case(text):
        _load(counts, {"spoc.toml": text})

    case()
    print("fuzz cases:", dict(counts))
    assert sum(counts.values()) >= 100 and counts["DiagnosticError"] > 0, counts


def test_truncated_spoc_toml_always_ends_in_a_diagnostic():
    counts: collections.Counter = collections.Counter()
    for cut in range(0, len(VALID_TOML) + 1, 3):
        _load(counts, {"spoc.toml": VALID_TOML[:cut]})
    print("fuzz cases:", dict(counts))
    assert sum(counts.values()) == len(range(0, len(VALID_TOML) + 1, 3))
    assert counts["DiagnosticError"] > 0 and counts["loaded clean"] > 0, counts


def test_random_settings_values_always_end_in_a_diagnostic():
    counts: collections.Counter = collections.Counter()

    @FAST
    @given(key=st.sampled_from(["INSTALLED_APPS", "PLUGINS", "SPOC_STRICT", "SECRET_KEY", "SPOC_LAYOUT",
                                "SPOC_FRAMEWORK_PACKAGES", "SPOC_ENTRY_POINT_APPS", "DEBUG"]),
           value=_values)
    def case(key, value):
        _load(counts, {"settings.py": f'INSTALLED_APPS = ["users"]\n{key} = {value!r}\n'})

    case()
    print("fuzz cases:", dict(counts))
    assert sum(counts.values()) >= 100 and counts["DiagnosticError"] > 0, counts
