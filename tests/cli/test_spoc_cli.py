"""The specter-spoc CLI (and the same commands under `flask spoc`)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from specter_spoc.cli import cli, flask_group
from specter_spoc.testing import wait_until

_FIXTURES = str(Path(__file__).resolve().parents[1] / "project")
if _FIXTURES not in sys.path:
    sys.path.insert(0, _FIXTURES)
from spoc_fixtures import blog_platform, forget_fixture_modules, write_tree  # noqa: E402

VENV_BIN = Path(sys.executable).parent
CONTROLLER = '''
from specter_spoc import Controller
from specter_spoc.project import controller


@controller
class PostController(Controller):
    url_prefix = "/posts"

    def build_routes(self, router):
        @router.route("/", methods=["GET"])
        def index():
            return {"posts": ["hello"]}

    def build_events(self, handler):
        handler.on("blog:ping", lambda data=None: {"pong": True})
'''
DEFAULT_LAYOUT = "from specter_spoc.project import default_layout\nLAYOUT = default_layout()\n"


@pytest.fixture
def project_dir(tmp_path):
    """blog_platform with a controller in the blog app (default layout)."""
    return write_tree(tmp_path / "blog_platform", blog_platform({
        "apps": {"blog": {"controllers.py": CONTROLLER}},
        "framework": {"layout.py": DEFAULT_LAYOUT},
    }))


@pytest.fixture(autouse=True)
def _no_spoc_environment(monkeypatch):
    for name in ("SPOC_MODE", "SPOC_STRICT", "SECRET_KEY", "SPECTER_SPOC_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    forget_fixture_modules()


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args, group=cli):
    result = runner.invoke(group, [str(a) for a in args], catch_exceptions=False)
    return result


def _no_leftovers():
    return [m for m in sys.modules if m.split(".")[0] in ("users", "blog", "framework", "config")]


def test_check_clean_project_exits_0(runner, project_dir):
    result = invoke(runner, "check", "--project", project_dir)
    assert result.exit_code == 0, result.output
    assert "No problems found" in result.output and "2 apps" in result.output
    assert _no_leftovers() == []


def test_check_prints_codes_and_exits_1_on_errors(runner, tmp_path):
    path = write_tree(tmp_path / "p", blog_platform({"config": {
        "settings.py": 'INSTALLED_APPS = ["users", "blog", "ghost"]\nSPOC_LAYOUT = "framework.layout.LAYOUT"\n'}}))
    result = invoke(runner, "check", "--project", path)
    assert result.exit_code == 1
    assert "SPC001 error [app ghost" in result.output and "hint:" in result.output
    assert "1 error(s)" in result.output
    # strict mode: check still lists everything (it never raises for app errors)
    result = invoke(runner, "check", "--project", path, "--strict")
    assert result.exit_code == 1 and "SPC001" in result.output and "strict" in result.output


def test_check_boot_finds_duplicate_routes(runner, tmp_path):
    twin = CONTROLLER.replace("PostController", "TwinController").replace("blog:ping", "blog:pong")
    path = write_tree(tmp_path / "p", blog_platform({
        "apps": {"blog": {"controllers.py": CONTROLLER + twin.split("\n\n\n", 1)[1]}},
        "framework": {"layout.py": DEFAULT_LAYOUT}}))
    assert invoke(runner, "check", "--project", path).exit_code == 0
    result = invoke(runner, "check", "--project", path, "--boot")
    assert result.exit_code == 1 and "SPC009" in result.output and "/blog/posts/" in result.output
    assert _no_leftovers() == []


@pytest.mark.parametrize("override, fragments", [
    ({"config": {"spoc.toml": "[spoc]\nmode = 3\n"}}, ["config/spoc.toml", "spoc.mode", "must be a string"]),
    ({"config": {"settings.py": 'INSTALLED_APPS = "users"\n'}}, ["config/settings.py", "INSTALLED_APPS", "list"]),
    ({"config": {"settings.py": None}}, ["no settings module", "config/settings.py"]),
])
def test_malformed_configuration_exits_2_with_one_message_no_traceback(runner, tmp_path, override, fragments):
    path = write_tree(tmp_path / "p", blog_platform(override))
    for command in ("check", "apps", "components", "settings", "routes"):
        result = invoke(runner, command, "--project", path)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output
        assert all(f in result.output for f in fragments), result.output
        assert result.output.startswith("specter-spoc: ")


@pytest.mark.parametrize("override, fragment", [
    ({"apps": {"users": {"models.py": "import not_installed_xyz\n"}}}, "not_installed_xyz"),
    ({"config": {"spoc.toml": '[spoc.plugins]\nhooks = ["framework.missing.hook"]\n'}}, "framework.missing.hook"),
    ({"apps": {"users": {"__init__.py": 'DEPENDS_ON = ["blog"]\n'}}}, "users -> blog -> users"),
])
def test_app_plugin_and_cycle_errors_exit_2_in_strict_mode(runner, tmp_path, override, fragment):
    path = write_tree(tmp_path / "p", blog_platform(override))
    result = invoke(runner, "apps", "--project", path, "--strict")
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output
    lenient = invoke(runner, "apps", "--project", path)
    assert lenient.exit_code == 0 and fragment in lenient.output  # reported, the rest still listed


def test_debug_shows_the_traceback(runner, tmp_path):
    path = write_tree(tmp_path / "p", blog_platform({"config": {"spoc.toml": "[spoc]\nmode = 3\n"}}))
    result = invoke(runner, "check", "--project", path, "--debug")
    assert result.exit_code == 2 and "Traceback" in result.output


def test_apps_listing_and_json(runner, project_dir):
    result = invoke(runner, "apps", "--project", project_dir)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "mode development (lenient), 2 app(s):"
    assert "1. users" in lines[1] and "url_prefix=/users" in lines[1]
    assert "2. blog" in lines[2] and "depends_on=users" in lines[2]
    data = json.loads(invoke(runner, "apps", "--project", project_dir, "--json").output)
    assert [a["name"] for a in data["apps"]] == ["users", "blog"] and data["skipped"] == {}


def test_apps_shows_skipped_apps_with_reason(runner, tmp_path):
    path = write_tree(tmp_path / "p", blog_platform({"apps": {"users": {"views.py": "raise RuntimeError('x')\n"}}}))
    result = invoke(runner, "apps", "--project", path)
    assert result.exit_code == 0
    assert "skipped users: module users.views cannot be imported" in result.output
    assert "skipped blog: app 'blog' depends on 'users', which was skipped" in result.output


def test_components_listing(runner, project_dir):
    result = invoke(runner, "components", "--project", project_dir, "--type", "service")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "services (3):",
        "  users.UserService: <class 'users.services.UserService'>",
        "  blog.PostService: <class 'blog.services.PostService'>",
        "  blog.CommentService: <class 'blog.services.CommentService'>",
    ]
    data = json.loads(invoke(runner, "components", "--project", project_dir, "--json").output)
    assert [r["name"] for r in data["controllers"]] == ["blog.PostController"]
    assert data["controllers"][0]["booted_by_runtime"] is True
    bad = invoke(runner, "components", "--project", project_dir, "--type", "gadgets")
    assert bad.exit_code == 2 and "known types" in bad.output


def test_settings_are_masked(runner, project_dir):
    result = invoke(runner, "settings", "--project", project_dir, "--env")
    assert result.exit_code == 0
    assert "hunter2" not in result.output and "s3cret-from-dotenv" not in result.output
    assert "CACHE_URL = 'redis://cache:********@localhost:6379/0'" in result.output
    assert "DB_PASSWORD=********" in result.output and "DB_NAME=blog_from_dotenv.db" in result.output
    data = json.loads(invoke(runner, "settings", "--project", project_dir, "--json").output)
    assert data["settings"]["DATABASE"]["password"] == "********"


def test_routes_boots_lists_and_shuts_down(runner, project_dir):
    result = invoke(runner, "routes", "--project", project_dir)
    assert result.exit_code == 0, result.output
    assert any(line.split()[:3] == ["GET", "/blog/posts/", "blog_PostController.index"]
               for line in result.output.splitlines()), result.output
    assert "SOCKET" in result.output and "blog:ping" in result.output
    data = json.loads(invoke(runner, "routes", "--project", project_dir, "--json").output)
    assert {"rule": "/blog/posts/", "methods": ["GET"], "endpoint": "blog_PostController.index"} in data["routes"]
    assert _no_leftovers() == []


def test_mode_option_and_project_env_var(runner, tmp_path, monkeypatch):
    path = write_tree(tmp_path / "p", blog_platform({"config": {"spoc.toml": (
        '[spoc]\nmode = "development"\n[spoc.apps]\ndevelopment = ["devtools"]\n')},
        "apps": {"devtools": {"__init__.py": ""}}}))
    monkeypatch.setenv("SPECTER_SPOC_PROJECT", str(path))
    dev = json.loads(invoke(runner, "apps", "--json").output)
    assert [a["name"] for a in dev["apps"]] == ["users", "blog", "devtools"]
    prod = json.loads(invoke(runner, "apps", "--json", "--mode", "production", "--lenient").output)
    assert prod["mode"] == "production" and [a["name"] for a in prod["apps"]] == ["users", "blog"]


def test_new_app_scaffold_boots_and_serves(runner, project_dir):
    result = invoke(runner, "new", "app", "orders", "--project", project_dir)
    assert result.exit_code == 0 and "created" in result.output
    target = project_dir / "apps" / "orders"
    assert sorted(p.name for p in target.iterdir()) == ["__init__.py", "controllers.py", "models.py", "services.py"]
    assert (project_dir / "tests" / "test_orders.py").is_file()
    again = invoke(runner, "new", "app", "orders", "--project", project_dir)
    assert again.exit_code == 2 and "already exists" in again.output
    assert invoke(runner, "new", "app", "Bad-Name", "--project", project_dir).exit_code == 2

    settings = project_dir / "config" / "settings.py"
    settings.write_text(settings.read_text().replace('"blog",\n]', '"blog",\n    "orders",\n]'))
    assert invoke(runner, "check", "--project", project_dir).exit_code == 0
    from specter_spoc.project import load_project
    from specter_spoc import create_app
    project = load_project(project_dir)
    try:
        assert project.get_component("models", "orders.OrdersItem") is not None
        app = create_app(project)
        runtime = app.extensions["specter_spoc"]
        try:
            client = app.test_client()
            assert client.post("/orders/", json={"title": "first"}).status_code == 201
            wait_until(lambda: client.get("/orders/").json == {"items": [{"id": 1, "title": "first", "done": True}]},
                       timeout=5, what="the worker marking the item done")
            socket = app.extensions["socketio"].test_client(app)
            assert socket.emit("orders:add", {"title": "second"}, callback=True)["id"] == 2
            socket.disconnect()
        finally:
            runtime.shutdown()
    finally:
        project.close()


def test_flask_group_has_the_same_commands(runner, project_dir):
    assert set(flask_group.commands) == set(cli.commands) == {
        "check", "apps", "components", "settings", "routes", "run", "new", "top", "tree", "queue"}
    result = invoke(runner, "check", "--project", project_dir, group=flask_group)
    assert result.exit_code == 0 and "No problems found" in result.output


# ------------------------------------------------------------ real processes
def _run(args, **kwargs):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOC_", "PYTEST_"))}
    return subprocess.run(args, capture_output=True, text=True, timeout=30, env=env, **kwargs)


def test_console_script_check_in_a_subprocess(project_dir, tmp_path):
    ok = _run([str(VENV_BIN / "specter-spoc"), "check", "--project", str(project_dir)])
    assert ok.returncode == 0 and "No problems found" in ok.stdout
    broken = write_tree(tmp_path / "broken", blog_platform({"config": {"spoc.toml": '[spoc.apps]\nproduction = "x"\n'}}))
    bad = _run([str(VENV_BIN / "specter-spoc"), "check", "--project", str(broken)])
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "spoc.apps.production" in bad.stderr and "config/spoc.toml" in bad.stderr


def test_flask_spoc_acts_on_the_app_named_by_app_not_the_working_directory(project_dir, tmp_path):
    (project_dir / "wsgi.py").write_text(
        "from specter_spoc import create_app as _create\n"
        "from pathlib import Path\n\n"
        "def create_app():\n    return _create(Path(__file__).parent)\n")
    stray = write_tree(tmp_path / "stray", blog_platform({}))  # a different project in the cwd
    (stray / "config" / "settings.py").write_text('INSTALLED_APPS = ["users"]\n')
    result = _run([str(VENV_BIN / "flask"), "--app", f"{project_dir / 'wsgi.py'}:create_app", "spoc", "apps",
                   "--json"], cwd=stray)
    assert result.returncode == 0, result.stderr
    assert [a["name"] for a in json.loads(result.stdout)["apps"]] == ["users", "blog"]
    routes = _run([str(VENV_BIN / "flask"), "--app", f"{project_dir / 'wsgi.py'}:create_app", "spoc", "routes",
                   "--json"], cwd=stray)
    assert {"rule": "/blog/posts/", "methods": ["GET"], "endpoint": "blog_PostController.index"} in \
        json.loads(routes.stdout)["routes"], routes.stderr
    refused = _run([str(VENV_BIN / "flask"), "--app", f"{project_dir / 'wsgi.py'}:create_app", "spoc", "apps",
                    "--project", str(stray)], cwd=stray)
    assert refused.returncode == 2 and "drop --project" in refused.stderr


@pytest.mark.e2e
def test_run_serves_http_and_stops_on_sigterm(project_dir, free_port):
    proc = subprocess.Popen([str(VENV_BIN / "specter-spoc"), "run", "--project", str(project_dir),
                             "--port", str(free_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def posts() -> object:
            if proc.poll() is not None:
                return "exited"  # stop waiting: the assert below shows stderr
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/blog/posts/", timeout=1) as response:
                    return json.loads(response.read())
            except OSError:
                return None

        body = wait_until(posts, timeout=20, interval=0.05, what="the server to answer /blog/posts/")
        assert body == {"posts": ["hello"]}, proc.stderr.read() if proc.poll() is not None else body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
