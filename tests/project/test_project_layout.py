"""Layout, Hook and the stable ordering they rely on."""
from __future__ import annotations

import pytest

from specter_spoc.project import DiagnosticError, Hook, Layout, default_layout
from specter_spoc.project.graph import find_cycle, stable_order


def test_default_layout_order_and_optional_kinds():
    layout = default_layout()
    assert layout.order == ("models", "services", "workers", "handlers", "controllers", "views")
    assert layout.required == ()
    assert layout.dependencies["views"] == ("models", "services", "controllers")


def test_layout_orders_by_dependencies_keeping_listed_order():
    layout = Layout(modules=["views", "workers", "models", "services"],
                    dependencies={"views": ["models"], "services": ["models"], "workers": "services"})
    assert layout.order == ("models", "views", "services", "workers")
    assert layout.required == layout.modules


def test_hooks_accept_hook_or_dict_and_validate():
    fn = lambda module: None  # noqa: E731
    layout = Layout(modules=["models"], hooks={"models": {"startup": fn}})
    assert layout.hook("models") == Hook(startup=fn) and layout.hook("views") is None
    with pytest.raises(TypeError, match="'startup' and/or 'shutdown'"):
        Layout(modules=["models"], hooks={"models": {"start": fn}})
    with pytest.raises(TypeError, match="callable"):
        Hook(startup="not callable")
    with pytest.raises(TypeError, match="list of module kind names"):
        Layout(modules="models")
    with pytest.raises(DiagnosticError, match="required kind 'x'"):
        Layout(modules=["models"], required=["x"])
    replaced = layout.with_hooks(models=Hook(shutdown=fn))
    assert replaced.hook("models").startup is None and layout.hook("models").startup is fn


def test_layout_cycle_error_names_the_cycle():
    with pytest.raises(DiagnosticError) as info:
        Layout(modules=["a", "b", "c"], dependencies={"a": ["c"], "c": ["b"], "b": ["a"]})
    assert "a -> c -> b -> a" in str(info.value)


def test_stable_order_and_cycles():
    assert stable_order(["a", "b", "c", "d"], {"a": ["c"], "c": ["b"]}) == (["b", "c", "a", "d"], None)
    order, cycle = stable_order(["blog", "users", "free", "dep"], {"blog": ["users"], "users": ["blog"],
                                                                 "dep": ["blog"]})
    assert order == ["free"] and cycle == ["blog", "users", "blog"]
    assert stable_order(["a"], {"a": ["a"]}) == ([], ["a", "a"])
    assert stable_order(["a", "b"], {"a": ["unknown"]}) == (["a", "b"], None)
    assert find_cycle(["x", "y"], {"x": ["y"]}) is None


def test_cycles_read_in_dependency_direction_from_the_earliest_listed_node():
    from specter_spoc.project.graph import find_cycle

    assert find_cycle(["a", "b", "c"], {"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle(["c", "b", "a"], {"a": ["b"], "b": ["c"], "c": ["a"]}) == ["c", "a", "b", "c"]
    assert find_cycle(["x", "y", "z"], {"y": ["z"], "z": ["y"], "x": ["y"]}) == ["y", "z", "y"]
