"""App discovery: apps/ folder, importable packages, entry points, metadata."""
from __future__ import annotations

import sys

import pytest

from specter_spoc.project.apps import ENTRY_POINT_GROUP, entry_point_apps


@pytest.fixture
def installed_dist(write):
    """A real installed distribution (dist-info with entry_points.txt) on sys.path."""
    root = write({
        "ep_blog_pkg": {
            "__init__.py": "URL_PREFIX = '/ep'\n",
            "models.py": "from specter_spoc.project import model\n\n@model\nclass Entry:\n    pass\n",
        },
        "ep_conf_pkg": {
            "__init__.py": "from specter_spoc.project import AppConfig\n"
                           "app_meta = AppConfig(depends_on=['epblog'], description='configured')\n",
        },
        "ep_blog-1.0.dist-info": {
            "METADATA": "Metadata-Version: 2.1\nName: ep-blog\nVersion: 1.0\n",
            "entry_points.txt": f"[{ENTRY_POINT_GROUP}]\nepconf = ep_conf_pkg:app_meta\nepblog = ep_blog_pkg\n",
        },
    }, name="site")
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m.split(".")[0] in ("ep_blog_pkg", "ep_conf_pkg")]:
        del sys.modules[name]


def test_entry_point_apps_are_listed(installed_dist):
    found = {ep.name: ep for ep in entry_point_apps()}
    assert found["epblog"].module == "ep_blog_pkg" and found["epblog"].attr is None
    assert found["epconf"].attr == "app_meta" and found["epconf"].distribution == "ep-blog"


def test_entry_point_apps_are_installed_after_configured_apps(installed_dist, projects):
    tree = {"apps": {"local": {"__init__.py": ""}}, "config": {"settings.py": 'INSTALLED_APPS = ["local"]\n'}}
    project = projects.load(tree)
    assert project.diagnostics == []
    assert project.installed_apps == ["local", "ep_blog_pkg", "ep_conf_pkg"]
    blog, conf = project.app("epblog"), project.app("epconf")
    assert (blog.module, blog.url_prefix, blog.source) == ("ep_blog_pkg", "/ep", "entry point")
    assert (conf.depends_on, conf.config.description) == (("epblog",), "configured")
    assert project.get_component("models", "epblog.Entry").__module__ == "ep_blog_pkg.models"
    project.close()
    assert "ep_blog_pkg" not in sys.modules  # entry-point apps are unloaded too


def test_entry_point_discovery_can_be_turned_off(installed_dist, projects):
    tree = {"config": {"settings.py": "INSTALLED_APPS = []\nSPOC_ENTRY_POINT_APPS = False\n"}}
    assert projects.load(tree).installed_apps == []


def test_apps_can_be_any_importable_package(projects, write):
    lib = write({"acme_users_lib": {"__init__.py": "", "users": {"__init__.py": "", "models.py":
                 "from specter_spoc.project import model\n\n@model\nclass Account:\n    pass\n"}}}, name="lib")
    sys.path.insert(0, str(lib))
    try:
        project = projects.load({"config": {"settings.py": 'INSTALLED_APPS = ["acme_users_lib.users"]\n'}})
        info = project.app("users")
        assert (info.name, info.module) == ("users", "acme_users_lib.users")
        assert list(project.components.models) == ["users.Account"]
        project.close()
        assert "acme_users_lib.users" not in sys.modules
    finally:
        sys.path.remove(str(lib))
        for name in [m for m in sys.modules if m.startswith("acme_users_lib")]:
            del sys.modules[name]


def test_app_config_modules_restricts_kinds(projects):
    tree = {"apps": {"lite": {"__init__.py": "MODULES = ['models']\n", "models.py": "", "services.py":
                              "raise RuntimeError('must not be imported')\n"}},
            "config": {"settings.py": 'INSTALLED_APPS = ["lite"]\n'}}
    project = projects.load(tree)
    assert project.diagnostics == [] and list(project.app("lite").modules) == ["models"]
    bad = {"apps": {"lite": {"__init__.py": "MODULES = ['gadgets']\n"}}, "config": {"settings.py":
           'INSTALLED_APPS = ["lite"]\n'}}
    project.close()
    assert [d.code for d in projects.load(bad).diagnostics] == ["SPC016"]
