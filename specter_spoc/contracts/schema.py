"""Schema and Field: declarative payload contracts.

Every route, socket handler and service method that takes a dict repeats the
same steps: pick the fields, coerce their types, fill defaults, check the
required ones, and report what was wrong. A :class:`Schema` does it once:

* :meth:`Schema.validate` returns an :class:`~specter_spoc.contracts.Outcome`
  and **never raises** on bad input; on failure it reports *every* bad field
  at once (``outcome.errors`` / ``outcome.meta['errors']``, keyed by path such
  as ``items[2].name``), not just the first;
* :meth:`Schema.require` returns the clean dict or raises :class:`SchemaError`
  (nothing else), an :class:`~specter_spoc.contracts.errors.HTTPError` that
  the web layer answers with HTTP 400 listing the fields.

Schemas nest: ``Field(AddressSchema)`` is an object validated by another
schema and ``Field([ItemSchema])`` (or ``Field(list, item=ItemSchema)``) a list
of them.
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Set
from types import MappingProxyType
from typing import AbstractSet, Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, cast

from . import _coerce
from ._coerce import Invalid, describe, kind
from .errors import HTTPError
from .outcome import Outcome

logger: logging.Logger = logging.getLogger("specter_spoc.schema")

#: key in ``errors`` for a payload that is not an object at all
ROOT_ERROR_KEY = "__root__"

_INVALID = cast(Any, object())
_MAX_SUMMARY = 10


class FieldNames(Set[str]):
    """The names of a schema's fields, in declaration order.

    A set (``'name' in schema.field_names``, ``schema.field_names - {...}``,
    equality with a ``set``), as SPECTER returns; calling it,
    ``schema.field_names()``, gives a list in declaration order.
    """

    __slots__ = ("_names",)

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names: Dict[str, None] = dict.fromkeys(names)

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> AbstractSet[Any]:  # set operators build a FieldNames
        return cls(it)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __call__(self) -> List[str]:
        return list(self._names)

    __hash__ = Set._hash

    def __repr__(self) -> str:
        return f"FieldNames({list(self._names)!r})"


class SchemaError(HTTPError, ValueError):
    """Raised by :meth:`Schema.require` when a payload is invalid.

    It is an :class:`HTTPError` with status 400 and payload
    ``{'errors': errors}``, because SPECTER's ``Schema.require`` raises
    ``HTTPError``: ``except HTTPError`` (SPECTER code) and ``except
    SchemaError`` both catch it, and a JSON route answers it with
    ``{"error": message, "errors": {...}}`` and 400. It is also a
    ``ValueError`` (bad input), as it always was here.

    ``message`` is one readable sentence; ``errors`` maps every bad field (by
    path) to its message; ``field`` names the first bad field.

    Example::

        try:
            clean = schema.require(data)
        except SchemaError as exc:
            return {"error": exc.message, "errors": exc.errors}, exc.status_code
    """

    def __init__(self, message: str, *, field: Optional[str] = None,
                 errors: Optional[Dict[str, str]] = None) -> None:
        if errors is None:
            errors = {field: str(message)} if field is not None else {}
        super().__init__(str(message), 400, payload={"errors": dict(errors)})
        self.field = field
        self.errors: Dict[str, str] = dict(errors)

    @property
    def status(self) -> int:
        """The HTTP status (400); the same as ``status_code``."""
        return self.status_code

    def to_dict(self) -> Dict[str, Any]:
        """The same shape as a failed ``Outcome.to_dict()``."""
        return {"errors": dict(self.errors), "ok": False, "status": self.status_code,
                "error": self.message, "value": None}


def _type_name(target: Any) -> str:
    if isinstance(target, Schema):
        return f"Schema {target.name!r}"
    return getattr(target, "__name__", None) or type(target).__name__


class Field:
    """How one key of a payload is read: its type, whether it is required,
    its default, allowed choices and an extra validator.

    ``type`` is ``str``, ``int``, ``float``, ``bool``, ``list``, ``dict``,
    ``object`` (anything), another :class:`Schema` (a nested object), a
    one-element list ``[X]`` (a list of ``X``), or any callable that converts
    the raw value (raising ``ValueError``/``TypeError`` to reject it).
    ``item`` gives the element type of a ``list`` field (a type, a Schema or
    a Field). A callable ``default`` (``list``, ``dict``, a function) is called
    for each payload; list, dict and set defaults are copied, so two payloads
    never share one. Defaults are used as given, not coerced.

    Example::

        Field(int, required=True, validator=lambda n: n > 0, label="age")
        Field(str, default="video", choices=["video", "audio"])
        Field([TagSchema])          # a list of objects, each checked by TagSchema
    """

    __slots__ = ("type", "required", "default", "choices", "validator", "label", "item",
                 "_simple", "_coerce", "_factory", "_plain")

    def __init__(
        self,
        type: Any = str,
        *,
        required: bool = False,
        default: Any = None,
        choices: Optional[Sequence[Any]] = None,
        validator: Optional[Callable[[Any], Any]] = None,
        label: Optional[str] = None,
        item: Any = None,
    ) -> None:
        if isinstance(type, list):
            if len(type) != 1:
                raise TypeError(
                    f"Field(type=[...]) takes exactly one item type, such as [int] or [TagSchema]; "
                    f"got a list of {len(type)}."
                )
            if item is not None:
                raise TypeError("Field([X], item=...): give the item type once, either as [X] or item=X.")
            type, item = list, type[0]
        if not isinstance(type, Schema) and not callable(type):
            raise TypeError(
                f"Field(type=...) must be a type (str, int, float, bool, list, dict), a Schema, "
                f"[item type] or a callable coercer; got {type!r}."
            )
        if not isinstance(required, bool):
            raise TypeError(f"Field(required=...) must be True or False, got {required!r}.")
        if choices is not None:
            if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
                raise TypeError(
                    f"Field(choices=...) must be a list or tuple of allowed values, got {choices!r}."
                )
            choices = tuple(choices) or None
        if validator is not None and not callable(validator):
            raise TypeError(
                f"Field(validator=...) must be a callable taking the value, got {validator!r}."
            )
        if label is not None and not isinstance(label, str):
            raise TypeError(f"Field(label=...) must be a str, got {label!r}.")
        if item is not None and type is not list:
            raise TypeError(f"Field(item=...) is only for list fields; this field's type is {_type_name(type)}.")

        self.type: Any = type
        self.required: bool = required
        self.default: Any = default
        self.choices: Optional[Sequence[Any]] = choices
        self.validator: Optional[Callable[[Any], Any]] = validator
        self.label: Optional[str] = label
        self.item: Optional[Field] = None
        if item is not None:
            self.item = item if isinstance(item, Field) else Field(item)
        self._coerce = self._make_coercer()
        self._plain = choices is None and validator is None
        if callable(default):
            self._factory: Optional[Callable[[], Any]] = default
        elif isinstance(default, (list, dict, set)):
            self._factory = lambda: copy.deepcopy(default)
        else:
            self._factory = None

    def _make_coercer(self) -> Callable[[Any, str, Dict[str, str]], Any]:
        target = self.type
        self._simple: Optional[Callable[[Any], Any]] = None
        if isinstance(target, Schema):
            def nested(raw: Any, path: str, errors: Dict[str, str]) -> Any:
                if not isinstance(raw, dict):
                    raise Invalid(f"must be an object, got {kind(raw)}")
                return target._check(raw, path, errors)
            return nested
        if self.item is not None:
            return self._coerce_items
        self._simple = _coerce.BUILTIN.get(target) or self._custom
        return lambda raw, path, errors: cast(Callable[[Any], Any], self._simple)(raw)

    def _custom(self, raw: Any) -> Any:
        try:
            return self.type(raw)
        except (ValueError, TypeError) as exc:
            reason = str(exc)[:200] or type(exc).__name__
            raise Invalid(f"is not a valid {_type_name(self.type)}: {reason}") from None
        except Exception:
            logger.warning("Field coercer %r raised on %s", self.type, kind(raw), exc_info=True)
            raise Invalid(f"is not a valid {_type_name(self.type)}") from None

    def _coerce_items(self, raw: Any, path: str, errors: Dict[str, str]) -> Any:
        items = _coerce.to_list(raw)
        item = cast(Field, self.item)
        before = len(errors)
        out = []
        for index, value in enumerate(items):
            out.append(item._convert(value, f"{path}[{index}]", errors))
        return out if len(errors) == before else _INVALID

    def _default(self) -> Any:
        factory = self._factory
        return self.default if factory is None else factory()

    def _convert(self, raw: Any, path: str, errors: Dict[str, str]) -> Any:
        """Coerce and check ``raw``; on failure record messages in ``errors``
        and return the invalid marker."""
        simple = self._simple
        try:
            value = simple(raw) if simple is not None else self._coerce(raw, path, errors)
        except Invalid as exc:
            errors[path] = f"'{self.label or path}' {exc}"
            return _INVALID
        if self._plain or value is _INVALID:
            return value
        if self.choices is not None:
            try:
                allowed = value in self.choices
            except Exception:
                allowed = False
            if not allowed:
                errors[path] = (f"'{self.label or path}' must be one of {list(self.choices)!r}, "
                                f"got {describe(value)}")
                return _INVALID
        if self.validator is not None:
            try:
                verdict = self.validator(value)
            except (ValueError, TypeError) as exc:
                reason = str(exc)[:200] or type(exc).__name__
                errors[path] = f"'{self.label or path}' is invalid: {reason}"
                return _INVALID
            except Exception:
                logger.warning("validator %r for %r raised", self.validator, path, exc_info=True)
                errors[path] = f"'{self.label or path}' failed validation"
                return _INVALID
            if verdict is False:
                errors[path] = f"'{self.label or path}' failed validation"
                return _INVALID
        return value

    def __repr__(self) -> str:
        extra = ", required=True" if self.required else ""
        if self.item is not None:
            extra += f", item={_type_name(self.item.type)}"
        return f"Field({_type_name(self.type)}{extra})"


def _join(prefix: str, key: object) -> str:
    name = key if isinstance(key, str) else repr(key)
    if len(name) > 100:
        name = name[:97] + "..."
    return f"{prefix}.{name}" if prefix else name


class Schema:
    """A named payload contract: a mapping of field names to :class:`Field`.

    With ``strict=True`` keys that are not declared are errors (each named);
    otherwise they are dropped from the clean value.

    Example::

        create_user = Schema("create_user", {
            "name": Field(str, required=True),
            "age": Field(int, validator=lambda n: n >= 0),
            "admin": Field(bool, default=False),
        })

        result = create_user.validate({"name": "ada", "age": "36"})
        result.value    # {'name': 'ada', 'age': 36, 'admin': False}

        create_user.validate({"age": "x"}).errors
        # {'name': "'name' is required", 'age': "'age' must be an integer, got 'x'"}

        clean = create_user.require(request.get_json(silent=True))  # or SchemaError
    """

    __slots__ = ("name", "_fields", "_strict", "_field_names", "_required")

    def __init__(self, name: str, fields: Mapping[str, Field], *, strict: bool = False) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"Schema(name=...) must be a non-empty str, got {name!r}.")
        if not isinstance(fields, Mapping):
            raise TypeError(
                f"Schema {name!r}: fields must be a dict of name -> Field, got {type(fields).__name__}."
            )
        if not isinstance(strict, bool):
            raise TypeError(f"Schema {name!r}: strict must be True or False, got {strict!r}.")
        checked: Dict[str, Field] = {}
        for key, spec in fields.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"Schema {name!r}: field names must be non-empty str, got {key!r}.")
            if not isinstance(spec, Field):
                raise TypeError(
                    f"Schema {name!r}: field {key!r} must be a Field instance, got "
                    f"{type(spec).__name__}. Write {key!r}: Field({_type_name(spec)}) instead."
                )
            checked[key] = spec
        self.name: str = name
        self._fields = checked
        self._strict = strict
        self._field_names = FieldNames(checked)
        self._required = FieldNames(k for k, f in checked.items() if f.required)

    @property
    def fields(self) -> Mapping[str, Field]:
        """The declared fields (read-only)."""
        return MappingProxyType(self._fields)

    @property
    def strict(self) -> bool:
        return self._strict

    @property
    def field_names(self) -> FieldNames:
        """Declared field names: a set, also callable for a list in order."""
        return self._field_names

    @property
    def required_fields(self) -> FieldNames:
        """Names of the required fields: a set, also callable for a list in order."""
        return self._required

    def validate(self, data: Any) -> Outcome[Dict[str, Any]]:
        """Check and coerce ``data``; never raises on bad input.

        Success: ``value`` is the clean dict (declared fields only, coerced,
        defaults filled). Failure (status 400): ``error`` is one sentence
        listing the problems and ``errors`` / ``meta['errors']`` maps every
        bad field's path to its message.
        """
        errors: Dict[str, str] = {}
        value = self._check(data, "", errors)
        if not errors:
            return Outcome.success(value)
        return Outcome.failure(self._summary(errors), status=400, errors=errors)

    def require(self, data: Any) -> Dict[str, Any]:
        """The clean dict, or raise :class:`SchemaError` naming every bad field.

        ``None`` (for example a request without a JSON body) counts as an
        empty payload, so the message lists the required fields.
        """
        errors: Dict[str, str] = {}
        value = self._check({} if data is None else data, "", errors)
        if errors:
            raise SchemaError(self._summary(errors), field=next(iter(errors)), errors=errors)
        return cast(Dict[str, Any], value)

    def extend(self, name: str, extra_fields: Mapping[str, Field], **kwargs: Any) -> "Schema":
        """A new schema with this one's fields plus ``extra_fields`` (which win
        on a name clash). ``strict`` defaults to this schema's."""
        unknown = set(kwargs) - {"strict"}
        if unknown:
            raise TypeError(f"Schema.extend() got unexpected keyword(s) {sorted(unknown)}; only strict= is accepted.")
        if not isinstance(extra_fields, Mapping):
            raise TypeError(
                f"Schema.extend({name!r}, extra_fields=...) must be a dict of name -> Field, "
                f"got {type(extra_fields).__name__}."
            )
        merged = dict(self._fields)
        merged.update(extra_fields)
        return Schema(name, merged, strict=kwargs.get("strict", self._strict))

    # ------------------------------------------------------------- internals
    def _check(self, data: Any, prefix: str, errors: Dict[str, str]) -> Any:
        if not isinstance(data, dict):
            errors[prefix or ROOT_ERROR_KEY] = f"the payload must be a JSON object (a dict), got {kind(data)}"
            return _INVALID
        before = len(errors)
        fields = self._fields
        if self._strict:
            for key in data:
                if key not in fields:
                    path = _join(prefix, key)
                    errors[path] = (f"unknown field '{path}' (allowed: "
                                    f"{', '.join(fields) or 'none'})")
        result: Dict[str, Any] = {}
        for key, spec in fields.items():
            raw = data.get(key)
            if raw is None:
                if spec.required:
                    path = f"{prefix}.{key}" if prefix else key
                    errors[path] = f"'{spec.label or path}' is required"
                else:
                    result[key] = spec._default()
                continue
            value = spec._convert(raw, f"{prefix}.{key}" if prefix else key, errors)
            if value is not _INVALID:
                result[key] = value
        return result if len(errors) == before else _INVALID

    def _summary(self, errors: Dict[str, str]) -> str:
        messages = list(errors.values())
        text = "; ".join(messages[:_MAX_SUMMARY])
        if len(messages) > _MAX_SUMMARY:
            text += f"; and {len(messages) - _MAX_SUMMARY} more (see errors)"
        return f"{self.name}: invalid payload: {text}"

    def __repr__(self) -> str:
        return f"<Schema {self.name!r} {len(self._fields)} fields ({len(self._required)} required)>"

