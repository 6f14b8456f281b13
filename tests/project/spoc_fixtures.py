"""Helpers for the project-layer tests: materialise project trees from dicts.

``write_tree(root, tree)`` writes a nested ``{name: str | dict | None}``
mapping (``None`` deletes). ``blog_platform()`` returns the tree of seed 001's
blog_platform (users + blog apps, config/settings.py, config/spoc.toml,
config/.env, framework/components.py with @model/@view/@service/@worker,
layout hooks), with only the framework imports changed. Tests copy it and
vary one thing: ``blog_platform({"config": {"spoc.toml": "..."}})``.
"""
from __future__ import annotations

import copy
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Optional

from specter_spoc.project import Project, load_project

Tree = Dict[str, Any]


def write_tree(root: Path, tree: Tree) -> Path:
    """Write ``tree`` under ``root``; strings are dedented file contents."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in tree.items():
        path = root / name
        if content is None:
            if path.is_file():
                path.unlink()
            continue
        if isinstance(content, dict):
            write_tree(path, content)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def merge(base: Tree, override: Optional[Tree]) -> Tree:
    """``base`` deep-merged with ``override`` (``None`` values delete)."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


SETTINGS = '''
"""Project settings (seed 001 blog_platform)."""
import os
from pathlib import Path

BASE_DIR: Path = Path(__file__).resolve().parent.parent

INSTALLED_APPS: list = [
    "users",
    "blog",
]

PLUGINS: dict = {
    "middleware": [],
    "hooks": [],
}

SPOC_LAYOUT = "framework.layout.LAYOUT"
SECRET_KEY = os.environ.get("SECRET_KEY", "")

DATABASE: dict = {
    "engine": os.environ.get("DB_ENGINE", "sqlite"),
    "name": os.environ.get("DB_NAME", "blog_platform.db"),
    "host": "localhost",
    "port": 5432,
    "user": os.environ.get("DB_USER", ""),
    "password": os.environ.get("DB_PASSWORD", ""),
}
CACHE_URL = "redis://cache:hunter2@localhost:6379/0"

WORKERS: dict = {
    "email_notifications": {"enabled": True, "interval": 60},
    "content_indexer": {"enabled": True, "interval": 300},
}
'''

SPOC_TOML = '''
[spoc]
mode = "development"
debug = true

[spoc.apps]
production = []
staging = []
development = []

[spoc.plugins]
middleware = []
hooks = []
'''

COMPONENTS = '''
"""Shared component registry (seed 001 framework/components.py)."""
from specter_spoc.project import Components

components = Components()
components.add_type("model")
components.add_type("view")
components.add_type("service")
components.add_type("worker")


def model(cls):
    return components.register("model")(cls)


def view(func):
    return components.register("view")(func)


def service(cls):
    return components.register("service")(cls)


def worker(cls):
    return components.register("worker")(cls)
'''

DATABASE = '''
class Database:
    def __init__(self):
        self.tables = {"users": [], "posts": [], "comments": []}

    def insert(self, table, data):
        record = {"id": len(self.tables[table]) + 1, **data}
        self.tables[table].append(record)
        return record["id"]

    def find_all(self, table):
        return list(self.tables[table])


db = Database()
'''

EVENTS = '''
"""Records what hooks and plugins did, in order (a test reads it)."""
EVENTS = []
'''

LAYOUT = '''
from specter_spoc.project import Hook, Layout

from framework.events import EVENTS


def init_database(module):
    EVENTS.append(("startup", "models", module.__name__))


def close_database(module):
    EVENTS.append(("shutdown", "models", module.__name__))


def init_services(module):
    EVENTS.append(("startup", "services", module.__name__))


LAYOUT = Layout(
    modules=["models", "views", "services", "workers"],
    dependencies={
        "views": ["models"],
        "services": ["models"],
        "workers": ["models", "services"],
    },
    hooks={
        "models": Hook(startup=init_database, shutdown=close_database),
        "services": Hook(startup=init_services),
        "views": Hook(startup=lambda m: EVENTS.append(("startup", "views", m.__name__))),
        "workers": {"startup": lambda m: EVENTS.append(("startup", "workers", m.__name__)),
                    "shutdown": lambda m: EVENTS.append(("shutdown", "workers", m.__name__))},
    },
)
'''

USERS = {
    "__init__.py": '''
        """Users app: authentication, profiles."""
        from specter_spoc.project import AppConfig

        app = AppConfig(name="users", url_prefix="/users", description="user management")
    ''',
    "models.py": '''
        import dataclasses as dc
        from datetime import datetime

        from framework.components import model


        @dc.dataclass
        @model
        class User:
            id: int
            username: str
            email: str
            full_name: str
            created_at: datetime
            is_active: bool = True


        @dc.dataclass
        @model
        class UserProfile:
            user_id: int
            bio: str = ""
    ''',
    "views.py": '''
        from framework.components import view


        @view
        def register_user(data):
            return {"action": "register_user", "status": "success", "data": data}


        @view
        def login_user(data):
            return {"action": "login_user", "status": "success", "username": data.get("username")}


        @view
        def get_profile(user_id):
            return {"action": "get_profile", "status": "success", "user_id": user_id}
    ''',
    "services.py": '''
        from datetime import datetime

        from framework.components import service
        from framework.database import db


        @service
        class UserService:
            def __init__(self):
                self.db = db

            def create_user(self, username, email, full_name):
                return self.db.insert("users", {"username": username, "email": email,
                                                "full_name": full_name, "created_at": datetime.now()})

            def list_users(self):
                return self.db.find_all("users")
    ''',
    "workers.py": '''
        from specter_spoc import Service

        from framework.components import worker


        @worker
        class EmailNotificationWorker(Service):
            def __init__(self):
                super().__init__("EmailNotificationWorker", {"sent": 0})
    ''',
}

BLOG = {
    "__init__.py": '''
        """Blog app: posts and comments."""
        DEPENDS_ON = ["users"]
        URL_PREFIX = "/blog"
    ''',
    "models.py": '''
        import dataclasses as dc

        from framework.components import model


        @dc.dataclass
        @model
        class Post:
            id: int
            title: str
            author_id: int
            published: bool = False


        @dc.dataclass
        @model
        class Comment:
            id: int
            post_id: int
            text: str
    ''',
    "views.py": '''
        from framework.components import view


        @view
        def list_posts():
            return {"action": "list_posts"}


        @view
        def create_post(data):
            return {"action": "create_post", "data": data}
    ''',
    "services.py": '''
        from framework.components import service
        from framework.database import db


        @service
        class PostService:
            def create_post(self, title, author_id):
                return db.insert("posts", {"title": title, "author_id": author_id})


        @service
        class CommentService:
            def create_comment(self, post_id, text):
                return db.insert("comments", {"post_id": post_id, "text": text})
    ''',
    "workers.py": '''
        from specter_spoc import Service

        from framework.components import worker


        @worker
        class ContentIndexerWorker(Service):
            def __init__(self):
                super().__init__("ContentIndexerWorker", {"indexed": 0})
    ''',
}


#: top-level module names the fixture projects use
FIXTURE_TOP_LEVELS = frozenset({"config", "conf", "settings", "users", "blog", "framework", "shop", "chat",
                                "lite", "solo", "core", "orders"})


def _looks_like_project(entry: str) -> bool:
    path = Path(entry)
    if path.name == "apps":
        path = path.parent
    return (path / "config").is_dir() or (path / "settings.py").is_file()


def forget_fixture_modules() -> None:
    """Drop what another test may have left loaded (a project booted by
    create_app() and never closed): modules named like the fixture projects'
    packages, and project folders on sys.path. Each test then loads its own tree."""
    for name in [n for n in sys.modules if n.split(".", 1)[0] in FIXTURE_TOP_LEVELS]:
        del sys.modules[name]
    sys.path[:] = [entry for entry in sys.path if entry in _SYS_PATH_AT_START or not _looks_like_project(entry)]


_SYS_PATH_AT_START = frozenset(sys.path)


def blog_platform(override: Optional[Tree] = None) -> Tree:
    """Seed 001's blog_platform as a tree, deep-merged with ``override``."""
    tree: Tree = {
        "apps": {"users": USERS, "blog": BLOG},
        "config": {
            "__init__.py": "",
            "settings.py": SETTINGS,
            "spoc.toml": SPOC_TOML,
            ".env": "DB_NAME=blog_from_dotenv.db\nDB_PASSWORD=s3cret-from-dotenv\nSPOC_FIXTURE_DOTENV=yes\n",
        },
        "framework": {
            "__init__.py": "",
            "components.py": COMPONENTS,
            "database.py": DATABASE,
            "events.py": EVENTS,
            "layout.py": LAYOUT,
        },
    }
    return merge(tree, override)


def minimal(override: Optional[Tree] = None) -> Tree:
    """Smallest project: root settings.py with INSTALLED_APPS = []."""
    return merge({"settings.py": "INSTALLED_APPS = []\n"}, override)


class ProjectFactory:
    """Writes trees under tmp_path and loads them; closes every project at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.projects: List[Project] = []
        self._count = 0

    def write(self, tree: Tree, name: Optional[str] = None) -> Path:
        self._count += 1
        return write_tree(self.tmp_path / (name or f"proj{self._count}"), tree)

    def load(self, tree_or_path: Any, **kwargs: Any) -> Project:
        path = self.write(tree_or_path) if isinstance(tree_or_path, dict) else tree_or_path
        project = load_project(path, **kwargs)
        self.projects.append(project)
        return project

    def peek(self, attr: str, tree_or_path: Any, **kwargs: Any) -> Any:
        """Load, read one attribute, close (projects sharing module names
        cannot be loaded at the same time)."""
        project = self.load(tree_or_path, **kwargs)
        try:
            return getattr(project, attr)
        finally:
            project.close()

    def close(self) -> None:
        for project in reversed(self.projects):
            project.close()
