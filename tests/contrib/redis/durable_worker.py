"""A worker process for the SIGKILL test (run as a script).

    python durable_worker.py REDIS_URL

Consumes the Redis-backed QueueService "durable" with 4 workers. Each item
is recorded atomically (MULTI: HINCRBY seen <item> 1 + RPUSH log <item>:<pid>)
before the handler returns, so a kill between recording and acknowledging
shows up as a duplicate. Prints "ready" once started; on SIGTERM it stops
gracefully and prints its backend health as JSON.
"""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import redis  # noqa: E402
from gevent.event import Event  # noqa: E402

from specter_spoc import QueueService  # noqa: E402
from specter_spoc.contrib.redis import RedisQueueBackend  # noqa: E402

URL = sys.argv[1]
PID = os.getpid()
record = redis.Redis.from_url(URL)


class Durable(QueueService):
    def handle_item(self, item: str) -> None:
        gevent.sleep(0.002)   # some work before the side effect
        pipe = record.pipeline(transaction=True)
        pipe.hincrby("seen", item, 1)
        pipe.rpush("log", f"{item}:{PID}")
        pipe.execute()


def main() -> None:
    backend = RedisQueueBackend(URL, prefix="durable-test", visibility_timeout=0.5)
    service = Durable("durable", worker_count=4, backend=backend).start()
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    stop.wait()
    report = service.health()["backend"]
    service.stop()
    print(json.dumps({"pid": PID, "stats": service.stats(), "backend": report}), flush=True)


if __name__ == "__main__":
    main()
