"""gevent monkey-patching for SPOC scripts.

SPOC's workers are threads and processes; here a ThreadWorker is a greenlet.
A greenlet only yields at gevent-aware calls, so the ``time.sleep(60)`` in a
SPOC worker's loop must be gevent's, or it freezes every other worker (and
the script's own ``time.sleep(5)``) for a minute. A SPOC script imports
``specter_spoc.spoc`` near the top, so importing it patches the process
(:func:`ensure_patched`), before threads exist.

Two cases are left alone, each for a reason:

- a test session (pytest imported): patching the whole test process from one
  test module's import would change every other test. Tests patch
  ``time.sleep`` themselves or run the script in a subprocess;
- ``SPECTER_SPOC_PATCH=0`` in the environment: the application patches (or
  deliberately does not).

Whatever the case, a worker refuses to start on an unpatched ``time.sleep``
with a message saying so (:func:`require_cooperative_sleep`): a silent
starve is never the outcome.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Dict, List

import gevent

#: set to "0" to keep ``import specter_spoc.spoc`` from monkey-patching
PATCH_ENV = "SPECTER_SPOC_PATCH"


def sleep_is_cooperative() -> bool:
    """True when ``time.sleep`` yields to other greenlets (gevent's)."""
    return time.sleep is gevent.sleep


def ensure_patched() -> bool:
    """Monkey-patch the process for a SPOC script; True if it is patched now.

    Does nothing when already patched, under a test runner, or when
    ``SPECTER_SPOC_PATCH=0``; refuses (RuntimeError) when other threads
    already run, since patching then leaves those threads' locks unsafe.
    """
    from gevent import monkey

    if monkey.is_module_patched("time") and monkey.is_module_patched("socket"):
        return True
    if os.environ.get(PATCH_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if "_pytest" in sys.modules or "pytest" in sys.modules:
        return False
    if threading.active_count() > 1:
        raise RuntimeError(
            "specter_spoc.spoc must be imported before any thread starts, because it applies "
            "gevent.monkey.patch_all() (workers are greenlets here). Import it first in your entry "
            f"point, or call gevent.monkey.patch_all() yourself and set {PATCH_ENV}=0."
        )
    monkey.patch_all()
    return True


def _stdlib_sleep_names(namespace: Dict[str, Any]) -> List[str]:
    """Names in a module namespace bound to the standard library's sleep
    (``from time import sleep`` executed before patching)."""
    from gevent import monkey

    original = monkey.get_original("time", "sleep")
    return [name for name, value in namespace.items() if value is original and value is not gevent.sleep]


def require_cooperative_sleep(worker_name: str, worker_class: type = object) -> None:
    """Refuse to start a greenlet worker whose sleeps would block every greenlet:
    ``time.sleep`` is the stdlib's, or the worker's module bound the stdlib's
    ``sleep`` (``from time import sleep``) before gevent patched it."""
    if not sleep_is_cooperative():
        raise RuntimeError(
            f"worker {worker_name!r} runs in a greenlet, but time.sleep is the standard library's: its "
            "time.sleep() would block every other worker and the caller. Call "
            "gevent.monkey.patch_all() first thing in your entry point (importing specter_spoc.spoc "
            f"does it unless {PATCH_ENV}=0 or a test runner is active)."
        )
    for klass in worker_class.__mro__:
        module = sys.modules.get(klass.__module__)
        if module is None or klass.__module__.startswith("specter_spoc."):
            continue
        names = _stdlib_sleep_names(vars(module))
        if names:
            raise RuntimeError(
                f"worker {worker_name!r}: module {module.__name__} holds the standard library's sleep as "
                f"{names[0]!r} (a 'from time import sleep' that ran before gevent patched time), which would "
                "block every other worker. Write 'import time' and call time.sleep(...), or import "
                "specter_spoc.spoc before that module."
            )
