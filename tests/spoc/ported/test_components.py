"""Components, after SPOC 0.3.9's tests/test_components.py (rewritten)."""
from __future__ import annotations

import pytest

from conftest import target

components_mod = target("components")
Components = components_mod.Components
Internal = components_mod.Internal
component = components_mod.component
is_component = components_mod.is_component
is_spoc = components_mod.is_spoc


def test_component_records_config_and_metadata():
    @component(config={"retries": 3}, metadata={"role": "api"})
    class Client:
        pass

    assert is_spoc(Client) and isinstance(Client.__spoc__, Internal)
    assert (Client.__spoc__.config, Client.__spoc__.metadata) == ({"retries": 3}, {"role": "api"})


def test_bare_decorator_and_direct_call_leave_empty_records():
    @component
    class Bare:
        pass

    class Direct:
        pass

    assert (Bare.__spoc__.config, Bare.__spoc__.metadata) == ({}, {})
    assert component(Direct) is Direct and is_spoc(Direct)


@pytest.mark.parametrize("value", [None, 42, "text", object(), lambda: None])
def test_plain_values_are_not_components(value):
    assert not is_spoc(value) and not is_component(value, {"type": "x"})


def test_is_component_compares_metadata():
    @component(metadata={"type": "job"})
    class Job:
        pass

    assert is_component(Job, {"type": "job"}) and not is_component(Job, {"type": "task"})


def test_registry_types_are_separate_and_unknown_types_are_key_errors():
    registry = Components("model", "controller")

    @registry.register("model", config={"table": "users"})
    class User:
        pass

    assert registry.is_component("model", User) and not registry.is_component("controller", User)
    with pytest.raises(KeyError, match="not declared"):
        registry.register("widget")
    with pytest.raises(KeyError):
        registry.is_component("widget", User)


def test_type_names_ignore_case():
    registry = Components("Service")

    @registry.register("SERVICE")
    class Mailer:
        pass

    assert all(registry.is_component(name, Mailer) for name in ("service", "Service", "SERVICE"))


def test_add_type_default_metadata_and_registration_info():
    registry = Components()
    registry.add_type("command")
    registry.add_type("query", {"description": "reads only"})

    @registry.register("command", config={"timeout": 30})
    class Sync:
        pass

    @registry.register("query")
    class Report:
        pass

    assert registry.get_info(Sync).config == {"timeout": 30}
    assert registry.get_info(Sync).metadata == {"type": "command"}
    assert registry.get_info(Report).metadata["description"] == "reads only"
    assert registry.get_info(object()) is None


def test_builder_describes_a_component():
    registry = Components("controller")

    @registry.register("controller")
    class UserController:
        pass

    built = registry.builder(UserController)
    assert (built.type, built.name, built.object) == ("controller", "UserController", UserController)
    assert built.app == UserController.__module__.split(".")[0]
    assert built.uri.endswith("user_controller")
    with pytest.raises(AttributeError):
        registry.builder(type("Plain", (), {}))


@pytest.mark.parametrize("text, mode, expected", [
    ("UserService", "snake", "user_service"), ("user_service", "pascal", "UserService"),
    ("user-service", "camel", "userService"), ("UserService", "kebab", "user-service"),
])
def test_case_style(text, mode, expected):
    assert Components().case_style(text, mode=mode) == expected


def test_config_describes_relations_between_components():
    registry = Components("repository", "service")

    @registry.register("repository")
    class Repo:
        pass

    @registry.register("service", config={"uses": "Repo"})
    class Service:
        pass

    assert registry.get_info(Service).config["uses"] == "Repo" and registry.get_info(Repo).config == {}
