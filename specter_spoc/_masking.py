"""Secrets inside text: passwords in URLs and secret query parameters, masked.

The lowest layer of the package (it imports nothing from it), so every layer
can mask what it shows: the lifecycle layer for ``health()["last_error"]``,
``contrib.redis`` for its connection health, ``project`` for settings
listings, the runtime for the log (:class:`SecretMaskingFilter`).

Why text and not settings: exceptions carry the URL they failed on
(``ConnectionError: Error connecting to redis://:s3cret@db:6379``), and that
text travels into health reports, health endpoints and log lines that
nobody thought of as "showing a setting". Masking the text wherever it is
shown is the one rule that cannot miss a path.

Example::

    >>> mask_text("cannot reach redis://:s3cret@db:6379/0?password=x&db=1")
    'cannot reach redis://:********@db:6379/0?password=********&db=1'
"""
from __future__ import annotations

import logging
import re
from typing import Callable, Iterable, List

__all__ = ["MASK", "mask_text", "mask_url", "SecretMaskingFilter", "install_log_masking"]

MASK = "********"

_URL_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<pw>[^@/\s]*)@")
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;][^=&#\s]*(?:password|passwd|secret|token|key|credential)[^=&#\s]*=)(?P<value>[^&#\s]*)",
    re.IGNORECASE,
)


def mask_text(text: str) -> str:
    """``text`` with passwords inside URLs (``scheme://user:pw@host``) and
    secret-looking query parameters (``?password=...``, ``&token=...``)
    replaced by :data:`MASK`. Cheap for text without ``://`` or ``=``."""
    if "://" not in text and "=" not in text:
        return text
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('head')}:{MASK}@" if m.group("pw") else m.group(0), text)
    return _QUERY_SECRET.sub(lambda m: m.group("head") + (MASK if m.group("value") else ""), text)


def mask_url(url: object) -> str:
    """``url`` as safe to show: :func:`mask_text`, and a scheme-less
    ``user:pw@host`` (a mistyped URL) loses everything before the ``@``."""
    text = mask_text(str(url))
    if "@" in text and "://" not in text and not any(c.isspace() for c in text):
        text = MASK + "@" + text.rsplit("@", 1)[1]
    return text


class SecretMaskingFilter(logging.Filter):
    """A logging filter that masks secrets in the final message and in the
    exception text of every record it sees (it never drops a record).

    The message is rendered once (``record.getMessage()``) and stored back
    without arguments; the traceback is rendered into ``record.exc_text``,
    which formatters use instead of formatting ``exc_info`` again. Records
    without ``://`` or ``=`` in them are passed on untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format: leave it to the handler's own error reporting
            return True
        masked = mask_text(message)
        if masked is not message and masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking(logger_names: Iterable[str] = ("specter_spoc",),
                        *, root_handlers: bool = True) -> Callable[[], None]:
    """Mask secrets in the log; returns a function that removes it again.

    The filter goes on the named loggers and every logger below them that
    exists now (a filter on a logger sees only records logged there, not
    those of its children), and with ``root_handlers`` on every handler of
    the root logger (which sees every propagated record, the app's own
    loggers included). Installing twice adds nothing twice.
    """
    masking = SecretMaskingFilter()
    targets: List[logging.Filterer] = []
    prefixes = tuple(logger_names)
    for name in list(logging.Logger.manager.loggerDict):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            targets.append(logging.getLogger(name))
    targets.extend(logging.getLogger(p) for p in prefixes)
    if root_handlers:
        targets.extend(logging.getLogger().handlers)
    added: List[logging.Filterer] = []
    for target in targets:
        if target in added or any(isinstance(f, SecretMaskingFilter) for f in target.filters):
            continue
        target.addFilter(masking)
        added.append(target)

    def uninstall() -> None:
        for target in added:
            target.removeFilter(masking)
        added.clear()

    return uninstall
