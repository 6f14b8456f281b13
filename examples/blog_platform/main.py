"""Serve the blog platform on gevent with WebSockets: ``python main.py``.

Options: ``--host`` (127.0.0.1), ``--port`` (5000), ``--mode`` (the
SPOC mode, default from SPOC_MODE / spoc.toml) and ``--demo`` (create the
users alice and bob, a few posts and comments, unless they exist). The data
lives in ``var/blog_platform.db`` unless ``DATABASE_URL`` says otherwise.
Stop it with Ctrl-C or SIGTERM: connected pages are told, the workers drain,
the database is closed.
"""
from gevent import monkey

monkey.patch_all()  # first, before anything imports socket, ssl or threading

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from typing import Any, List, Optional  # noqa: E402

from gevent.event import Event  # noqa: E402

from specter_spoc import serve  # noqa: E402
from wsgi import create_app  # noqa: E402

DEMO_PASSWORD = "demo-password"


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the blog platform (specter_spoc example).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="TCP port (default 5000)")
    parser.add_argument("--mode", default=None, help="development, staging, production or test")
    parser.add_argument("--demo", action="store_true", help="create demo users, posts and comments")
    return parser.parse_args(argv)


def seed_demo(app: Any) -> None:
    """Create alice and bob (password 'demo-password'), two published posts,
    a draft, and comments (one approved), unless alice already exists."""
    runtime = app.extensions["specter_spoc"]
    with runtime.scope.activate():
        registry = runtime.registry
        users, posts = registry.require("users.UserService"), registry.require("blog.PostService")
        comments = registry.require("blog.CommentService")
        if users.authenticate("alice", DEMO_PASSWORD) is not None:
            print("demo data already present (log in as alice or bob, password 'demo-password')")
            return
        alice = users.register("alice", "alice@example.com", DEMO_PASSWORD, "Alice Johnson")
        bob = users.register("bob", "bob@example.com", DEMO_PASSWORD, "Bob Smith")
        first = posts.create_post(alice["id"], "Getting Started with SPOC",
                                  "SPOC organises a Flask project into apps: models, services, workers and "
                                  "controllers, each app in its own package.")
        second = posts.create_post(alice["id"], "Advanced SPOC Patterns",
                                   "Services talk over the bus, find each other in the registry, and every "
                                   "greenlet has an owner that stops it.")
        posts.create_post(bob["id"], "A draft nobody else sees", "Drafts stay private until published.")
        posts.publish_post(first["id"], alice["id"])
        posts.publish_post(second["id"], alice["id"])
        great = comments.add_comment(first["id"], bob["id"], "Great article! Very helpful.")
        comments.approve_comment(great["id"], alice["id"])
        comments.add_comment(second["id"], bob["id"], "Waiting for moderation...")
        print("demo data created: users alice and bob, password 'demo-password'")


def main(argv: Optional[List[str]] = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(mode=args.mode)
    if args.demo:
        seed_demo(app)
    ready = Event()

    def announce() -> None:
        if ready.wait(30):
            print(f"Blog platform running on http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)

    import gevent

    gevent.spawn(announce)
    try:
        serve(app, args.host, args.port, ready=ready)
    except OSError as exc:  # the port is taken, or the host is not ours
        app.extensions["specter_spoc"].shutdown()
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. "
              "Choose another one with --host/--port.", file=sys.stderr)
        return 2
    print("Blog platform stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
