"""Field metadata that lets one typed model drive check, diff, outputs and docs.

A resource declares its properties once, as a pydantic model whose fields carry one marker each:

- ``Input``: set by the user. ``replace=True`` means a change forces a new resource (ZStack has no update
  API for backups). ``create_only=True`` means the value only matters when the resource is made: ZStack
  never reports it back, so refresh keeps it from state, and a change alone is no change. An input with
  neither flag is applied in place by the resource's ``update``. ``ordered=True`` compares lists item by
  item, exactly (``triggers``); other lists are compared as sets. ``identity=True`` marks an input that
  names an existing object to adopt (``group_uuid``, ``series_uuid``): create-only, and left out of the
  digest of what a create makes.
- ``Setting``: how the provider operates (timeouts, poll intervals). A change is applied in place,
  without touching ZStack, and never forces a replacement.
- ``Output``: computed by ZStack; never accepted from the user. ``always=True`` means every create, update
  and read fills it (an id, a list that may be empty): the package schema makes it a required output, so
  typed SDKs hand it out without an optional type. Leave it off for anything ZStack may omit.

``secret=True`` on any marker means the value must be stored as a Pulumi secret.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.output import Unknown
from pydantic import BaseModel, ConfigDict, ValidationInfo
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

#: The value the Pulumi engine sends during preview for inputs that are not computed yet.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
#: The validation context key holding the names of the inputs check could not see yet (computed ones).
UNKNOWN_INPUTS = "unknown_inputs"
#: The error type of a rule across properties; its context names the property check reports it on.
CROSS_PROPERTY = "cross_property"


class Role(enum.Enum):
    INPUT = "input"
    SETTING = "setting"
    OUTPUT = "output"


@dataclass(frozen=True)
class _Marker:
    role: Role
    replace: bool = False
    create_only: bool = False
    secret: bool = False
    ordered: bool = False
    identity: bool = False
    always: bool = False


def Input(
    *,
    replace: bool = False,
    create_only: bool = False,
    secret: bool = False,
    ordered: bool = False,
    identity: bool = False,
) -> _Marker:
    return _Marker(
        Role.INPUT,
        replace=replace,
        create_only=create_only or identity,
        secret=secret,
        ordered=ordered,
        identity=identity,
    )


def Setting(*, secret: bool = False) -> _Marker:
    return _Marker(Role.SETTING, secret=secret)


def Output(*, secret: bool = False, always: bool = False) -> _Marker:
    return _Marker(Role.OUTPUT, secret=secret, always=always)


@dataclass(frozen=True)
class PropertySpec:
    """One property of a resource, as the provider and the docs see it."""

    name: str
    role: Role
    replace: bool
    create_only: bool
    secret: bool
    ordered: bool
    identity: bool
    required: bool
    always: bool
    description: str
    annotation: Any

    @property
    def is_user_supplied(self) -> bool:
        return self.role is not Role.OUTPUT

    @property
    def always_in_state(self) -> bool:
        """Whether every create, update and read leaves a value: a required input, the id, an `always` output.

        Required inputs are echoed back by every operation, and an identity input holds the resource's id.
        """
        return self.required or self.identity or self.always

    @property
    def updates_in_place(self) -> bool:
        """An input whose change the resource's ``update`` applies to the existing object."""
        return self.role is Role.INPUT and not self.replace and not self.create_only

    def canonical(self, value: Any) -> Any:
        """The form in which a declared value and the one in state are compared."""
        return canonical_json(value) if self.ordered else normalise(value)


def _marker_of(name: str, info: FieldInfo) -> _Marker:
    markers = [m for m in info.metadata if isinstance(m, _Marker)]
    if len(markers) != 1:
        raise TypeError(f"field {name!r} needs exactly one Input(), Setting() or Output() marker")
    return markers[0]


class ResourceModel(BaseModel):
    """Base of every resource's property model: strict about unknown fields, frozen once built."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False)

    @classmethod
    def properties(cls) -> tuple[PropertySpec, ...]:
        cached: tuple[PropertySpec, ...] | None = cls.__dict__.get("_property_specs")
        if cached is None:
            cached = tuple(
                PropertySpec(
                    name=name,
                    role=(marker := _marker_of(name, info)).role,
                    replace=marker.replace,
                    create_only=marker.create_only,
                    secret=marker.secret,
                    ordered=marker.ordered,
                    identity=marker.identity,
                    required=info.is_required(),
                    always=marker.always,
                    description=info.description or "",
                    annotation=info.annotation,
                )
                for name, info in cls.model_fields.items()
            )
            type.__setattr__(cls, "_property_specs", cached)
        return cached

    @classmethod
    def properties_with(cls, *roles: Role) -> Iterator[PropertySpec]:
        return (p for p in cls.properties() if p.role in roles)

    @classmethod
    def user_supplied(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs and settings in ``props``, without outputs and engine keys like ``__provider``."""
        names = {p.name for p in cls.properties_with(Role.INPUT, Role.SETTING)}
        return {k: v for k, v in props.items() if k in names}

    @classmethod
    def secret_outputs(cls) -> list[str]:
        return [p.name for p in cls.properties() if p.secret]

    def conflicts(self, unknown: frozenset[str]) -> list[tuple[str, str]]:
        """Rules between inputs, as (property, reason) pairs; `unknown` names inputs not computed yet."""
        return []

    @classmethod
    def identity(cls) -> PropertySpec | None:
        """The input holding the id the resource is made under, if the resource chooses its own id."""
        return next((p for p in cls.properties() if p.identity), None)


def unknown_in(info: ValidationInfo) -> frozenset[str]:
    """The inputs a model validator must not judge yet: computed by another resource, known later."""
    context = info.context if isinstance(info.context, Mapping) else {}
    unknown = context.get(UNKNOWN_INPUTS, frozenset())
    return unknown if isinstance(unknown, frozenset) else frozenset()


def cross_property_error(prop: str, message: str) -> PydanticCustomError:
    """A failed rule across properties, reported by check on `prop`; `message` names the properties."""
    return PydanticCustomError(CROSS_PROPERTY, message, {"property": prop})


def contains_unknown(value: Any) -> bool:
    # The dynamic provider host turns the engine's marker into `pulumi.output.Unknown` before calling us;
    # the marker string itself arrives where a caller deserialises without that step.
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


def normalise(value: Any) -> Any:
    """Canonical form for comparing a declared value with the one in state.

    Numbers come back from the engine as floats, empty strings and absent values mean the same to ZStack,
    and tag lists are sets.
    """
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        items = [normalise(v) for v in value]
        return tuple(sorted((i for i in items if i is not None), key=repr)) or None
    if isinstance(value, Mapping):
        return {k: normalise(v) for k, v in value.items() if normalise(v) is not None} or None
    return value


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_integral(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _integral(v) for k, v in value.items()}
    return value


def canonical_json(value: Any) -> str | None:
    """Exact comparison of JSON values, order of lists included; the engine sends every number as a float."""
    if value is None or value == []:
        return None
    return json.dumps(_integral(value), sort_keys=True, separators=(",", ":"))


def wire_name(name: str) -> str:
    """The schema's name of a model property: ``root_volume_uuid`` -> ``rootVolumeUuid``."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)
