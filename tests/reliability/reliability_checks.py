"""Checks shared by the reliability tests (a uniquely named module, so test
files import it whatever other helper modules are loaded).

:func:`leaked_internals` finds what must never reach a client outside debug
mode: a traceback, a source location, or the name of an exception class.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, FrozenSet, Iterable, List, Optional

#: fragments of a formatted traceback
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', "Traceback")
#: CamelCase with two humps or more ("KeyError", "IntegrityError"): a class
#: name, unlike the words of a status line ("Internal Server Error")
_CLASS_NAME = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$")


def _subclasses(cls: type) -> Iterable[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@lru_cache(maxsize=1)
def exception_class_names() -> FrozenSet[str]:
    """Names of every exception class loaded in this process (builtins,
    SQLAlchemy, werkzeug, specter_spoc, ...), CamelCase ones only."""
    import sqlalchemy.exc  # noqa: F401  (load the classes the example can raise)
    import werkzeug.exceptions  # noqa: F401

    names = {cls.__name__ for cls in _subclasses(BaseException)}
    return frozenset(name for name in names if _CLASS_NAME.match(name) and len(name) > 6)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def leaked_internals(text: str, *, extra: Iterable[str] = ()) -> List[str]:
    """Every traceback marker, exception class name or ``extra`` string found
    in ``text`` (empty when the text is safe to show a client)."""
    found = [marker for marker in (*TRACEBACK_MARKERS, *extra) if marker and marker in text]
    names = exception_class_names()
    found.extend(sorted({word for word in _WORD.findall(text) if word in names}))
    return found


def no_internal_text(value: Any) -> bool:
    """Hypothesis filter: generated text that does not itself look like a leak
    (error messages echo input back, which must not count as a leak)."""
    if isinstance(value, str):
        return not leaked_internals(value)
    return True


def first_problem(status: int, content_type: Optional[str], body: str, *, want_json: bool) -> Optional[str]:
    """What is wrong with an HTTP answer to untrusted input, or None."""
    if not 200 <= status < 500:
        return f"status {status}"
    if want_json and body and not (content_type or "").startswith("application/json"):
        return f"content type {content_type!r} is not JSON"
    leaks = leaked_internals(body)
    if leaks:
        return f"internal text {leaks}"
    return None


def assert_broadcast_reaches(base_url: str, client: Any, timeout: float = 5) -> None:
    """Register alice, log in, publish a post over HTTP, and assert that
    ``client`` (a RawSocketIO) receives its ``post_published`` broadcast:
    the proof that a well-behaved client is unaffected by what another did."""
    import requests

    user = {"username": "alice", "email": "alice@example.com", "password": "correct horse battery"}
    assert requests.post(base_url + "/api/users", json=user, timeout=10).status_code == 201
    token = requests.post(base_url + "/api/login", json={k: user[k] for k in ("username", "password")},
                          timeout=10).json()["token"]
    created = requests.post(base_url + "/api/posts", json={"title": "t", "content": "c", "publish": True},
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert created.status_code == 201, created.text
    published = client.wait_event("post_published", timeout=timeout)
    assert published[0][0]["id"] == created.json()["post"]["id"]
