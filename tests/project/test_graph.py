"""specter_spoc.project.graph.stable_order: the order apps and layout kinds
boot in. Dependencies first; otherwise the configured order; a cycle is
reported as the closed path, and what is caught in it is left out."""
from __future__ import annotations

from itertools import permutations
from typing import Dict, List, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from specter_spoc.project.graph import stable_order


def test_without_dependencies_the_given_order_is_kept() -> None:
    assert stable_order(["c", "a", "b"], {}) == (["c", "a", "b"], None)


def test_a_dependency_moves_before_its_dependent_and_nothing_else_moves() -> None:
    order, cycle = stable_order(["blog", "users", "news", "admin"], {"blog": ["users"]})
    assert cycle is None
    assert order == ["users", "blog", "news", "admin"]


def test_the_earliest_ready_node_goes_first() -> None:
    # "c" waits for "b"; "a" is ready before "b" in the given order, so it stays first
    assert stable_order(["c", "a", "b"], {"c": ["b"]}) == (["a", "b", "c"], None)


def test_dependencies_outside_the_nodes_are_ignored() -> None:
    assert stable_order(["blog"], {"blog": ["users", "auth"]}) == (["blog"], None)


def test_a_cycle_is_the_closed_path_and_its_dependents_are_left_out() -> None:
    order, cycle = stable_order(["users", "blog", "news", "pages"],
                                {"users": ["blog"], "blog": ["users"], "news": ["blog"]})
    assert order == ["pages"]
    assert cycle == ["users", "blog", "users"]


def test_a_node_depending_on_itself_is_a_cycle_of_one() -> None:
    assert stable_order(["a", "b"], {"a": ["a"]}) == (["b"], ["a", "a"])


def _is_topological(order: Sequence[int], deps: Dict[int, List[int]]) -> bool:
    position = {node: i for i, node in enumerate(order)}
    return all(position[d] < position[n] for n in order for d in deps.get(n, ()))


@st.composite
def dags(draw: st.DrawFn) -> tuple:
    """Up to 6 nodes in a random given order, edges only from a later to an
    earlier node of a hidden ranking (so acyclic), in any direction of the given order."""
    size = draw(st.integers(min_value=1, max_value=6))
    nodes = draw(st.permutations(list(range(size))))
    deps: Dict[int, List[int]] = {}
    for node in range(size):
        deps[node] = draw(st.lists(st.integers(min_value=0, max_value=node - 1), unique=True,
                                   max_size=node)) if node else []
    return list(nodes), deps


@settings(max_examples=150, derandomize=True, deadline=None)
@given(dags())
def test_the_order_is_the_first_valid_one_in_the_given_order(case: tuple) -> None:
    """Of all orders that put dependencies first, stable_order returns the one
    that follows the given order most closely (lexicographically smallest by
    given position): the same configuration always boots the same way."""
    nodes, deps = case
    order, cycle = stable_order(nodes, deps)
    assert cycle is None
    index = {node: i for i, node in enumerate(nodes)}
    best = min((list(p) for p in permutations(nodes) if _is_topological(p, deps)),
               key=lambda p: [index[n] for n in p])
    assert order == best
