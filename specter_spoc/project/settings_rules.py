"""What each setting the project layer reads must look like, declared once.

Each :class:`SettingRule` says what a value must be (in words for the
message, as a predicate for the check) and gives an example line for the
hint; :func:`settings_problems` applies them. The loader turns each problem
into an SPC013 diagnostic naming the settings file and key, e.g.
``config/settings.py: INSTALLED_APPS must be a list of importable package
names, got str 'users'.`` with the hint ``write INSTALLED_APPS = ["users",
"blog"].``
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Optional, Tuple

from .plugins import APPLICABLE_GROUPS

Predicate = Callable[[Any], bool]


def _sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def list_of(item: Predicate) -> Predicate:
    """A list or tuple whose every item satisfies ``item``."""
    return lambda value: _sequence(value) and all(item(v) for v in value)


def is_package_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and all(part.isidentifier() for part in value.split("."))


def is_uri(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


@dataclasses.dataclass(frozen=True)
class SettingRule:
    """``name`` must be ``expected`` (``valid(value)``); for a mapping,
    ``each`` = ``(expected, valid)`` applies to every value."""

    name: str
    expected: str
    example: str
    valid: Predicate
    each: Optional[Tuple[str, Predicate]] = None


RULES: Tuple[SettingRule, ...] = (
    SettingRule("INSTALLED_APPS", "a list of importable package names", 'INSTALLED_APPS = ["users", "blog"]',
                list_of(is_package_name)),
    SettingRule("PLUGINS", "a dict of group -> list of URIs", 'PLUGINS = {"middleware": ["pkg.mod.obj"]}',
                is_mapping, each=("a list of URI strings", list_of(is_uri))),
    SettingRule("SPOC_APPLY_PLUGINS", f"True, False or a list of {list(APPLICABLE_GROUPS)}",
                'SPOC_APPLY_PLUGINS = ["middleware", "hooks"]',
                lambda v: is_bool(v) or list_of(lambda g: g in APPLICABLE_GROUPS)(v)),
    SettingRule("SPOC_STRICT", "True or False", "SPOC_STRICT = True", is_bool),
    SettingRule("SPOC_ENTRY_POINT_APPS", "True or False", "SPOC_ENTRY_POINT_APPS = False", is_bool),
    SettingRule("SPOC_VIEW_ROUTES", "True or False", "SPOC_VIEW_ROUTES = False", is_bool),
    SettingRule("SECRET_KEY", "a string", "SECRET_KEY = os.environ['SECRET_KEY'] (read it from the environment)",
                lambda v: isinstance(v, (str, bytes))),
    SettingRule("SPOC_FRAMEWORK_PACKAGES", "a list of folder names", 'SPOC_FRAMEWORK_PACKAGES = ["framework"]',
                list_of(lambda v: isinstance(v, str))),
)


class SettingProblem(NamedTuple):
    key: str
    message: str
    hint: str


def _got(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def settings_problems(settings: Any, rules: Tuple[SettingRule, ...] = RULES) -> Iterator[SettingProblem]:
    """Every value of ``settings`` (anything with ``get`` and ``in``) that
    breaks its rule; an absent setting, or one set to ``None``, is never a problem."""
    for rule in rules:
        value = settings.get(rule.name) if rule.name in settings else None
        if value is None:  # unset, e.g. SECRET_KEY = os.environ.get("SECRET_KEY") with nothing set
            continue
        if not rule.valid(value):
            yield SettingProblem(rule.name, f"{rule.name} must be {rule.expected}, got {_got(value)}.",
                                 f"write {rule.example}.")
            continue
        if rule.each is not None:
            expected, valid = rule.each
            for key, item in value.items():
                if not isinstance(key, str) or not valid(item):
                    shown = f"{rule.name}[{key!r}]"
                    yield SettingProblem(shown, f"{shown} must be {expected}, got {_got(item)}.",
                                         f"write {shown} = [...] ({expected}).")


__all__ = ["RULES", "SettingProblem", "SettingRule", "is_bool", "is_package_name", "is_uri", "list_of",
           "settings_problems"]
