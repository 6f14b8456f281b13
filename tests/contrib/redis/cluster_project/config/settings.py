"""Settings of the two-process cluster test: everything shared through Redis."""
import os

INSTALLED_APPS = ["relay"]
SECRET_KEY = "redis-cluster-test"
DEBUG = True                      # the health endpoint shows details (URLs masked)

REDIS_URL = os.environ.get("REDIS_URL", "")
BUS_SHARED_EVENTS = ["shared:*"]
QUEUE_BACKEND = "redis"
QUEUE_VISIBILITY_TIMEOUT = 1.0
