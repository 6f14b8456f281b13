"""Model: nested shared state with paths and selector subscriptions.

A Model is the nested sibling of :class:`~specter_spoc.state.Store`: values
are read and written by path (``"player.queue.0.title"`` or
``["player", "queue", 0, "title"]``; digit segments index lists), and a
subscriber can *select* a slice so it hears only about changes to that slice.

Guarantees:

* every value handed out (``get``, ``snapshot``, subscriber arguments, return
  values) is a deep copy; values passed in are copied too, so no caller can
  change the model behind its back;
* the tree is copy-on-write, so a change costs the length of its path, and a
  selector subscriber is called only when its selected value changed
  (unchanged branches are recognised by identity before any deep compare);
* ``update(mutator)`` is atomic even if the mutator yields;
* subscribers run in the writer's greenlet in subscription order; one that
  raises is logged and the others still run.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Union, overload

from . import _paths
from ..typing import CleanupOwner
from ._base import StateBase, Unsubscribe, check_callable, check_initial, logger
from ._paths import MISSING, Path, PathConflict, PathLike, clone, lookup, normalize, render

StateDict = Dict[str, Any]
Selector = Union[PathLike, Callable[[StateDict], Any]]
Subscriber = Callable[[Any, Any], Any]


class _Subscription:
    __slots__ = ("fn", "selector", "path", "last")

    def __init__(self, fn: Subscriber, selector: Any, path: Optional[Path], last: Any) -> None:
        self.fn = fn
        self.selector = selector
        self.path = path
        self.last = last


class Model(StateBase):
    """Nested shared state with path access and selector subscriptions.

    Example::

        player = create_model("player", {"queue": [], "volume": 5})
        player.set("queue.0", {"title": "Intro"})      # index 0 of [] appends
        player.get("queue.0.title")                    # 'Intro'
        player.subscribe(lambda vol, model: print("volume", vol), selector="volume")
        player.set("queue.0.title", "Overture")        # volume subscriber not called
        player.set("volume", 7)                        # prints: volume 7
    """

    __slots__ = ()

    def __init__(self, name: str, initial_state: Optional[StateDict] = None, *,
                 emit_events: bool = False, change_event: Optional[str] = None) -> None:
        super().__init__(name, emit_events=emit_events, change_event=change_event)
        self._state: StateDict = clone(check_initial("Model", name, initial_state))

    # ------------------------------------------------------------------ reads
    def snapshot(self) -> StateDict:
        """A deep copy of the whole state."""
        return clone(self._state)

    @overload
    def get(self) -> StateDict: ...

    @overload
    def get(self, path: PathLike, default: Any = None) -> Any: ...

    def get(self, path: Optional[PathLike] = None, default: Any = None) -> Any:
        """A copy of the value at ``path`` (or ``default`` when it is absent);
        the whole state when ``path`` is None."""
        if path is None:
            return clone(self._state)
        value = lookup(self._state, self._path(path, "get()"))
        return default if value is MISSING else clone(value)

    def select(self, selector: Selector, default: Any = None) -> Any:
        """``selector(state_copy)`` for a callable, else ``get(selector, default)``."""
        if callable(selector):
            return selector(clone(self._state))
        return self.get(selector, default)

    # ----------------------------------------------------------------- writes
    def set(self, path: PathLike, value: Any) -> StateDict:
        """Put a copy of ``value`` at ``path``, creating missing dicts on the
        way (a list index equal to the length appends). Returns the new state.

        Raises ``ValueError`` for an empty path and ``TypeError``/``IndexError``
        when the path runs through a value that is not a dict or list, or past
        the end of a list.
        """
        parts = self._path(path, "set()")
        if not parts:
            raise ValueError(f"Model {self.name!r}: set() needs a non-empty path; use update() or "
                             "patch() to change the root.")
        value = clone(value)
        if self._holder is not None:
            self._lock_for("set()")
            self._unlock_after(self._assoc, parts, value)
        else:
            self._assoc(parts, value)
        return self._changed()

    def patch(self, partial: StateDict, *, deep: bool = False) -> StateDict:
        """Merge ``partial`` into the root: shallow by default (top-level keys
        are replaced, as in SPECTER), recursively through dicts with
        ``deep=True``. Returns the new state."""
        if not isinstance(partial, dict):
            raise TypeError(f"Model {self.name!r}: patch() needs a dict, got {type(partial).__name__}.")
        if self._holder is not None:
            self._lock_for("patch()")
            self._unlock_after(self._merge, partial, deep)
        else:
            self._merge(partial, deep)
        return self._changed()

    def update(self, mutator: Callable[[StateDict], Optional[StateDict]]) -> StateDict:
        """Atomically change the whole state with ``mutator(draft)`` (a deep
        copy to change in place, or return a dict to replace the state). If
        it raises nothing changes. Returns the new state."""
        return self._update_with(mutator, clone)

    def delete(self, path: PathLike) -> StateDict:
        """Remove the value at ``path`` if present (subscribers hear only of a
        real change). Returns the new state."""
        parts = self._path(path, "delete()")
        if not parts:
            raise ValueError(f"Model {self.name!r}: delete() needs a non-empty path; use clear() "
                             "to empty the model.")
        if self._holder is not None:
            self._lock_for("delete()")
            removed = self._unlock_after(self._dissoc, parts)
        else:
            removed = self._dissoc(parts)
        return self._changed() if removed else clone(self._state)

    def clear(self) -> StateDict:
        """Empty the model; returns ``{}``."""
        if self._holder is not None:
            self._lock_for("clear()")
            self._unlock_after(self._reset)
        else:
            self._reset()
        return self._changed()

    # ------------------------------------------------------------ subscribers
    def subscribe(self, fn: Subscriber, *, selector: Optional[Selector] = None,
                  immediate: bool = False, owner: Optional[CleanupOwner] = None) -> Unsubscribe:
        """Call ``fn(value, model)`` when the state changes; returns an
        unsubscribe function.

        ``value`` is the whole state, or with ``selector`` (a path or a
        callable taking the state) the selected value; either way ``fn`` is
        called only when that value differs from what it last saw. With
        ``owner`` (anything with ``add_cleanup``) the subscription ends when
        the owner stops; with ``immediate`` ``fn`` also gets the value now.
        """
        check_callable("Model", self.name, "subscribe()", fn)
        path: Optional[Path] = None
        last: Any
        if selector is None:
            last = self._state
        elif callable(selector):
            last = selector(clone(self._state))
        else:
            path = self._path(selector, "subscribe(selector=...)")
            last = lookup(self._state, path)
            last = None if last is MISSING else last
        record = _Subscription(fn, selector, path, last)
        unsubscribe = self._add_subscriber(record, owner)
        if immediate:
            self._call(fn, clone(last))
        return unsubscribe

    def watch(self, fn: Subscriber, *, selector: Optional[Selector] = None,
              immediate: bool = True, owner: Optional[CleanupOwner] = None) -> Unsubscribe:
        """``subscribe()`` that also calls ``fn`` right away by default."""
        return self.subscribe(fn, selector=selector, immediate=immediate, owner=owner)

    def destroy(self) -> None:
        """Drop the state and every subscriber (what ``service.own(model)``
        calls on stop). The model stays usable, empty."""
        self._state = {}
        self._drop_subscribers()

    # ------------------------------------------------------------- internals
    def _path(self, path: object, method: str) -> Path:
        try:
            return normalize(path)
        except TypeError as exc:
            raise TypeError(f"Model {self.name!r}: {method} {exc}") from None

    def _unlock_after(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        finally:
            self._unlock()

    def _assoc(self, parts: Path, value: Any) -> None:
        try:
            self._state = _paths.assoc(self._state, parts, value)
        except PathConflict as exc:
            error = IndexError if "out of range" in exc.reason else TypeError
            raise error(
                f"Model {self.name!r}: cannot set {render(parts)!r}: {render(parts[:exc.depth])!r} "
                f"{exc.reason}."
            ) from None

    def _reset(self) -> None:
        self._state = {}

    def _dissoc(self, parts: Path) -> bool:
        new = _paths.dissoc(self._state, parts)
        if new is MISSING:
            return False
        self._state = new
        return True

    def _merge(self, partial: StateDict, deep: bool) -> None:
        if deep:
            self._state = _paths.merge(self._state, partial)
        else:
            new = dict(self._state)
            new.update(clone(partial))
            self._state = new

    def _changed(self) -> StateDict:
        state = self._state
        shared: Any = MISSING
        for record in self._subs:
            try:
                if record.selector is None:
                    current = state
                elif record.path is not None:
                    current = lookup(state, record.path)
                    if current is MISSING:
                        current = None
                else:
                    if shared is MISSING:
                        shared = clone(state)
                    current = record.selector(shared)
                last = record.last
                if current is last:
                    continue
                try:
                    same = bool(current == last)
                except Exception:
                    same = False
                record.last = current
                if same:
                    continue
            except Exception:
                logger.exception("Model %r: selector %r of subscriber %r raised; that subscriber "
                                 "was skipped", self.name, record.selector, record.fn)
                continue
            self._call(record.fn, clone(current))
        snapshot = clone(state)
        if self._emit_events:
            self._bus.emit(self._change_event, clone(snapshot))
        return snapshot

    def __repr__(self) -> str:
        return f"<Model {self.name!r} keys={len(self._state)}>"


def create_model(name: str, initial_state: Optional[StateDict] = None, **kwargs: Any) -> Model:
    """A new :class:`Model` (keyword options: ``emit_events``, ``change_event``)."""
    return Model(name, initial_state, **kwargs)
