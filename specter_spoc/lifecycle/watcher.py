"""Watcher: follow something over time (a poll or a stream) in one owned loop.

The loop every backend grows by hand (poll a device, tail a pipe, follow a
websocket) as one primitive with the parts people get wrong done once:
errors back off exponentially (up to ``max_backoff``) and recover, the loop's
greenlet is killed *and joined* on :meth:`Watcher.stop`, subscribers that raise
are logged and do not end the loop, and the loop runs inside the
:class:`~specter_spoc.wiring.Scope` that was current at :meth:`Watcher.start`,
so ``bus`` / ``registry`` in subscribers reach the right runtime.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from gevent import Greenlet, GreenletExit, getcurrent
from gevent.event import Event

from ..typing import AnyGreenlet
from .._validate import check_seconds
from ..wiring.scope import current_scope
from .backoff import Backoff
from .owner import Owner, kill_and_join, set_label

__all__ = ["Watcher", "WatcherError"]

logger: logging.Logger = logging.getLogger("specter_spoc.watcher")

WatcherSubscriber = Callable[[Any, "Watcher"], Any]
_NOTHING = object()


class WatcherError(Exception):
    """A Watcher was misused or cannot go on (SPECTER's name, kept)."""


def _seconds(value: object, what: str, name: str) -> float:
    return check_seconds(value, f"Watcher {name!r}: {what}")


class Watcher:
    """Call ``poll()`` every ``interval`` seconds, or iterate ``stream()``, and
    deliver each value to subscribers as ``fn(value, watcher)``.

    Exactly one of ``poll`` / ``stream`` is required. ``transform`` maps raw
    values before delivery; ``dedupe`` skips a value equal to the last one.
    On an error the loop waits (``min(interval, 1s)``, doubling up to
    ``max_backoff``) and tries again; a success resets the backoff. With
    ``retry=False`` the first error stops the watcher (``health()`` says
    ``failed``). A stream that ends is reopened after the same backoff
    (``retry=False``: the watcher stops).

    Example::

        class Display(Service):
            def on_start(self):
                hdmi = self.own(Watcher("hdmi", poll=read_hdmi_status, interval=2.0,
                                        dedupe=True))
                hdmi.subscribe(lambda value, w: self.emit("hdmi:changed", value))
                hdmi.start()       # stopped and joined when Display stops
    """

    def __init__(
        self,
        name: str,
        *,
        poll: Optional[Callable[[], Any]] = None,
        stream: Optional[Callable[[], Iterable[Any]]] = None,
        interval: float = 5.0,
        retry: bool = True,
        max_backoff: float = 30.0,
        dedupe: bool = False,
        transform: Optional[Callable[[Any], Any]] = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"Watcher name must be a non-empty str, got {name!r}.")
        if poll is not None and stream is not None:
            raise ValueError(f"Watcher {name!r}: pass poll= or stream=, not both.")
        if poll is None and stream is None:
            raise ValueError(f"Watcher {name!r}: pass poll= (a function called every interval) "
                             "or stream= (a function returning an iterable).")
        for what, fn in (("poll", poll), ("stream", stream), ("transform", transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"Watcher {name!r}: {what} must be callable, got {type(fn).__name__}.")
        self.name = name
        self._poll_fn = poll
        self._stream_fn = stream
        self._interval = _seconds(interval, "interval", name)
        self._max_backoff = _seconds(max_backoff, "max_backoff", name)
        self._backoff = Backoff(min(self._interval, 1.0, self._max_backoff), self._max_backoff)
        self._life = Owner(f"Watcher {name!r}", logger)
        self._retry = bool(retry)
        self._dedupe = bool(dedupe)
        self._transform = transform
        self._subscribers: Tuple[WatcherSubscriber, ...] = ()
        self._greenlet: Optional[AnyGreenlet] = None
        self._wakeup = Event()
        self._running = False
        self._last_value: Any = _NOTHING
        self._last_value_at: Optional[float] = None
        self._error_count = 0
        self._consecutive_errors = 0
        self._last_error: Optional[str] = None
        self._failed = False
        self._values = 0
        self._started_at: Optional[float] = None

    # ------------------------------------------------------------ public API
    @property
    def mode(self) -> str:
        return "poll" if self._poll_fn is not None else "stream"

    @property
    def running(self) -> bool:
        return self._running

    @property
    def last_value(self) -> Any:
        """The last delivered value, or None before the first one."""
        return None if self._last_value is _NOTHING else self._last_value

    def start(self) -> "Watcher":
        """Start the loop in a greenlet bound to the current scope; idempotent."""
        if self._running:
            return self
        self._running = True
        self._failed = False
        self._wakeup.clear()
        self._backoff.reset()
        self._consecutive_errors = 0
        self._started_at = time.monotonic()
        glet = Greenlet(current_scope().wrap(self._run))
        set_label(glet, f"watcher:{self.name}")
        self._greenlet = glet
        self._life.adopt_greenlet(glet).start()
        return self

    def stop(self, timeout: float = 5.0) -> "Watcher":
        """Stop the loop; when it returns the loop's greenlet has exited
        (killed and joined). Called from a subscriber, the loop ends after
        the subscriber returns."""
        self._running = False
        self._wakeup.set()
        glet = self._greenlet
        if glet is None:
            return self
        if glet is getcurrent():
            return self
        self._greenlet = None
        kill_and_join([glet], time.monotonic() + timeout, self._life)
        return self

    def teardown(self) -> None:
        """Same as :meth:`stop` (lets ``Service.own(watcher)`` release it)."""
        self.stop()

    def subscribe(self, fn: WatcherSubscriber) -> Callable[[], None]:
        """Call ``fn(value, watcher)`` for each delivered value; returns unsubscribe."""
        if not callable(fn):
            raise TypeError(f"Watcher {self.name!r}: subscribe() needs a callable, "
                            f"got {type(fn).__name__}.")
        self._subscribers = self._subscribers + (fn,)

        def unsubscribe() -> None:
            subs = list(self._subscribers)
            if fn in subs:
                subs.remove(fn)
                self._subscribers = tuple(subs)

        return unsubscribe

    def health(self) -> Dict[str, Any]:
        """A snapshot for diagnostics: status, error counts, backoff, uptime."""
        if self._failed:
            status = "failed"
        elif not self._running:
            status = "stopped"
        elif self._consecutive_errors:
            status = "retrying"
        else:
            status = "ok"
        uptime = time.monotonic() - self._started_at if self._started_at and self._running else 0.0
        return {
            "name": self.name,
            "status": status,
            "running": self._running,
            "mode": self.mode,
            "error_count": self._error_count,
            "consecutive_errors": self._consecutive_errors,
            "last_error": self._last_error,
            "backoff_seconds": self._backoff.current if self._consecutive_errors else 0.0,
            "values": self._values,
            "last_value_age": (round(time.monotonic() - self._last_value_at, 3)
                               if self._last_value_at is not None else None),
            "uptime_seconds": round(uptime, 1),
            "subscribers": len(self._subscribers),
        }

    # ------------------------------------------------------------------ loop
    def _stopped(self) -> bool:
        """True once stop() began; read afresh after each call out (a
        subscriber or the stream function may stop the watcher meanwhile)."""
        return not self._running

    def _run(self) -> None:
        try:
            while self._running:
                try:
                    if self._poll_fn is not None:
                        self._poll_loop(self._poll_fn)
                    else:
                        self._stream_once(self._stream_fn)  # type: ignore[arg-type]
                        if self._stopped():
                            break
                        if not self._retry:
                            logger.info("Watcher %r: stream ended (retry=False); stopping", self.name)
                            break
                        self._sleep(self._backoff.next())
                except GreenletExit:
                    raise
                except Exception as exc:
                    if self._stopped():
                        break
                    self._error_count += 1
                    self._consecutive_errors += 1
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    if not self._retry:
                        self._failed = True
                        logger.error("Watcher %r: %s; stopping (retry=False)", self.name,
                                     self._last_error, exc_info=exc)
                        break
                    delay = self._backoff.next()
                    logger.warning("Watcher %r: %s (error %d in a row); retrying in %.2fs", self.name,
                                   self._last_error, self._consecutive_errors, delay)
                    self._sleep(delay)
        finally:
            self._running = False

    def _sleep(self, seconds: float) -> None:
        self._wakeup.wait(timeout=seconds)

    def _poll_loop(self, poll: Callable[[], Any]) -> None:
        interval = self._interval
        due = time.monotonic()
        while self._running:
            self._deliver(poll())
            due += interval
            now = time.monotonic()
            if due < now:
                due = now + interval
            if self._wakeup.wait(timeout=due - now):
                return

    def _stream_once(self, stream: Callable[[], Iterable[Any]]) -> None:
        for raw in stream():
            if not self._running:
                return
            self._deliver(raw)

    def _deliver(self, raw: Any) -> None:
        value = self._transform(raw) if self._transform is not None else raw
        self._recovered()
        if self._dedupe and self._last_value is not _NOTHING and value == self._last_value:
            return
        self._last_value = value
        self._last_value_at = time.monotonic()
        self._values += 1
        for fn in self._subscribers:
            try:
                fn(value, self)
            except GreenletExit:
                raise
            except Exception:
                logger.exception("Watcher %r: subscriber %r raised; the watcher goes on", self.name, fn)

    def _recovered(self) -> None:
        if self._consecutive_errors:
            logger.info("Watcher %r: recovered after %d error(s)", self.name, self._consecutive_errors)
            self._consecutive_errors = 0
        self._backoff.reset()

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"<Watcher {self.name!r} {self.mode} {state}>"
