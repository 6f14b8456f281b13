"""Two owners claiming one URL rule or one Socket.IO event.

Flask and Flask-SocketIO silently let one of them win. The runtime refuses a
duplicate route at registration ([SPC009]) and warns about a shared event at
boot ([SPC010], legal: the ingress runs both); the project layer's ``check``
reports the same conflicts as diagnostics. Both use these functions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple

__all__ = ["RouteConflict", "EventConflict", "RouteIndex", "route_conflicts", "event_conflicts", "rule_shape"]

_VARIABLE = re.compile(r"<[^>]*>")
_IMPLICIT = {"HEAD", "OPTIONS"}


def rule_shape(rule: str) -> str:
    """A rule with its variable parts blanked: ``/p/<int:id>`` == ``/p/<slug>``."""
    return _VARIABLE.sub("<>", rule.rstrip("/") or "/")


@dataclass(frozen=True)
class RouteConflict:
    method: str
    rule: str
    first_owner: str
    first_rule: str
    owner: str

    def describe(self) -> str:
        also = f" (as {self.first_rule})" if self.first_rule != self.rule else ""
        return (f"route {self.method} {self.rule} is declared by both {self.first_owner!r} and "
                f"{self.owner!r}{also}.")

    hint = ("give one of the controllers a different url_prefix (app metadata or the controller's "
            "url_prefix) or rename the rule.")


@dataclass(frozen=True)
class EventConflict:
    event: str
    namespace: str
    first_owner: str
    owner: str

    def describe(self) -> str:
        return (f"socket event {self.event!r} in namespace {self.namespace!r} is handled by both "
                f"{self.first_owner!r} and {self.owner!r}; both run, in priority order.")

    hint = "rename the event in one controller (e.g. prefix it with the app name) or move it to its own namespace."


class RouteIndex:
    """Claimed (rule shape, method) pairs, added to incrementally: checking a
    new controller costs its own routes, not a rescan of every route."""

    def __init__(self) -> None:
        self._claimed: Dict[Tuple[str, str], Tuple[str, str]] = {}
        self._reported: Set[Tuple[str, str, str]] = set()

    def add(self, owner: str, rule: str, methods: Optional[Iterable[str]]) -> List[RouteConflict]:
        """Claim ``rule`` for ``methods`` (None: GET) on behalf of ``owner``;
        returns the conflicts with earlier claims (the first claim stays)."""
        shape = rule_shape(rule)
        found = []
        for method in sorted({m.upper() for m in (methods or ["GET"])} - _IMPLICIT):
            first = self._claimed.setdefault((shape, method), (owner, rule))
            if first[0] != owner and (first[0], owner, shape) not in self._reported:
                self._reported.add((first[0], owner, shape))
                found.append(RouteConflict(method, rule, first[0], first[1], owner))
        return found


def route_conflicts(routes: Iterable[Tuple[str, str, Optional[Iterable[str]]]]) -> List[RouteConflict]:
    """Each URL rule claimed by two owners for an overlapping method.
    ``routes`` yields ``(owner, rule, methods)``; ``methods`` None means GET."""
    index = RouteIndex()
    return [conflict for owner, rule, methods in routes for conflict in index.add(owner, rule, methods)]


def event_conflicts(events: Iterable[Tuple[str, str, Optional[str]]]) -> List[EventConflict]:
    """Each Socket.IO event handled by two owners in one namespace.
    ``events`` yields ``(owner, event, namespace)``; None namespace is "/"."""
    claimed: Dict[Tuple[str, str], str] = {}
    found: List[EventConflict] = []
    for owner, event, namespace in events:
        ns = namespace or "/"
        first = claimed.setdefault((event, ns), owner)
        if first != owner:
            found.append(EventConflict(event, ns, first, owner))
    return found
