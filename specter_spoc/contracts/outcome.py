"""Outcome: a structured success-or-failure result.

Service methods, operations and schema validation return an :class:`Outcome`
instead of ad hoc ``(ok, value, error)`` tuples or exceptions, so a caller can
branch on ``ok`` and a route can turn it into a JSON response with
``to_dict()`` and ``status`` without knowing where it came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Generic, Optional, Tuple, TypeVar, cast

T = TypeVar("T")


class OutcomeError(RuntimeError):
    """Raised by :meth:`Outcome.unwrap` on a failed outcome.

    A ``RuntimeError`` (what SPECTER raises) that also carries the outcome, so
    a handler can still read ``status`` and ``meta``.
    """

    def __init__(self, outcome: "Outcome[Any]") -> None:
        super().__init__(outcome.error or "Outcome is not successful")
        self.outcome = outcome


def _check_status(status: object, where: str) -> int:
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError(f"{where}: status must be an int HTTP status such as 200 or 400, got {status!r}.")
    if not 100 <= status <= 599:
        raise ValueError(f"{where}: status must be an HTTP status between 100 and 599, got {status}.")
    return status


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """An immutable success/failure result with an HTTP-style ``status``.

    Build one with :meth:`success` or :meth:`failure`; ``meta`` carries extra
    keys (for a schema failure, ``meta['errors']`` maps each bad field to its
    message).

    Example::

        def find_user(user_id):
            user = users.get(user_id)
            if user is None:
                return Outcome.failure(f"no user {user_id}", status=404)
            return Outcome.success(user)

        result = find_user(7)
        if result.ok:
            print(result.value)
        return result.to_dict(), result.status
    """

    ok: bool
    value: Optional[T] = None
    error: Optional[str] = None
    status: int = 200
    meta: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.ok, bool):
            raise TypeError(f"Outcome: ok must be True or False, got {self.ok!r}.")
        if self.error is not None and not isinstance(self.error, str):
            raise TypeError(
                f"Outcome: error must be a str or None, got {type(self.error).__name__}. "
                "Outcome.failure() converts any error to str for you."
            )
        _check_status(self.status, "Outcome")
        if not isinstance(self.meta, dict):
            raise TypeError(f"Outcome: meta must be a dict, got {type(self.meta).__name__}.")

    @classmethod
    def success(cls, value: Any = None, *, status: int = 200, **meta: Any) -> "Outcome[Any]":
        """A successful outcome carrying ``value``; extra keywords go to ``meta``."""
        return cls(True, value=value, error=None, status=status, meta=meta)

    @classmethod
    def failure(cls, error: object, *, status: int = 400, value: Any = None,
                **meta: Any) -> "Outcome[Any]":
        """A failed outcome; ``error`` (any object, an exception too) becomes its text."""
        return cls(False, value=value, error=str(error), status=status, meta=meta)

    @property
    def errors(self) -> Dict[str, str]:
        """Per-field messages (``meta['errors']``), empty when there are none."""
        errors = self.meta.get("errors")
        return errors if isinstance(errors, dict) else {}

    def unwrap(self) -> T:
        """The value, or raise :class:`OutcomeError` (a ``RuntimeError``) with
        the error text when this outcome failed."""
        if not self.ok:
            raise OutcomeError(self)
        return cast(T, self.value)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready payload: ``meta`` keys, then ``ok``, ``status``,
        ``value`` and, on failure, ``error``."""
        payload = dict(self.meta)
        payload["ok"] = self.ok
        payload["status"] = self.status
        if self.ok:
            payload["value"] = self.value
        else:
            payload["error"] = self.error
            payload["value"] = self.value
        return payload

    def to_tuple(self) -> Tuple[bool, Optional[T], Optional[str]]:
        """``(ok, value, error)``, for code written around tuples."""
        return self.ok, self.value, self.error
