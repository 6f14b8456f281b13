"""Stable dependency ordering, shared by app ordering and the layout.

``stable_order`` is a topological sort that keeps the given order wherever
the dependencies allow it (Kahn's algorithm, always taking the earliest ready
node), so the same configuration always boots in the same order. A cycle is
found by :mod:`graphlib` and reported as the path that closes it, e.g.
``["blog", "users", "blog"]``.
"""
from __future__ import annotations

import graphlib
import heapq
from typing import Dict, Hashable, List, Mapping, Optional, Sequence, Tuple, TypeVar

N = TypeVar("N", bound=Hashable)


def find_cycle(nodes: Sequence[N], deps: Mapping[N, Sequence[N]]) -> Optional[List[N]]:
    """A dependency cycle among ``nodes`` as a closed path in dependency
    direction (``["blog", "users", "blog"]``: blog needs users, users needs
    blog), or ``None``.

    :mod:`graphlib` finds it; nodes are added in ``nodes`` order and the path
    is rotated to start at the earliest listed node, so the same
    configuration always reports the same cycle.
    """
    known = set(nodes)
    sorter: graphlib.TopologicalSorter[N] = graphlib.TopologicalSorter()
    for node in nodes:
        sorter.add(node, *[d for d in deps.get(node, ()) if d in known])
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        path = list(reversed(exc.args[1]))[:-1]  # graphlib walks predecessors: reverse it
        position = {node: i for i, node in enumerate(nodes)}
        first = min(range(len(path)), key=lambda i: position[path[i]])
        ring = path[first:] + path[:first]
        return ring + [ring[0]]
    return None


def stable_order(nodes: Sequence[N], deps: Mapping[N, Sequence[N]]) -> Tuple[List[N], Optional[List[N]]]:
    """``(order, cycle)``: ``nodes`` with every dependency before its dependents.

    Dependencies that are not in ``nodes`` are ignored (the caller reports
    them). Nodes caught in a cycle, and nodes that depend on them, are left
    out of ``order``; ``cycle`` is then the first cycle found.
    """
    index = {node: i for i, node in enumerate(nodes)}
    pending = {node: {d for d in deps.get(node, ()) if d in index} for node in nodes}
    dependents: Dict[N, List[N]] = {node: [] for node in nodes}
    for node, wanted in pending.items():
        for dep in wanted:
            dependents[dep].append(node)
    ready = [index[n] for n in nodes if not pending[n]]
    heapq.heapify(ready)
    order: List[N] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for child in dependents[node]:
            pending[child].discard(node)
            if not pending[child]:
                heapq.heappush(ready, index[child])
    cycle = None
    if len(order) != len(nodes):
        placed = set(order)
        cycle = find_cycle([n for n in nodes if n not in placed], deps)
    return order, cycle
