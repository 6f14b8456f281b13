"""The HTTP app of the request benchmark, in two variants with one payload.

- ``ours``: a :class:`~specter_spoc.Controller` route (``json_endpoint``
  envelope from the Router, lifecycle gate, draining hook from ``boot``)
  validating with ``self.schema("order").require(expect_json())``;
- ``bare``: a plain Flask view doing the same checks by hand.

Both answer ``201 {"ok": true, "order": {...}}`` for a valid order and
``400 {"error": ..., "errors": {field: message}}`` otherwise.

Served on gevent's pywsgi (with TCP_NODELAY, see ``_nodelay_server``) for
the loopback benchmark::

    python -m benchmarks.apps.http_app --variant ours --port 0

prints ``{"port": N, "pid": P}`` once listening and stops on SIGTERM.
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import os
import signal
import sys
from typing import Any, Dict, Optional, Tuple

from flask import Flask, jsonify, request

PATH = "/api/orders"
PAYLOAD: Dict[str, Any] = {"name": "widget", "qty": 3, "price": 9.5, "tags": ["blue", "small"]}


def _bare_app() -> Flask:
    app = Flask("bench_http_bare")

    @app.post(PATH)
    def create_order() -> Any:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not payload:
            return jsonify({"error": "Request body must be a JSON object"}), 400
        errors: Dict[str, str] = {}
        name = payload.get("name")
        if not isinstance(name, str):
            errors["name"] = "name is required and must be a string"
        qty = payload.get("qty")
        if isinstance(qty, bool) or not isinstance(qty, int):
            errors["qty"] = "qty is required and must be an integer"
        elif qty <= 0:
            errors["qty"] = "qty must be positive"
        price = payload.get("price", 0.0)
        if isinstance(price, bool) or not isinstance(price, (int, float)):
            errors["price"] = "price must be a number"
        tags = payload.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors["tags"] = "tags must be a list of strings"
        if errors:
            return jsonify({"error": "Invalid order", "errors": errors}), 400
        order = {"name": name, "qty": qty, "price": float(price), "tags": list(tags)}
        return jsonify({"ok": True, "order": order}), 201

    return app


def _ours_app() -> Flask:
    from specter_spoc import Controller, Field, Schema, boot, expect_json

    order = Schema("order", {
        "name": Field(str, required=True),
        "qty": Field(int, required=True, validator=lambda n: n > 0),
        "price": Field(float, default=0.0),
        "tags": Field([str], default=list),
    })

    class Orders(Controller):
        name = "orders"
        schemas = {"order": order}

        def build_routes(self, router: Any) -> None:
            @router.route(PATH, methods=["POST"])
            def create_order() -> Tuple[Dict[str, Any], int]:
                clean = self.schema("order").require(expect_json())
                return {"ok": True, "order": clean}, 201

    app = Flask("bench_http_ours")
    boot(app, None, controllers=[Orders()], install_signals=False)
    return app


def create_app(variant: str) -> Flask:
    """The app of ``variant`` ("ours" or "bare"); shut ours down with
    ``app.extensions["specter_spoc"].shutdown()``."""
    if variant == "bare":
        return _bare_app()
    if variant == "ours":
        return _ours_app()
    raise ValueError(f"variant must be 'ours' or 'bare', got {variant!r}")


def shutdown(app: Flask) -> None:
    runtime = app.extensions.get("specter_spoc")
    if runtime is not None:
        runtime.shutdown()


def _nodelay_server(listener: Any, app: Any) -> Any:
    """gevent's pywsgi WSGIServer with TCP_NODELAY on every connection.

    pywsgi sends the status line + headers and the body in two writes; with
    Nagle's algorithm on, the body waits for the ACK of the headers, which a
    keep-alive client delays (~40 ms on Linux). Both variants get this.
    """
    import socket

    from gevent.pywsgi import WSGIServer

    class NoDelayWSGIServer(WSGIServer):
        def handle(self, sock: Any, address: Any) -> Any:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return super().handle(sock, address)

    return NoDelayWSGIServer(listener, app, log=None)


def main(argv: Optional[list] = None) -> int:
    import gevent
    from gevent.event import Event

    parser = argparse.ArgumentParser(description="serve the benchmark HTTP app on 127.0.0.1")
    parser.add_argument("--variant", choices=("ours", "bare"), required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    app = create_app(args.variant)
    stop = Event()
    watcher = gevent.signal_handler(signal.SIGTERM, stop.set)
    server = _nodelay_server(("127.0.0.1", args.port), app)
    server.start()
    try:
        sys.stdout.write(json.dumps({"port": server.server_port, "pid": os.getpid()}) + "\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        watcher.cancel()
        server.stop(timeout=2)
        shutdown(app)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
