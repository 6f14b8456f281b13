"""Stable dependency ordering, shared by app ordering and the layout.

``stable_order`` is a topological sort that keeps the given order wherever
the dependencies allow it (Kahn's algorithm, always taking the earliest ready
node), so the same configuration always boots in the same order. A cycle is
reported as the path that closes it, e.g. ``["blog", "users", "blog"]``.
"""
from __future__ import annotations

import heapq
from typing import Dict, Hashable, List, Mapping, Optional, Sequence, Tuple, TypeVar

N = TypeVar("N", bound=Hashable)


def find_cycle(nodes: Sequence[N], deps: Mapping[N, Sequence[N]]) -> Optional[List[N]]:
    """A dependency cycle among ``nodes`` as a closed path, or ``None``.

    Searches in ``nodes`` order so the reported cycle is deterministic.
    """
    known = set(nodes)
    state: Dict[N, int] = {}  # 1 = on the current path, 2 = done
    for root in nodes:
        if state.get(root):
            continue
        path: List[N] = [root]
        stack: List[Tuple[N, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, index = stack[-1]
            children = [d for d in deps.get(node, ()) if d in known]
            if index < len(children):
                stack[-1] = (node, index + 1)
                child = children[index]
                if state.get(child) == 1:
                    return path[path.index(child):] + [child]
                if not state.get(child):
                    state[child] = 1
                    path.append(child)
                    stack.append((child, 0))
            else:
                state[node] = 2
                stack.pop()
                path.pop()
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
