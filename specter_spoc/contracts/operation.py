"""Operation: one backend action as validate + perform, always an Outcome.

Routes, socket handlers and services call ``SomeOperation().run(...)`` and
get an :class:`~specter_spoc.contracts.Outcome` whatever happened, so the
error handling lives in one place:

* a returned value becomes ``Outcome.success(value)`` (an Outcome is passed
  through as is);
* :class:`OperationError` becomes a failure with its status and meta;
* :class:`~specter_spoc.contracts.SchemaError` becomes a 400 failure with the
  field errors in ``meta['errors']``;
* any other exception is a bug: it is logged with its traceback and becomes a
  500 failure with a generic message and an ``error_id`` (also in the log
  line). The exception's text never reaches the client, since it may hold
  internals (paths, SQL, secrets).
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Dict, Optional, Union

from .outcome import Outcome, _check_status
from .schema import SchemaError

_Logger = Union[logging.Logger, "logging.LoggerAdapter[Any]"]


class OperationError(Exception):
    """An expected failure of an operation, with an HTTP-style status.

    Example::

        raise OperationError("title already taken", status=409, meta={"field": "title"})
    """

    def __init__(self, message: object, *, status: int = 400,
                 meta: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message: str = str(message)
        self.status: int = _check_status(status, "OperationError")
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f"OperationError(meta=...) must be a dict or None, got {type(meta).__name__}.")
        self.meta: Dict[str, Any] = dict(meta or {})


class Operation:
    """Base class for a reusable backend action.

    Override :meth:`perform` (and optionally :meth:`validate`); call
    :meth:`run`, which never raises an ``Exception``.

    Example::

        class PublishPost(Operation):
            name = "publish_post"

            def validate(self, post_id):
                if not posts.exists(post_id):
                    raise OperationError(f"no post {post_id}", status=404)

            def perform(self, post_id):
                return posts.publish(post_id)

        outcome = PublishPost().run(7)
        return outcome.to_dict(), outcome.status
    """

    #: name used in logs and in the generic 500 message
    name: str = "operation"

    def __init__(self, *, logger_instance: Optional[_Logger] = None) -> None:
        if logger_instance is not None and not isinstance(logger_instance, (logging.Logger, logging.LoggerAdapter)):
            raise TypeError(
                f"{type(self).__name__}(logger_instance=...) must be a logging.Logger, "
                f"got {type(logger_instance).__name__}."
            )
        self.logger: _Logger = logger_instance or logging.getLogger(type(self).__module__)

    def validate(self, *args: Any, **kwargs: Any) -> Any:
        """Check the input before :meth:`perform`. Raise :class:`OperationError`
        (or ``SchemaError``), or return a failed Outcome, to stop the run."""

    def perform(self, *args: Any, **kwargs: Any) -> Any:
        """Do the work; return a value or an Outcome."""
        raise NotImplementedError(
            f"{type(self).__name__}.perform() is not implemented: subclass Operation and override perform()."
        )

    def run(self, *args: Any, **kwargs: Any) -> Outcome[Any]:
        """Run validate() then perform() and return an Outcome (see the module docs)."""
        try:
            checked = self.validate(*args, **kwargs)
            if isinstance(checked, Outcome) and not checked.ok:
                return checked
            result = self.perform(*args, **kwargs)
            return result if isinstance(result, Outcome) else Outcome.success(result)
        except OperationError as exc:
            return Outcome(False, error=exc.message, status=exc.status, meta=dict(exc.meta))
        except SchemaError as exc:
            return Outcome(False, error=exc.message, status=400, meta={"errors": dict(exc.errors)})
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            self.logger.exception("operation %r (%s) failed; error_id=%s", self.name,
                                  type(self).__name__, error_id)
            return Outcome(False, error=f"internal error in operation {self.name!r} (error id {error_id})",
                           status=500, meta={"error_id": error_id})

    def success(self, value: Any = None, *, status: int = 200, **meta: Any) -> Outcome[Any]:
        """``Outcome.success(value, status=..., **meta)``."""
        return Outcome.success(value, status=status, **meta)

    def failure(self, error: object, *, status: int = 400, value: Any = None, **meta: Any) -> Outcome[Any]:
        """``Outcome.failure(error, status=..., **meta)``."""
        return Outcome.failure(error, status=status, value=value, **meta)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
