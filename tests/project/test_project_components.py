"""Components registry: types, aliases, registration, metadata, marks."""
from __future__ import annotations

import pytest

from specter_spoc.project import Components, component, controller, model, service
from specter_spoc.project.components import marks_of


def test_types_accept_singular_and_plural():
    comps = Components("model", "strategy")
    assert comps.add_type("models") == "model"          # alias, no new type
    assert comps.types == ("model", "strategy")
    assert comps.resolve_type("strategies") == "strategy"
    assert comps.resolve_type("widgets") is None


def test_type_names_are_case_insensitive_as_in_spoc():
    comps = Components("Service")

    @comps.register("SERVICE")
    class Mailer:
        pass

    assert comps.types == ("service",)
    assert list(comps.Services.values()) == [Mailer] and list(comps.service.values()) == [Mailer]
    assert comps.resolve_type("SERVICES") == "service"


def test_register_names_by_app_and_keeps_metadata():
    comps = Components()
    comps.add_type("service", default_meta={"singleton": True, "tier": "core"})

    @comps.register("service", tier="edge")
    class MailService:
        pass

    name = f"{__name__.split('.')[0]}.MailService"
    assert comps.services == {name: MailService}
    assert comps.get_component("services", name) is MailService
    assert comps.get_metadata("service", name) == {"singleton": True, "tier": "edge", "type": "service"}
    assert comps.get_metadata("service", "x.Nope") is None and comps.get("nope", name) is None
    assert marks_of(MailService)[0].type == "service"
    assert len(comps) == 1 and name in comps
    with pytest.raises(TypeError):
        comps.services["x"] = 1  # read-only view


def test_unknown_type_and_attribute_errors_are_clear():
    comps = Components("model")
    with pytest.raises(ValueError, match=r"add_type\('widget'\)"):
        comps.register("widget")
    with pytest.raises(KeyError, match="not declared"):  # SPOC raises KeyError
        comps.register("Widget")
    with pytest.raises(AttributeError, match="known types"):
        comps.widgets
    assert not hasattr(comps, "widgets")


def test_duplicates_are_recorded_not_raised():
    comps = Components("model")
    first = comps.add("model", type("User", (), {}), app="users")
    assert comps.add("model", type("User", (), {}), app="users") is None
    assert comps.duplicates[0][0] is first
    assert comps.add("model", first.obj, app="users") is first   # same object again: fine


def test_mark_only_decorators_with_and_without_meta():
    @model
    class A:
        pass

    @service(cache=True)
    class B:
        pass

    @component("command", cli="x")
    def run():
        pass

    @controller
    class C:
        pass

    assert [m.type for m in marks_of(A)] == ["models"]
    assert dict(marks_of(B)[0].meta) == {"cache": True}
    assert (marks_of(run)[0].type, dict(marks_of(run)[0].meta)) == ("command", {"cli": "x"})
    assert marks_of(C)[0].type == "controllers"

    class Sub(A):
        pass

    assert marks_of(Sub) == ()  # marks are not inherited


def test_objects_without_name_cannot_be_components():
    with pytest.raises(TypeError, match="__name__"):
        model(object())


def test_project_registers_marked_objects_from_helper_modules(projects):
    tree = {"apps": {"shop": {
        "__init__.py": "",
        "services.py": "from shop import helpers\n",
        "helpers.py": "from specter_spoc.project import service\n\n@service(role='helper')\nclass Helper:\n    pass\n",
        "models.py": "from specter_spoc.project import component\n\n@component('command')\ndef sync():\n    pass\n",
    }}, "config": {"settings.py": 'INSTALLED_APPS = ["shop"]\n'}}
    project = projects.load(tree)
    assert list(project.components.services) == ["shop.Helper"]
    assert project.components.get_metadata("services", "shop.Helper") == {"role": "helper", "type": "services"}
    assert project.get_component("commands", "shop.sync").__name__ == "sync"
    assert "command" in project.components.types


def test_lifecycle_components_detect_handlers_duck_typed(projects):
    tree = {"apps": {"chat": {
        "__init__.py": "",
        "handlers.py": '''
from specter_spoc.project import handler, service
from specter_spoc import Service

@handler
class ChatHandler:
    name = "chat"
    events = {"message": "on_message"}
    def setup(self, socketio): pass
    def teardown(self): pass
    def on_message(self, data): pass

@service
class Plain:
    pass

@service
def factory():
    pass
''',
        "services.py": "from specter_spoc import Service\nfrom specter_spoc.project import service\n\n"
                       "@service\nclass Presence(Service):\n    pass\n",
    }}, "config": {"settings.py": 'INSTALLED_APPS = ["chat"]\n'}}
    project = projects.load(tree)
    assert [name for name, _ in project.lifecycle_components()] == ["chat.Presence", "chat.ChatHandler"]
    assert [i.name for i in project.component_infos()] == ["chat.Presence", "chat.ChatHandler", "chat.Plain",
                                                           "chat.factory"]
