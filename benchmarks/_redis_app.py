"""The server bench_redis.py starts (twice with Redis, once without).

    python benchmarks/_redis_app.py PORT [REDIS_URL]

``POST /ticks?n=200&gap=0.002`` emits ``n`` Socket.IO ``tick`` events, each
stamped with ``time.time()`` at emit, ``gap`` seconds apart. With a Redis
URL the emits go through Flask-SocketIO's Redis message queue, so clients
of *another* process receive them.
"""
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from specter_spoc import boot  # noqa: E402
from specter_spoc import serve  # noqa: E402


def create_app(redis_url: str) -> Flask:
    app = Flask("bench_redis")
    app.config["SECRET_KEY"] = "bench"
    socketio = SocketIO(app, async_mode="gevent", message_queue=redis_url or None)

    @app.get("/ready")
    def ready() -> dict:
        return {"pid": os.getpid()}

    @app.post("/ticks")
    def ticks() -> dict:
        count = int(request.args.get("n", 100))
        gap = float(request.args.get("gap", 0.002))
        for i in range(count):
            socketio.emit("tick", {"t": time.time(), "i": i})
            gevent.sleep(gap)
        return {"sent": count}

    boot(app, socketio)
    return app


if __name__ == "__main__":
    serve(create_app(sys.argv[2] if len(sys.argv) > 2 else ""), port=int(sys.argv[1]))
