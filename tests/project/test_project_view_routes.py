"""An app's view functions become routes of a controller the runtime builds for
it: path ``/<name>/<segments>``, POST when it takes ``data``, query parameters
for defaults, metadata overrides; ``SPOC_VIEW_ROUTES = False`` turns it off."""
from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from specter_spoc import boot
from specter_spoc.project.view_routes import view_route

VIEWS = '''
    from specter_spoc.project import view

    @view
    def search(term: str, limit: int = 10, exact: bool = False):
        return {"term": term, "limit": limit, "exact": exact}

    @view(path="/posts/<int:post_id>", methods=["GET", "DELETE"])
    def post(post_id: int):
        return {"post": post_id}

    @view
    def fail():
        raise RuntimeError("secret detail")

    @view
    class NotRouted:
        pass
'''


def _client(project):
    app = Flask("views_test")
    runtime = boot(app, SocketIO(app, async_mode="gevent"), project=project, install_signals=False)
    return app.test_client(), runtime


def _tree(settings=""):
    return {"settings.py": 'INSTALLED_APPS = ["shop"]\n' + settings,
            "apps": {"shop": {"__init__.py": 'URL_PREFIX = "/api/shop"\n', "views.py": VIEWS}}}


def test_rule_and_metadata_override(projects):
    client, runtime = _client(projects.load(_tree()))
    try:
        assert client.get("/api/shop/search/lamp").get_json() == {"term": "lamp", "limit": 10, "exact": False}
        assert client.get("/api/shop/search/lamp?limit=3&exact=yes").get_json() == \
            {"term": "lamp", "limit": 3, "exact": True}
        bad = client.get("/api/shop/search/lamp?limit=many")
        assert bad.status_code == 400 and "'limit' must be int" in bad.get_json()["error"]
        assert client.delete("/api/shop/posts/4").get_json() == {"post": 4}
        failed = client.get("/api/shop/fail")
        assert failed.status_code == 500 and "secret detail" not in failed.get_data(as_text=True)
        assert client.get("/api/shop/NotRouted").status_code == 404
    finally:
        runtime.shutdown()


def test_view_routes_can_be_turned_off(projects):
    client, runtime = _client(projects.load(_tree("SPOC_VIEW_ROUTES = False\n")))
    try:
        assert client.get("/api/shop/search/lamp").status_code == 404
    finally:
        runtime.shutdown()


def test_view_route_unit():
    def add_comment(post_id: int, data): ...
    route = view_route("blog.add_comment", add_comment, {})
    assert (route.rule, route.methods) == ("/add_comment/<int:post_id>", ("POST",))
