"""The project's component types and their decorators (as in seed 001).

Apps mark their classes with these decorators; when the project loads an app
it registers every marked class as ``"<app>.<ClassName>"`` under its type, so
``runtime.get_component("services", "users.UserService")`` finds it. Marked
classes that are Services, QueueServices or Controllers are also instantiated
and started by the runtime, in app order.

Example::

    from framework.components import service

    @service
    class UserService(Service):
        ...
"""
from __future__ import annotations

from typing import TypeVar

from specter_spoc.project import Components

T = TypeVar("T")

#: this project's component registry (the runtime keeps its own, per project load)
components = Components()
components.add_type("model")
components.add_type("service")
components.add_type("worker")
components.add_type("controller")


def model(cls: T) -> T:
    """Register a class as a model component (a SQLAlchemy mapped class here)."""
    return components.register("model")(cls)


def service(cls: T) -> T:
    """Register a class as a service component (business logic, a Service)."""
    return components.register("service")(cls)


def worker(cls: T) -> T:
    """Register a class as a worker component (a QueueService)."""
    return components.register("worker")(cls)


def controller(cls: T) -> T:
    """Register a class as a controller component (HTTP routes + Socket.IO events)."""
    return components.register("controller")(cls)
