"""The standalone gevent server's parts: listening socket, handler class,
access log, logging setup, the code reloader, and the ``flask run`` check.

``serve()`` and ``specter-spoc run`` are built from these, and so is the
pytest plugin's live server, so all three listen, log and speak WebSocket
the same way.

Why the handler class depends on what is installed: python-engineio picks
its gevent WebSocket implementation at import time. With gevent-websocket
importable it expects the server to be gevent-websocket's
(``environ["wsgi.websocket"]``); without it, it upgrades the connection
itself through simple-websocket on gevent's plain ``WSGIHandler``.
:func:`websocket_handler_class` makes the same choice, so the server and
engineio always agree (the default install has no gevent-websocket).
"""
from __future__ import annotations

import logging
import logging.config
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Container, Dict, Iterable, List, Mapping, Optional, Sequence

if TYPE_CHECKING:
    from flask import Flask
    from gevent.pywsgi import WSGIServer

    from ..typing import SocketIOLike

#: logger of the development access log (one line per request)
ACCESS_LOGGER = "specter_spoc.access"
#: format of the log lines ``specter-spoc run`` configures
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: exit status of a server process asking the reloader to start it again
RELOAD_EXIT = 3
#: environment variable carrying the inherited listening socket to a reloaded child
SERVER_FD_ENV = "SPECTER_SPOC_SERVER_FD"
#: file suffixes whose change restarts the server under ``--reload``
WATCHED_SUFFIXES = (".py", ".toml", ".env", ".cfg", ".ini", ".json")
#: folders never watched
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", ".git", ".hg", ".venv", "venv", ".tox",
                          ".mypy_cache", ".pytest_cache", "site-packages"})


class PortInUseError(OSError):
    """The address is taken by another process; the message says what to do."""


def websocket_handler_class() -> type:
    """The pywsgi handler that matches python-engineio's WebSocket choice
    (see the module docstring)."""
    import importlib

    try:
        module = importlib.import_module("geventwebsocket.handler")
    except ImportError:
        module = importlib.import_module("gevent.pywsgi")
        return module.WSGIHandler  # type: ignore[no-any-return]
    return module.WebSocketHandler  # type: ignore[no-any-return]


def make_server(listener: Any, app: Callable[..., Any], *, log: Optional[logging.Logger] = None) -> "WSGIServer":
    """gevent's WSGIServer for ``app`` on ``listener`` with the matching
    handler class; ``log`` receives one access-log line per request (both
    handler classes write it there: gevent-websocket's reads
    ``server.logger``, gevent's ``server.log``)."""
    from gevent.pywsgi import WSGIServer

    server = WSGIServer(listener, app, handler_class=websocket_handler_class(), log=log)
    # gevent-websocket's handler logs through ``server.logger``, an attribute gevent does not declare
    setattr(server, "logger", log if log is not None else _SILENT)
    return server


#: gevent-websocket's handler logs to ``server.logger`` even without a log
_SILENT = logging.Logger("specter_spoc.access.off")
_SILENT.disabled = True


def listen(host: str = "127.0.0.1", port: int = 5000, *, backlog: int = 1024) -> Any:
    """A gevent listening socket with ``TCP_NODELAY`` (which accepted sockets
    inherit: pywsgi writes headers and body separately, and with Nagle's
    algorithm the body waits for a delayed ACK, ~40 ms per keep-alive
    request). A taken address raises :class:`PortInUseError`."""
    import errno

    from gevent import socket as gsocket

    family = gsocket.AF_INET6 if ":" in host else gsocket.AF_INET
    sock = gsocket.socket(family, gsocket.SOCK_STREAM)
    try:
        sock.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_REUSEADDR, 1)
        sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                what = "already in use" if exc.errno == errno.EADDRINUSE else "not allowed for this user"
                raise PortInUseError(exc.errno, f"port {port} on {host} is {what}: stop the other server, "
                                                f"choose another --port, or pass --port 0 for a free one") from None
            raise
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def inherited_listener() -> Optional[Any]:
    """The listening socket a ``--reload`` parent passed down, if any."""
    fd = os.environ.get(SERVER_FD_ENV)
    if not fd:
        return None
    from gevent import socket as gsocket

    return gsocket.socket(fileno=int(fd))  # family and type are read from the descriptor


def url_of(listener: Any) -> str:
    """``http://host:port`` of a listening socket (the real port with port 0)."""
    host, port = listener.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def access_logger(mode: str) -> Optional[logging.Logger]:
    """The access log for pywsgi: on in development, off elsewhere (a
    production server sits behind a proxy that logs requests)."""
    return logging.getLogger(ACCESS_LOGGER) if mode == "development" else None


def configure_logging(level: Optional[str], config: Optional[Mapping[str, Any]] = None) -> None:
    """Log lines with timestamp, level and logger name on stderr.

    ``config`` (the ``LOGGING`` setting) is a :func:`logging.config.dictConfig`
    dictionary and replaces the default format; ``level`` (``--log-level``)
    still sets the root level when given. Without either the level is INFO.
    """
    if config:
        if not isinstance(config, Mapping):
            raise TypeError(f"the LOGGING setting must be a logging.config.dictConfig dict, got "
                            f"{type(config).__name__}; see the logging.config docs for its keys")
        logging.config.dictConfig(dict(config))
    else:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_specter_spoc", False):
                root.removeHandler(handler)
        handler = logging.StreamHandler(sys.stderr)
        handler._specter_spoc = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
        if level is None:
            root.setLevel(logging.INFO)
    if level is not None:
        logging.getLogger().setLevel(level.upper())


# ------------------------------------------------------------------ flask run
def check_server_mode(app: "Flask", socketio: Optional["SocketIOLike"]) -> Optional[str]:
    """One warning line when this app is being served by ``flask run``
    (Werkzeug's development server) while Socket.IO runs in gevent mode on
    an unpatched process: long-polling connects but acks never arrive and
    WebSockets fail. ``None`` when the combination works.

    Call it at boot; ``flask run`` loads the app inside its ``run`` command,
    which is how the mismatch is recognised.
    """
    async_mode = getattr(socketio, "async_mode", None) or getattr(getattr(socketio, "server", None),
                                                                  "async_mode", None)
    if async_mode != "gevent" or not _inside_flask_run():
        return None
    from gevent import monkey

    if monkey.is_module_patched("socket"):
        return None
    name = getattr(app, "import_name", None) or getattr(app, "name", "app")
    return (f"`flask run` serves {name!r} on Werkzeug's development server, but Socket.IO runs in gevent "
            f"mode on an unpatched process: clients connect over long-polling and never get acks or "
            f"WebSockets. Run `specter-spoc run --project PATH` (or `flask --app ... spoc run`) instead; "
            f"it monkey-patches first and serves HTTP and WebSockets on gevent.")


def _inside_flask_run() -> bool:
    if "flask.cli" not in sys.modules:
        return False
    import click
    from flask.cli import run_command

    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.command is run_command:
            return True
        ctx = ctx.parent
    return False


# ------------------------------------------------------------------- reloader
def watched_files(roots: Iterable[Path]) -> Dict[str, float]:
    """``{path: mtime}`` of every source/config file under ``roots``."""
    found: Dict[str, float] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
            for name in files:
                if name.endswith(WATCHED_SUFFIXES) or name == ".env":
                    path = os.path.join(folder, name)
                    try:
                        found[path] = os.stat(path).st_mtime
                    except OSError:
                        continue
    return found


def changed(before: Mapping[str, float], after: Mapping[str, float]) -> List[str]:
    """Paths added, removed or modified between two :func:`watched_files` results."""
    paths = set(before) | set(after)
    return sorted(p for p in paths if before.get(p) != after.get(p))


def watch_and_restart(roots: Sequence[Path], on_change: Callable[[List[str]], None],
                      interval: float = 0.5) -> Any:
    """Inside the served process: a greenlet polling ``roots`` that calls
    ``on_change(paths)`` once, on the first change."""
    import gevent

    def poll() -> None:
        before = watched_files(roots)
        while True:
            gevent.sleep(interval)
            now = watched_files(roots)
            diff = changed(before, now)
            if diff:
                on_change(diff)
                return

    return gevent.spawn(poll)


def run_with_reloader(argv: Sequence[str], listener: Any, roots: Sequence[Path], *,
                      interval: float = 0.5, echo: Callable[[str], None] = print,
                      final_codes: Container[int] = ()) -> int:
    """The ``--reload`` parent: run ``argv`` as a child serving on the
    inherited ``listener`` and start it again whenever it exits with
    :data:`RELOAD_EXIT` (a file changed). When the child fails to start
    (a syntax error, a configuration error), wait for the next change
    instead of exiting, unless its status is one of ``final_codes``. SIGTERM/SIGINT are passed to the child; returns the
    child's final exit status.
    """
    fd = listener.fileno()
    os.set_inheritable(fd, True)
    env = {**os.environ, SERVER_FD_ENV: str(fd)}
    stop: Dict[str, Optional[int]] = {"signal": None}
    child: Dict[str, Optional["subprocess.Popen[bytes]"]] = {"proc": None}

    def forward(signum: int, _frame: Any) -> None:
        stop["signal"] = signum
        proc = child["proc"]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signum)

    def stopping() -> bool:  # read afresh: the signal handler sets it between any two lines
        return stop["signal"] is not None

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            proc = child["proc"] = subprocess.Popen(list(argv), env=env, pass_fds=(fd,))
            code = proc.wait()
            if stopping():
                return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code
            if code == RELOAD_EXIT:
                continue
            if code in final_codes:
                return code
            echo(f"server exited with status {code}; waiting for a file change to restart")
            before = watched_files(roots)
            while not stopping() and not changed(before, watched_files(roots)):
                time.sleep(interval)
            if stopping():
                return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
