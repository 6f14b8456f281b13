"""Find a running component by its class, not by a hand-typed string.

The runtime starts every Service component of the project and provides it in
the app's registry under its component name (``"<app>.<ClassName>"``, the
project loader's rule). :func:`running` asks the loaded project which name it
gave the class, so callers write ``running(UserService)``: the type checker
knows the result, and renaming a class cannot leave a stale string behind.

Example::

    users = running(UserService)        # the UserService instance of this app
"""
from __future__ import annotations

from typing import Type, TypeVar

from flask import current_app

S = TypeVar("S")


def running(cls: Type[S]) -> S:
    """The running instance of the component class ``cls`` in the current app."""
    runtime = current_app.extensions["specter_spoc"]
    for info in runtime.project.components:
        if info.obj is cls:
            instance = runtime.registry.require(info.name)
            if not isinstance(instance, cls):
                raise TypeError(f"registry entry {info.name!r} is a {type(instance).__name__}, not {cls.__name__}.")
            return instance
    raise LookupError(f"{cls.__module__}.{cls.__qualname__} is not a component of this project: mark it with "
                      "@service or @worker (specter_spoc.project) in an installed app.")
