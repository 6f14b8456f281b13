"""Lifecycle primitives: Service and friends (no Flask in this layer)."""
from .offload import OffloadError, ProcessPool, bind_offload_owner, offload, offload_pool
from .process import ManagedProcess, start_process
from .queue import QueueService
from .service import Service
from .watcher import Watcher, WatcherError

__all__ = [
    "ManagedProcess",
    "OffloadError",
    "ProcessPool",
    "QueueService",
    "Service",
    "Watcher",
    "WatcherError",
    "bind_offload_owner",
    "offload",
    "offload_pool",
    "start_process",
]
